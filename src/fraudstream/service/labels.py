"""Late labels: joining them to their decisions, and live prequential metrics.

Labels reach the service late — delayed label messages of the stream, analysts' reviews, a
labels file — long after the transaction was scored. :class:`RecentDecisions` remembers the
last ``capacity`` decisions (score, verdict, alerted, and the feature row when an online model
needs it), keyed by ``tx_id``; :meth:`RecentDecisions.join` finds the decisions of arriving
labels (a label that arrives before its decision waits up to ``pending_max`` labels).

:class:`PrequentialMetrics` keeps the last ``window`` joined labels: each decision was made
before its label was known (test-then-train), so the window's metrics are honest estimates of
live performance — precision and recall of the verdict, average precision of the score, alert
precision (share of alerts that were fraud) and the fraud rate.

>>> recent = RecentDecisions(capacity=4)
>>> recent.add(np.array([1, 2, 3]), np.array([0.9, 0.1, 0.7]), np.array([True, False, False]),
...            np.array([True, False, False]))
>>> joined = recent.join(pd.DataFrame({"tx_id": [3, 1, 99], "is_fraud": [True, True, False]}))
>>> joined.tx_id.tolist(), joined.score.tolist(), recent.pending
([3, 1], [0.7, 0.9], 1)
>>> len(recent.join(pd.DataFrame({"tx_id": [98], "is_fraud": [True]}), wait=False)), recent.pending
(0, 1)
>>> metrics = PrequentialMetrics(window=10)
>>> metrics.update(joined)
>>> {k: round(v, 3) for k, v in metrics.snapshot().items() if k in ("precision", "recall", "alert_precision")}
{'precision': 1.0, 'recall': 0.5, 'alert_precision': 1.0}
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.evaluate.metrics import average_precision

__all__ = ["Joined", "PrequentialMetrics", "RecentDecisions"]


@dataclass
class Joined:
    """Labels matched with their decisions (arrays of equal length)."""

    tx_id: np.ndarray
    is_fraud: np.ndarray
    score: np.ndarray
    predicted: np.ndarray
    alerted: np.ndarray
    features: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.tx_id)


class RecentDecisions:
    """A ring of the last ``capacity`` decisions, looked up by ``tx_id``."""

    def __init__(self, capacity: int = 500_000, n_features: int = 0, pending_max: int = 100_000) -> None:
        self.capacity = capacity
        self.ids = np.empty(capacity, dtype=object)
        self.scores = np.zeros(capacity)
        self.predicted = np.zeros(capacity, dtype=bool)
        self.alerted = np.zeros(capacity, dtype=bool)
        self.features = np.zeros((capacity, n_features)) if n_features else None
        self.slot: dict[Any, int] = {}
        self.next = 0
        self.pending_max = pending_max
        self._pending: dict[Any, tuple[bool, Any]] = {}
        self.unmatched = 0
        """Labels dropped because their decision never came (or was forgotten)."""

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(
        self,
        tx_ids: np.ndarray,
        scores: np.ndarray,
        predicted: np.ndarray,
        alerted: np.ndarray,
        features: np.ndarray | None = None,
    ) -> None:
        n = len(tx_ids)
        if n > self.capacity:
            tx_ids, scores, predicted, alerted = (
                tx_ids[-self.capacity :],
                scores[-self.capacity :],
                predicted[-self.capacity :],
                alerted[-self.capacity :],
            )
            features = None if features is None else features[-self.capacity :]
            n = self.capacity
        slots = (self.next + np.arange(n)) % self.capacity
        for old in self.ids[slots].tolist():
            if old is not None:
                self.slot.pop(old, None)
        ids = tx_ids.tolist()
        self.ids[slots] = ids
        self.scores[slots] = scores
        self.predicted[slots] = predicted
        self.alerted[slots] = alerted
        if self.features is not None and features is not None:
            self.features[slots] = features
        self.slot.update(zip(ids, slots.tolist(), strict=True))
        self.next = int((self.next + n) % self.capacity)

    def join(self, labels: pd.DataFrame, *, wait: bool = True) -> Joined:
        """The decisions of ``labels`` (``tx_id``, ``is_fraud``). With ``wait`` (label messages,
        which may overtake their transaction) labels without a decision yet wait for it (the
        oldest are dropped beyond ``pending_max``) and waiting labels now matched join too;
        without (reviews, a labels file: they come after their decision) a label whose decision
        is not remembered is left out."""
        ids = labels["tx_id"].tolist()
        fraud = labels["is_fraud"].to_numpy(bool).tolist()
        if wait and self._pending:
            waiting = list(self._pending.items())
            self._pending = {}
            ids = [k for k, _ in waiting] + ids
            fraud = [v[0] for _, v in waiting] + fraud
        get = self.slot.get
        slots = [get(i, -1) for i in ids]
        found = [s >= 0 for s in slots]
        for i, f, ok in zip(ids, fraud, found, strict=True):
            if not ok and wait:
                self._pending[i] = (f, None)
        while len(self._pending) > self.pending_max:
            self._pending.pop(next(iter(self._pending)))
            self.unmatched += 1
        where = np.array([s for s in slots if s >= 0], dtype=np.int64)
        keep = np.array(found, dtype=bool)
        return Joined(
            self.ids[where],
            np.asarray(fraud, dtype=bool)[keep] if len(keep) else np.zeros(0, bool),
            self.scores[where],
            self.predicted[where],
            self.alerted[where],
            None if self.features is None else self.features[where],
        )


class PrequentialMetrics:
    """Metrics over the last ``window`` labelled decisions (see the module docstring)."""

    def __init__(self, window: int = 10_000) -> None:
        self.window = window
        self._chunks: deque[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = deque()
        self._rows = 0
        self.labelled = 0

    def update(self, joined: Joined) -> None:
        if not len(joined):
            return
        self.labelled += len(joined)
        self._chunks.append(
            (
                joined.is_fraud.astype(bool),
                joined.score.astype(np.float64),
                joined.predicted.astype(bool),
                joined.alerted.astype(bool),
            )
        )
        self._rows += len(joined)
        while self._chunks and self._rows - len(self._chunks[0][0]) >= self.window:
            self._rows -= len(self._chunks.popleft()[0])

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(is_fraud, score, predicted, alerted)`` of the last ``window`` labelled decisions."""
        if not self._chunks:
            empty = np.zeros(0)
            return empty.astype(bool), empty, empty.astype(bool), empty.astype(bool)
        parts = [np.concatenate([c[k] for c in self._chunks])[-self.window :] for k in range(4)]
        return parts[0], parts[1], parts[2], parts[3]

    def snapshot(self) -> dict[str, float]:
        """``n, frauds, fraud_rate, precision, recall, ap, alerts, alert_precision`` (NaN when undefined)."""
        y, score, predicted, alerted = self.arrays()
        n, frauds = len(y), int(y.sum())
        tp = int((y & predicted).sum())
        nan = float("nan")
        return {
            "n": float(n),
            "frauds": float(frauds),
            "fraud_rate": frauds / n if n else nan,
            "precision": tp / int(predicted.sum()) if predicted.any() else nan,
            "recall": tp / frauds if frauds else nan,
            "ap": average_precision(y, score) if 0 < frauds < n else nan,
            "alerts": float(alerted.sum()),
            "alert_precision": float((y & alerted).sum() / alerted.sum()) if alerted.any() else nan,
        }
