"""Version 1: every table of :mod:`fraudstream.store.schema`.

On PostgreSQL the time-keyed tables are range-partitioned by month (``native``) or become
TimescaleDB hypertables with one-month chunks (``timescale``).
"""

from __future__ import annotations

from fraudstream.store.migrations import Migration
from fraudstream.store.schema import TABLES, create_sql

__all__ = ["MIGRATION"]


def statements(dialect: str, partitioning: str) -> list[str]:
    out: list[str] = []
    for table in TABLES:
        if dialect not in table.dialects:
            continue
        out += create_sql(table, dialect, partitioned=partitioning == "native")
        if partitioning == "timescale" and table.time_key:
            out.append(
                f"SELECT create_hypertable('{table.name}', '{table.time_key}', "
                "chunk_time_interval => INTERVAL '1 month', if_not_exists => TRUE)"
            )
    return out


MIGRATION = Migration(
    1,
    "initial schema: transactions, decisions, alerts, labels, profiles, models, metrics, checkpoints",
    statements,
)
