"""Version 7: no ``transactions (amount)`` index, so that writing costs the same in a big store.

Amounts arrive in random order, so each stored transaction went into a random page of the
amount b-tree. Once that index outgrew the pages a commit touches anyway, every transaction
dirtied a page of its own, and SQLite writes each dirtied page whole (16 KiB) to its WAL:
the store writer's time per transaction grew with the table, from 11.5 to 25.2 µs over the
first 1.44 million transactions (10.6 to 12.0 µs without the index;
``benchmarks/writer_growth.py``), and PostgreSQL
paid a full-page image per page after every checkpoint. The dashboard's pages sorted by amount
now scan instead: 0.085 to 0.149 s at a million transactions on SQLite, against 0.027 to 0.063 s
with the index (its budget is 1 s).
"""

from __future__ import annotations

from fraudstream.store.migrations import Migration

__all__ = ["MIGRATION"]


def statements(dialect: str, partitioning: str) -> list[str]:
    return ["DROP INDEX IF EXISTS transactions_amount_idx"]


MIGRATION = Migration(7, "ingest: drop the transactions (amount) index (write cost flat as tables grow)", statements)
