"""Version 3: the dashboard's fast paths at a million transactions.

- ``rollup_hourly``: per hour of event time (``hour``), per dimension (``dim``: ``all``,
  ``category``, ``channel``, ``country``) and value, the number of transactions, their amount,
  how many have an alert and how many have no label. Kept by
  :mod:`fraudstream.dashboard.rollups` (recomputed per dirty hour), read by the KPIs, the
  Patterns page and the Explorer's ``unlabelled`` filter.
- ``transactions (category, amount)``: a category filter sorted or bounded by amount reads one
  index range, in order, without visiting the table (dropped again in version 5: it cost the
  ingest path more than it saved the dashboard).
- PostgreSQL only, ``transactions (ts, tx_id)``: the Explorer's default order (newest first)
  reads a page from a b-tree (the BRIN index on ``ts`` cannot give rows in order).
- ``alerts (ts)``: the newest alerts of a window (Patterns' map and recent frauds) without
  joining every alert to its transaction first.
- ``labels (tx_id, labelled_at) WHERE is_fraud``: the few fraud labels, so the Explorer's
  ``fraud`` filter does not scan every label.
"""

from __future__ import annotations

from fraudstream.store.migrations import Migration

__all__ = ["MIGRATION"]


def statements(dialect: str, partitioning: str) -> list[str]:
    ts_type = "TIMESTAMPTZ" if dialect == "postgresql" else "INTEGER"
    int_type = "BIGINT" if dialect == "postgresql" else "INTEGER"
    float_type = "DOUBLE PRECISION" if dialect == "postgresql" else "REAL"
    true = "TRUE" if dialect == "postgresql" else "1"
    return [
        "CREATE TABLE IF NOT EXISTS rollup_hourly (\n"
        f"  hour {ts_type} NOT NULL,\n  dim TEXT NOT NULL,\n  value TEXT NOT NULL,\n"
        f"  transactions {int_type} NOT NULL,\n  amount {float_type} NOT NULL,\n"
        f"  alerted {int_type} NOT NULL,\n  unlabelled {int_type} NOT NULL,\n"
        "  PRIMARY KEY (dim, hour, value)\n)" + (" WITHOUT ROWID" if dialect == "sqlite" else ""),
        "CREATE INDEX IF NOT EXISTS transactions_category_amount_idx ON transactions (category, amount)",
        "CREATE INDEX IF NOT EXISTS alerts_ts_idx ON alerts (ts)",
        *(
            ["CREATE INDEX IF NOT EXISTS transactions_ts_tx_id_idx ON transactions (ts, tx_id)"]
            if dialect == "postgresql"
            else []
        ),
        "CREATE INDEX IF NOT EXISTS labels_fraud_tx_id_idx ON labels (tx_id, labelled_at) "
        f"WHERE is_fraud = {true}",
    ]


MIGRATION = Migration(
    3,
    "dashboard fast paths: rollup_hourly; indexes on (category, amount), alerts (ts), fraud labels",
    statements,
)
