"""Storage: SQLite (embedded default) and PostgreSQL behind one :class:`Store` interface.

>>> from fraudstream.store.migrations import LATEST
>>> with open_store("sqlite:///:memory:") as store:
...     store.schema_version() == LATEST
True
"""

from __future__ import annotations

import os

from fraudstream.errors import ConfigError
from fraudstream.store.base import Checkpoint, Store, StoreUnavailable

__all__ = ["DEFAULT_URL", "Checkpoint", "Store", "StoreUnavailable", "open_store", "store_url"]

DEFAULT_URL = "sqlite:///fraudstream.db"
"""The store used when neither ``--store`` nor ``FRAUDSTREAM_STORE`` names one."""


def store_url(url: str | None = None) -> str:
    """``url``, else ``$FRAUDSTREAM_STORE``, else :data:`DEFAULT_URL` (read when called)."""
    return url or os.environ.get("FRAUDSTREAM_STORE") or DEFAULT_URL


def open_store(url: str | None = None) -> Store:
    """Open (and migrate) the store at ``url``: ``sqlite:///path.db`` or ``postgresql://...``."""
    url = store_url(url)
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from fraudstream.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if scheme in ("postgresql", "postgres"):
        from fraudstream.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigError(
        f"store URL {url!r} has scheme {scheme!r}; use sqlite:///path.db or "
        "postgresql://user@host:port/database"
    )
