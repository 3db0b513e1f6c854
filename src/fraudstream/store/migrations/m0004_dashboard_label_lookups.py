"""Version 4: the dashboard's set-based label look-ups on PostgreSQL.

- PostgreSQL only, ``labels (tx_id, labelled_at DESC, source) INCLUDE (is_fraud)``: the current
  label of one transaction is the first entry of this index for its ``tx_id`` in every monthly
  partition (``labels`` is partitioned by ``labelled_at``, so a look-up by ``tx_id`` cannot be
  pruned). Without it a ``LIMIT 1`` probe ordered by ``labelled_at`` walks the ``labelled_at``
  index of each partition and filters, which reads whole partitions. SQLite's primary key
  ``(tx_id, source, labelled_at)`` already serves these look-ups.
"""

from __future__ import annotations

from fraudstream.store.migrations import Migration

__all__ = ["MIGRATION"]


def statements(dialect: str, partitioning: str) -> list[str]:
    if dialect != "postgresql":
        return []
    return [
        "CREATE INDEX IF NOT EXISTS labels_tx_id_latest_idx ON labels "
        "(tx_id, labelled_at DESC, source) INCLUDE (is_fraud)"
    ]


MIGRATION = Migration(4, "dashboard: labels (tx_id, labelled_at DESC, source) for current-label look-ups", statements)
