"""What one micro-batch writes (:class:`Bundle`), and the same as the store's rows (:class:`StoreRows`).

The detection loop makes a :class:`Bundle` of pandas frames per micro-batch. Turning them into
the store's rows — ids as text, times as UTC timestamps, attrs and reasons as JSON text
(:mod:`fraudstream.store.frames`) — is work the database does not need to wait for, so it runs
where the bundle is made (:meth:`StoreRows.of`, called by the sink's ``prepare``), and the one
store writer, the pipeline's bottleneck, only merges tables and writes them
(:meth:`StoreRows.merge`, :meth:`StoreRows.write`). Arrow tables also cross to a writer process
as flat buffers, cheaper to pickle than frames.

>>> import pandas as pd
>>> from fraudstream.store import open_store
>>> tx = pd.DataFrame({"tx_id": [1, 2], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
...                    "customer_id": [7, 7], "merchant_id": ["M1", "M2"], "amount": [5.0, 9.0]})
>>> first = StoreRows.of(Bundle(tx.iloc[:1]), label_source="stream")
>>> both = StoreRows.merge([first, StoreRows.of(Bundle(tx), label_source="stream")])
>>> both.rows, both.transactions.column("tx_id").to_pylist()  # merged, tx_id 1 once
(2, ['1', '2'])
>>> with open_store("sqlite:///:memory:") as store:
...     both.write(store)
...     store.count("transactions")
2
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudstream.store import frames
from fraudstream.store.base import Checkpoint, Store
from fraudstream.store.schema import TABLES_BY_NAME

__all__ = ["Bundle", "StoreRows"]

_ROW_TABLES = ("decisions", "alerts", "labels")


@dataclass
class Bundle:
    """Everything one micro-batch writes, and what to do once it is committed."""

    transactions: pd.DataFrame = field(default_factory=pd.DataFrame)
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    labels: pd.DataFrame = field(default_factory=pd.DataFrame)
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    checkpoint: Checkpoint | None = None
    after: Callable[[], None] | None = None

    @property
    def rows(self) -> int:
        return len(self.transactions)


@dataclass
class StoreRows:
    """A :class:`Bundle` as the store's rows; ``tx_labels`` are the labels that came
    inline with the transactions (row for row), ``labels`` the batch's other labels."""

    transactions: pa.Table | None = None
    tx_labels: pa.Table | None = None
    decisions: pa.Table | None = None
    alerts: pa.Table | None = None
    labels: pa.Table | None = None
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    checkpoint: Checkpoint | None = None
    after: Callable[[], None] | None = None

    @property
    def rows(self) -> int:
        """Transactions carried (what the writer's ``merge_rows`` counts)."""
        return 0 if self.transactions is None else self.transactions.num_rows

    @classmethod
    def of(cls, bundle: Bundle, *, label_source: str) -> StoreRows:
        """Convert ``bundle`` (:class:`~fraudstream.errors.InvalidRecord` names a bad column or
        value, :class:`~fraudstream.errors.StoreError` a label source the store does not know);
        decisions and alerts must carry their transaction's event time ``ts``."""
        out = cls(metrics=bundle.metrics, checkpoint=bundle.checkpoint, after=bundle.after)
        if len(bundle.transactions):
            out.transactions, out.tx_labels = frames.transaction_rows(
                bundle.transactions, source="detect", label_source=label_source
            )
        now = frames.now_utc()
        defaults = {"decisions": {"decided_at": now}, "alerts": {"raised_at": now, "status": "open"},
                    "labels": {"source": "review", "labelled_at": now}}
        for name in _ROW_TABLES:
            frame = getattr(bundle, name)
            if len(frame):
                setattr(out, name, frames.table_rows(TABLES_BY_NAME[name], frame, defaults[name]))
        if out.labels is not None:
            frames.check_label_sources(out.labels)
        return out

    @classmethod
    def merge(cls, items: list[StoreRows]) -> StoreRows:
        """One write for ``items`` in order: their tables concatenated (a transaction in more
        than one is kept once, the first), the last checkpoint; no ``after``."""
        if len(items) == 1:
            return replace(items[0], after=None)
        merged = cls(checkpoint=next((i.checkpoint for i in reversed(items) if i.checkpoint is not None), None))
        for name in ("transactions", "tx_labels", *_ROW_TABLES):
            tables = [t for i in items if (t := getattr(i, name)) is not None]
            if tables:
                setattr(merged, name, pa.concat_tables(tables) if len(tables) > 1 else tables[0])
        metrics = [i.metrics for i in items if len(i.metrics)]
        if metrics:
            merged.metrics = pd.concat(metrics, ignore_index=True)
        merged.transactions, merged.tx_labels = _first_of_each(merged.transactions), _first_of_each(merged.tx_labels)
        return merged

    def write(self, store: Store) -> None:
        """Every table and the checkpoint in one database transaction."""
        with store.batch():
            for name in ("transactions", "tx_labels", *_ROW_TABLES):
                if (rows := getattr(self, name)) is not None:
                    store.encode_ahead("labels" if name == "tx_labels" else name, rows)
            if self.transactions is not None:
                store.write_transaction_rows(self.transactions, self.tx_labels)
            for name in _ROW_TABLES:
                rows = getattr(self, name)
                if rows is not None:
                    store.write_rows(name, rows)
            if len(self.metrics):
                store.write_metrics(self.metrics)
            if self.checkpoint is not None:
                store.checkpoint(*self.checkpoint)


def _first_of_each(rows: pa.Table | None) -> pa.Table | None:
    """``rows`` with each ``tx_id`` once (its first row), as a store write of transactions needs."""
    if rows is None:
        return None
    repeated = rows.column("tx_id").to_pandas().duplicated().to_numpy()
    return rows.take(pa.array(np.flatnonzero(~repeated))) if repeated.any() else rows
