"""Version 5: one index fewer on the ingest path.

Drops ``transactions (category, amount)`` (version 3). Every stored transaction paid for it: a
random insert into a second amount-ordered b-tree, about 4 µs of the single store writer's time
per transaction on SQLite (``benchmarks/e2e_detect.py``). The Explorer's page of one category
sorted by amount now walks the ``amount`` index and filters the category (it stops after a
page), and the dashboard's calls stay well under a second at a million transactions
(``BENCHMARKS.md``).
"""

from __future__ import annotations

from fraudstream.store.migrations import Migration

__all__ = ["MIGRATION"]


def statements(dialect: str, partitioning: str) -> list[str]:
    return ["DROP INDEX IF EXISTS transactions_category_amount_idx"]


MIGRATION = Migration(5, "ingest: drop the transactions (category, amount) index", statements)
