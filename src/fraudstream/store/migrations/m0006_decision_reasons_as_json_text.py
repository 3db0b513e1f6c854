"""Version 6: decisions' ``reasons`` kept as JSON text on PostgreSQL (``JSON``, not ``JSONB``).

Every decision carries its top reasons, a JSON array of about 180 bytes. ``JSONB`` converts it
to its binary form on the way in: 2.4 to 3.9 µs of server CPU per row, against 1.1 to 1.4 µs
for ``JSON`` (checked, then kept as text) and 0.5 to 0.7 µs for ``TEXT``
(``benchmarks/pg_json_types.py``, four runs). The reasons are only ever read whole, so the
binary form bought nothing. A store of an earlier version has its ``decisions`` partitions
rewritten once. SQLite keeps ``TEXT``.
"""

from __future__ import annotations

from fraudstream.store.migrations import Migration

__all__ = ["MIGRATION"]


def statements(dialect: str, partitioning: str) -> list[str]:
    if dialect != "postgresql":
        return []
    return [  # a store created by this version has JSON already (version 1 builds today's tables)
        "DO $$ BEGIN "
        "IF (SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'decisions' AND column_name = 'reasons') = 'jsonb' THEN "
        "ALTER TABLE decisions ALTER COLUMN reasons TYPE JSON USING reasons::json; "
        "END IF; END $$"
    ]


MIGRATION = Migration(6, "decisions.reasons as JSON text on PostgreSQL (not JSONB)", statements)
