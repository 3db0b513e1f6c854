"""Versioned schema migrations, applied in order and recorded in ``schema_version``.

Each migration is a module ``mNNNN_<what>.py`` holding ``MIGRATION``: its version, a description
and the SQL statements for a dialect. :func:`pending` says which ones a database still needs;
a database newer than this code is refused with a :class:`StoreError` rather than used.

>>> [m.version for m in MIGRATIONS]
[1, 2, 3, 4, 5, 6, 7]
>>> [m.version for m in pending(0)], [m.version for m in pending(2)], pending(7)
([1, 2, 3, 4, 5, 6, 7], [3, 4, 5, 6, 7], [])
>>> pending(99)
Traceback (most recent call last):
...
fraudstream.errors.StoreError: the database has schema version 99 but this fraudstream knows \
versions up to 7: upgrade fraudstream (or use another database)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fraudstream.errors import StoreError

__all__ = ["LATEST", "MIGRATIONS", "VERSION_TABLE_SQL", "Migration", "pending"]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Callable[[str, str], list[str]]
    """``(dialect, partitioning) -> SQL statements``; partitioning is ``native``, ``timescale``
    or ``none`` (SQLite)."""


def _load() -> tuple[Migration, ...]:
    from fraudstream.store.migrations import (
        m0001_initial,
        m0002_dashboard,
        m0003_dashboard_fast_paths,
        m0004_dashboard_label_lookups,
        m0005_lighter_ingest,
        m0006_decision_reasons_as_json_text,
        m0007_flat_ingest_cost,
    )

    found = (
        m0001_initial.MIGRATION,
        m0002_dashboard.MIGRATION,
        m0003_dashboard_fast_paths.MIGRATION,
        m0004_dashboard_label_lookups.MIGRATION,
        m0005_lighter_ingest.MIGRATION,
        m0006_decision_reasons_as_json_text.MIGRATION,
        m0007_flat_ingest_cost.MIGRATION,
    )
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"migration versions must run 1, 2, 3, ... without gaps, got {versions}")
    return found


MIGRATIONS: tuple[Migration, ...] = _load()
LATEST: int = MIGRATIONS[-1].version

VERSION_TABLE_SQL = {
    "postgresql": "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, "
    "description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "description TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')))",
}


def pending(current: int) -> list[Migration]:
    """Migrations after version ``current``; StoreError when ``current`` is newer than the code."""
    if current > LATEST:
        raise StoreError(
            f"the database has schema version {current} but this fraudstream knows versions "
            f"up to {LATEST}: upgrade fraudstream (or use another database)"
        )
    return [m for m in MIGRATIONS if m.version > current]
