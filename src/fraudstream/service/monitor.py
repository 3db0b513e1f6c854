"""Monitor mode (seed 002's ``monitor.py``): poll the store for unscored rows and score them.

Every ``poll_s`` seconds (default 5) the monitor reads up to ``rows`` (default 50) stored
transactions that have no decision of the current model version yet, oldest first, computes
their features, scores them and stores the decisions (and alerts) in one database transaction —
seed 002's ``SELECT ... WHERE status IS NULL LIMIT 50`` / ``UPDATE ... SET status``, with the
decision in the ``decisions`` table instead of overwriting the row. A database error is logged
and retried at the next poll (the seed waited 10 s). When a poll finds a full batch the next
poll starts at once, so a backlog drains at full speed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pandas as pd

from fraudstream.errors import StoreError
from fraudstream.service.alerts import AlertBudget, AlertSink, alert_records, store_alerts
from fraudstream.service.decisions import Decider, Featurizer
from fraudstream.store import Store, frames
from fraudstream.store.schema import TABLES_BY_NAME

__all__ = ["Monitor", "unscored"]

log = logging.getLogger(__name__)


def unscored(store: Store, model_version: str, limit: int = 50) -> pd.DataFrame:
    """Up to ``limit`` stored transactions without a decision of ``model_version``, oldest first
    (a canonical frame, attrs expanded)."""
    table = TABLES_BY_NAME["transactions"]
    p = store.placeholder
    columns = ", ".join(f"t.{c}" for c in table.column_names)
    sql = (
        f"SELECT {columns} FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM decisions d "
        f"WHERE d.tx_id = t.tx_id AND d.model_version = {p}) ORDER BY t.ts, t.tx_id LIMIT {int(limit)}"
    )
    frame = store._frame(sql, [model_version], table)
    for column in ("tx_id", "customer_id", "merchant_id"):
        frame[column] = frames.restore_ids(frame[column])
    return frames.expand_attrs(frame.drop(columns=["stored_at"]))


class Monitor:
    """Polls a store and scores what is unscored (see the module docstring)."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        decider: Decider,
        featurizer: Featurizer,
        *,
        alert_sinks: list[AlertSink] | None = None,
        budget: AlertBudget | None = None,
        poll_s: float = 5.0,
        rows: int = 50,
        max_polls: int | None = None,
    ) -> None:
        self.open_store = open_store
        self.decider, self.featurizer = decider, featurizer
        self.alert_sinks = alert_sinks or []
        self.budget = budget or AlertBudget()
        self.poll_s, self.rows, self.max_polls = poll_s, rows, max_polls
        self.scored = self.polls = self.errors = 0
        self.batch_sizes: list[int] = []
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        """Poll until stopped (or ``max_polls``); return the rows scored."""
        store: Store | None = None
        try:
            while not self._stop.is_set():
                if self.max_polls is not None and self.polls >= self.max_polls:
                    break
                try:
                    if store is None:
                        store = self.open_store()
                    found = self.poll(store)
                except StoreError as exc:
                    self.errors += 1
                    log.error("monitor: %s; retrying in %.1f s", exc, self.poll_s)
                    if store is not None:
                        store.close()
                    store = None
                    found = 0
                if found < self.rows and self._stop.wait(self.poll_s):
                    break
        finally:
            if store is not None:
                store.close()
            for sink in self.alert_sinks:
                sink.close()
        return self.scored

    def poll(self, store: Store) -> int:
        """Score one batch of unscored rows; return how many."""
        self.polls += 1
        frame = unscored(store, self.decider.version, self.rows)
        self.batch_sizes.append(len(frame))
        if not len(frame):
            return 0
        features = self.featurizer.transform(frame)
        decisions = self.decider.decide(frame, features)
        fraud = decisions[decisions["verdict"] == "fraud"]
        chosen = fraud[self.budget.admit(fraud["ts"])] if len(fraud) else fraud
        with store.batch():
            store.write_decisions(decisions[["tx_id", "ts", "model_version", "score", "verdict", "reasons"]])
            if len(chosen):
                store.write_alerts(store_alerts(chosen))
        if len(chosen):
            records = alert_records(chosen)
            for sink in self.alert_sinks:
                sink.emit(records)
        self.scored += len(frame)
        log.info("monitor: scored %d rows (%d alerts)", len(frame), len(chosen))
        return len(frame)
