"""Version 2: the dashboard's ``users`` table and the indexes its queries need.

``users`` holds dashboard accounts (name, role, scrypt password hash). The indexes serve the
dashboard's filters and live feed: transactions by merchant, category, amount and storage time, and
alerts by status; on PostgreSQL also transactions by ``tx_id`` (its uniqueness lives in
``tx_keys``, so the partitioned table has no index on it otherwise).
"""

from __future__ import annotations

from fraudstream.store.migrations import Migration

__all__ = ["MIGRATION"]

_INDEXES = (
    ("transactions", ("merchant_id", "ts")),
    ("transactions", ("category", "ts")),
    ("transactions", ("amount",)),
    ("transactions", ("stored_at",)),
    ("alerts", ("status", "raised_at")),
)


def statements(dialect: str, partitioning: str) -> list[str]:
    ts_type = "TIMESTAMPTZ" if dialect == "postgresql" else "INTEGER"
    out = [
        "CREATE TABLE IF NOT EXISTS users (\n  name TEXT NOT NULL,\n  role TEXT NOT NULL,\n"
        f"  password_hash TEXT NOT NULL,\n  created_at {ts_type} NOT NULL,\n  PRIMARY KEY (name)\n)",
    ]
    indexes = _INDEXES + ((("transactions", ("tx_id",)),) if dialect == "postgresql" else ())
    for table, columns in indexes:
        out.append(
            f"CREATE INDEX IF NOT EXISTS {table}_{'_'.join(columns)}_idx ON {table} ({', '.join(columns)})"
        )
    return out


MIGRATION = Migration(
    2, "dashboard: users table; indexes for merchant, category, amount, stored_at, alert status", statements
)
