"""The embedded demo: simulator -> stream -> detection service -> SQLite -> dashboard in one process.

Modules: :mod:`~fraudstream.demo.model` (the model trained on the spot),
:mod:`~fraudstream.demo.background` (the stream server and the dashboard in threads),
:mod:`~fraudstream.demo.console` (rate-limited alerts, the status line) and
:mod:`~fraudstream.demo.runtime` (:class:`~fraudstream.demo.runtime.Demo`, which starts and stops
them). The command is ``fraudstream demo`` (:mod:`fraudstream.cli.demo`); see ``docs/demo.md``.
"""

from __future__ import annotations

__all__: list[str] = []
