"""The web dashboard: pages, REST API and live push over a fraudstream store.

Start it with ``fraudstream dashboard``; see ``docs/dashboard.md``.
"""

from __future__ import annotations

__all__ = ["DashboardConfig", "create_app"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from fraudstream.dashboard import app

        return getattr(app, name)
    raise AttributeError(name)
