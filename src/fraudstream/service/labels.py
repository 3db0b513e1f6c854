"""Late labels: joining them to their decisions, and live prequential metrics.

Labels reach the service late — delayed label messages of the stream, analysts' reviews, a
labels file — long after the transaction was scored. :class:`RecentDecisions` remembers the
last ``capacity`` decisions (score, verdict, alerted, the latest label, and the feature row when
an online model needs it), keyed by ``tx_id``; :meth:`RecentDecisions.join` finds the decisions of
arriving labels (a label that arrives before its decision waits up to ``pending_max`` labels).

**Ids.** No Python object per decision. While integer ids keep rising (the usual stream: the
ring is then sorted in arrival order) adding a micro-batch is a few array writes and a label finds
its decision by bisection; the first id that is not above the ones before moves the ring to a
numba hash table (:mod:`fraudstream.features.locator`) for good. The first decision whose id is
not an integer moves it to *text* mode for good: the key is a 64-bit hash of the id's text (ids
are compared as text then, and a hash match is checked against the id itself). One id holds one
slot: a decision made again for a remembered id replaces the older one.

**Each decision is labelled once.** Every joined label says what the decision's label was before
it (``previous``: -1 none, else 0/1), processed in arrival order. :class:`PrequentialMetrics`
keeps the last ``window`` *labelled decisions*: a first label enters the window; a later label
that differs is a correction (``relabelled``) and replaces the label in the window (if the
decision is still in it); the same label again changes nothing.

Both save to arrays (``to_arrays`` / ``from_arrays``) for the detection service's snapshots
(:mod:`.label_state`).

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
>>> again = recent.join(pd.DataFrame({"tx_id": [1, 3], "is_fraud": [True, False]}))
>>> again.previous.tolist()
[1, 1]
>>> metrics.update(again)  # tx 1: the same label (nothing changes); tx 3: corrected
>>> metrics.labelled, metrics.relabelled, metrics.arrays()[0].tolist()
(2, 1, [False, True])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fraudstream.evaluate.metrics import average_precision
from fraudstream.features.locator import Locator, delete_many, find_many, insert_many

__all__ = ["Joined", "PrequentialMetrics", "RecentDecisions"]

_NONE = np.int8(-1)


@dataclass
class Joined:
    """Labels matched with their decisions (arrays of equal length, in arrival order).
    ``previous``: the decision's label before this one (-1: none); ``seq``: the decision's number
    (unique among the decisions of a ring, also across a snapshot); None: unknown (every label
    counts as a first one)."""

    tx_id: np.ndarray
    is_fraud: np.ndarray
    score: np.ndarray
    predicted: np.ndarray
    alerted: np.ndarray
    features: np.ndarray | None = None
    previous: np.ndarray | None = None
    seq: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.tx_id)

    @property
    def first(self) -> np.ndarray:
        """Which labels are the first of their decision (the rows an online model learns)."""
        return np.ones(len(self), bool) if self.previous is None else self.previous < 0


def _as_ids(values: np.ndarray | pd.Series) -> np.ndarray:
    """Ids as int64 when they all are integers (also in an object or integral float array),
    else as an object array."""
    ids = np.asarray(values)
    if ids.dtype.kind in "iu":
        return ids.astype(np.int64, copy=False)
    if ids.dtype.kind == "f" and np.isfinite(ids).all() and (ids == np.round(ids)).all():
        return ids.astype(np.int64)
    if ids.dtype == object and len(ids) and pd.api.types.infer_dtype(ids, skipna=False) == "integer":
        return ids.astype(np.int64)
    return ids.astype(object, copy=False)


def _text_keys(ids: np.ndarray) -> np.ndarray:
    """64-bit keys of ids' text (``5`` and ``"5"`` share one)."""
    if ids.dtype != object:
        ids = ids.astype(str).astype(object)
    return pd.util.hash_array(ids, categorize=False).view(np.int64)


def _same_text(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise: ids equal as text (a hash match checked)."""
    same = np.asarray(a == b, dtype=bool) if len(a) else np.zeros(0, bool)
    if not same.all():
        rest = ~same
        same[rest] = a[rest].astype(str) == b[rest].astype(str)
    return same


class RecentDecisions:
    """A ring of the last ``capacity`` decisions, looked up by ``tx_id`` (see the module docstring)."""

    def __init__(self, capacity: int = 500_000, n_features: int = 0, pending_max: int = 100_000) -> None:
        self.capacity = capacity
        self.keys = np.zeros(capacity, np.int64)
        """Key per slot: the id (integer mode) or the 64-bit hash of its text (text mode)."""
        self.ids: np.ndarray | None = None
        """Text mode: the id per slot as given (None in integer mode: the keys are the ids)."""
        self.live = np.zeros(capacity, bool)
        self.scores = np.zeros(capacity)
        self.predicted = np.zeros(capacity, dtype=bool)
        self.alerted = np.zeros(capacity, dtype=bool)
        self.label = np.full(capacity, _NONE, np.int8)
        """Latest label per slot: -1 none, 0 legitimate, 1 fraud."""
        self.features = np.zeros((capacity, n_features)) if n_features else None
        self.table: Locator | None = None
        """Hash table key -> slot; None while integer ids keep rising (the ring is then sorted in
        arrival order and searched by bisection)."""
        self.added = 0
        """Decisions added so far; decision number ``k`` sits in slot ``k % capacity``."""
        self.pending_max = pending_max
        self._pending_ids: np.ndarray = np.zeros(0, np.int64)
        self._pending_fraud = np.zeros(0, bool)
        self.unmatched = 0
        """Labels dropped because their decision never came (or was forgotten)."""

    @property
    def pending(self) -> int:
        return len(self._pending_ids)

    @property
    def n_features(self) -> int:
        return 0 if self.features is None else self.features.shape[1]

    def __len__(self) -> int:
        return int(self.live.sum())

    def add(
        self,
        tx_ids: np.ndarray,
        scores: np.ndarray,
        predicted: np.ndarray,
        alerted: np.ndarray,
        features: np.ndarray | None = None,
    ) -> None:
        """Remember decisions (the oldest ones leave the ring)."""
        ids = _as_ids(tx_ids)
        n = len(ids)
        if n == 0:
            return
        if n > self.capacity:
            skip = n - self.capacity
            ids, scores, predicted, alerted = ids[skip:], scores[skip:], predicted[skip:], alerted[skip:]
            features = None if features is None else features[skip:]
            self.added += skip
            n = self.capacity
        if self.ids is None and ids.dtype == object:
            self._to_text()
        slots = np.arange(self.added, self.added + n) % self.capacity
        if self.table is None and not self._in_order(ids):
            self._index()
        keys = ids if self.ids is None else _text_keys(ids)
        if self.table is not None:
            self._replace(slots, keys)
        else:
            self.live[slots] = True
        self.keys[slots] = keys
        if self.ids is not None:
            self.ids[slots] = ids
        self.scores[slots] = scores
        self.predicted[slots] = predicted
        self.alerted[slots] = alerted
        self.label[slots] = _NONE
        if self.features is not None and features is not None:
            self.features[slots] = features
        self.added += n

    def _in_order(self, ids: np.ndarray) -> bool:
        """Whether integer ids go on rising (the ring stays sorted in arrival order)."""
        rising = bool((ids[1:] > ids[:-1]).all())
        return rising and (self.added == 0 or ids[0] > self.keys[(self.added - 1) % self.capacity])

    def _index(self) -> None:
        """Sorted ring -> hash table (the first id that is not above the ones before)."""
        live = np.flatnonzero(self.live)
        self.table = Locator(max(1024, 2 * self.capacity))
        insert_many(self.table.keys, self.table.vals, self.table.count, self.keys[live], live)

    def _replace(self, slots: np.ndarray, keys: np.ndarray) -> None:
        """Hash table: ``slots`` now hold ``keys`` (evicted keys out, an id's older slot dead)."""
        table = self.table
        assert table is not None
        old = slots[self.live[slots]]
        if len(old):
            delete_many(table.keys, table.vals, table.count, self.keys[old], old)
            self.live[old] = False
        before = int(table.count[0])
        prior = find_many(table.keys, table.vals, keys)
        again = prior >= 0
        if again.any():  # decided again: the older slot is forgotten (one slot per id)
            self.live[prior[again]] = False
        insert_many(table.keys, table.vals, table.count, keys, slots)
        self.live[slots] = True
        repeated = int(again.sum())
        if int(table.count[0]) - before != len(keys) - repeated or len(np.unique(prior[again])) != repeated:
            self.live[slots] = find_many(table.keys, table.vals, keys) == slots  # an id twice in the batch

    def join(self, labels: pd.DataFrame, *, wait: bool = True) -> Joined:
        """The decisions of ``labels`` (``tx_id``, ``is_fraud``). With ``wait`` (label messages,
        which may overtake their transaction) labels without a decision yet wait for it (the
        oldest are dropped beyond ``pending_max``) and waiting labels now matched join too (before
        the new ones); without (reviews, a labels file: they come after their decision) a label
        whose decision is not remembered is left out. Each decision's latest label is kept."""
        ids = _as_ids(labels["tx_id"].to_numpy())
        fraud = labels["is_fraud"].to_numpy(bool)
        if wait and self.pending:
            waiting = self._pending_ids
            if waiting.dtype == ids.dtype:
                ids = np.concatenate([waiting, ids])
            else:
                ids = _as_ids(np.concatenate([waiting.astype(object), ids.astype(object)]))
            fraud = np.concatenate([self._pending_fraud, fraud])
        slots = self._find(ids)
        found = slots >= 0
        if wait:
            self._hold(ids[~found], fraud[~found])
        where, fraud = slots[found], fraud[found]
        previous = self._relabel(where, fraud)
        return Joined(
            self.keys[where] if self.ids is None else self.ids[where],
            fraud,
            self.scores[where],
            self.predicted[where],
            self.alerted[where],
            None if self.features is None else self.features[where],
            previous,
            self._seq(where),
        )

    def _find(self, ids: np.ndarray) -> np.ndarray:
        """Slot of each id (-1: not remembered)."""
        if self.ids is None:
            if ids.dtype == np.int64:
                return self._find_integers(ids)
            is_int = np.fromiter((isinstance(v, (int, np.integer)) for v in ids), bool, len(ids))
            slots = np.full(len(ids), -1, np.int64)  # mixed ids: only the integers can match
            if is_int.any():
                slots[is_int] = self._find_integers(ids[is_int].astype(np.int64))
            return slots
        assert self.table is not None
        slots = find_many(self.table.keys, self.table.vals, _text_keys(ids))
        hit = np.flatnonzero(slots >= 0)
        slots[hit[~_same_text(self.ids[slots[hit]], ids[hit].astype(object))]] = -1
        return slots

    def _find_integers(self, ids: np.ndarray) -> np.ndarray:
        if self.table is not None:
            return find_many(self.table.keys, self.table.vals, ids)
        slots = np.full(len(ids), -1, np.int64)
        end = self.added % self.capacity
        parts = [(0, self.added)] if self.added <= self.capacity else [(end, self.capacity), (0, end)]
        for lo, hi in parts:  # the sorted ring: older part, newer part
            if hi > lo:
                at = np.minimum(np.searchsorted(self.keys[lo:hi], ids), hi - lo - 1)
                hit = self.keys[lo + at] == ids
                slots[hit] = lo + at[hit]
        return slots

    def _relabel(self, slots: np.ndarray, fraud: np.ndarray) -> np.ndarray:
        """Each label's ``previous`` label of its decision (labels taken in order), and keep the
        latest label per slot."""
        order = np.argsort(slots, kind="stable")
        ordered, labels = slots[order], fraud[order].astype(np.int8)
        first = np.ones(len(ordered), bool)
        first[1:] = ordered[1:] != ordered[:-1]
        before = np.empty(len(ordered), np.int8)
        before[first] = self.label[ordered[first]]
        before[1:][~first[1:]] = labels[:-1][~first[1:]]
        last = np.ones(len(ordered), bool)
        last[:-1] = first[1:]
        self.label[ordered[last]] = labels[last]
        previous = np.empty(len(slots), np.int8)
        previous[order] = before
        return previous

    def _seq(self, slots: np.ndarray) -> np.ndarray:
        newest = self.added - 1
        return newest - (newest - slots) % self.capacity

    def _hold(self, ids: np.ndarray, fraud: np.ndarray) -> None:
        """Labels without a decision wait (the oldest dropped beyond ``pending_max``)."""
        if len(ids) > self.pending_max:
            self.unmatched += len(ids) - self.pending_max
            ids, fraud = ids[-self.pending_max :], fraud[-self.pending_max :]
        self._pending_ids, self._pending_fraud = ids, fraud

    def _to_text(self) -> None:
        """Integer mode -> text mode (the first id that is not an integer)."""
        live = np.flatnonzero(self.live)
        self.ids = np.full(self.capacity, None, dtype=object)
        self.ids[live] = self.keys[live].astype(object)
        self.keys[live] = _text_keys(self.ids[live])
        self.table = Locator(max(1024, 2 * self.capacity))
        insert_many(self.table.keys, self.table.vals, self.table.count, self.keys[live], live)
        if self.pending:
            self._pending_ids = self._pending_ids.astype(object)

    # -- persistence --------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """A copy of the ring as arrays (text ids as an object array: :mod:`.label_state` encodes
        them); the hash table is rebuilt on load. Feature rows are kept only for decisions
        not labelled yet: an online model learns a decision from its first label only."""
        counters = [self.capacity, self.added, self.pending_max, self.unmatched]
        arrays = {
            "ring.live": self.live.copy(),
            "ring.scores": self.scores.copy(),
            "ring.predicted": self.predicted.copy(),
            "ring.alerted": self.alerted.copy(),
            "ring.label": self.label.copy(),
            "ring.counters": np.array([*counters, self.ids is not None, self.table is not None], np.int64),
            "pending.ids": self._pending_ids.copy(),
            "pending.fraud": self._pending_fraud.copy(),
        }
        if self.ids is None:
            arrays["ring.ids"] = self.keys.copy()
        else:
            live = np.flatnonzero(self.live)
            arrays["ring.slots"] = live
            arrays["ring.ids"] = self.ids[live]
        if self.features is not None:
            rows = np.flatnonzero(self.live & (self.label < 0))
            arrays["ring.feature_slots"] = rows
            arrays["ring.features"] = self.features[rows]
            arrays["ring.n_features"] = np.array([self.features.shape[1]], np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> RecentDecisions:
        capacity, added, pending_max, unmatched, text, hashed = (int(v) for v in arrays["ring.counters"])
        recent = cls(capacity, pending_max=pending_max)
        recent.added, recent.unmatched = added, unmatched
        recent.live = arrays["ring.live"]
        recent.scores = arrays["ring.scores"]
        recent.predicted = arrays["ring.predicted"]
        recent.alerted = arrays["ring.alerted"]
        recent.label = arrays["ring.label"]
        if "ring.features" in arrays:
            recent.features = np.zeros((capacity, int(arrays["ring.n_features"][0])))
            recent.features[arrays["ring.feature_slots"]] = arrays["ring.features"]
        live = np.flatnonzero(recent.live)
        if text:
            recent.ids = np.full(capacity, None, dtype=object)
            recent.ids[arrays["ring.slots"]] = arrays["ring.ids"]
            recent.keys[live] = _text_keys(recent.ids[live])
        else:
            recent.keys = arrays["ring.ids"].astype(np.int64, copy=False)
        if text or hashed:
            recent._index()
        recent._pending_ids = arrays["pending.ids"]
        recent._pending_fraud = arrays["pending.fraud"].astype(bool)
        return recent


class PrequentialMetrics:
    """Metrics over the last ``window`` labelled decisions (see the module docstring): a ring of
    ``(is_fraud, score, predicted, alerted, decision number)``."""

    def __init__(self, window: int = 10_000) -> None:
        self.window = window
        self._y = np.zeros(window, bool)
        self._score = np.zeros(window)
        self._predicted = np.zeros(window, bool)
        self._alerted = np.zeros(window, bool)
        self._seq = np.full(window, -1, np.int64)
        self._rows = 0
        self._next = 0
        self.labelled = 0
        """Decisions labelled (each counted once, whatever the number of its labels)."""
        self.relabelled = 0
        """Labels that corrected an earlier, different label of their decision."""

    def update(self, joined: Joined) -> None:
        if not len(joined):
            return
        y = joined.is_fraud.astype(bool)
        first = joined.first
        seq = joined.seq if joined.seq is not None else np.full(len(joined), -1, np.int64)
        self._append(y[first], joined.score[first], joined.predicted[first], joined.alerted[first], seq[first])
        self.labelled += int(first.sum())
        if joined.previous is None:
            return
        fix = ~first & (joined.previous != y)
        if not fix.any():
            return
        self.relabelled += int(fix.sum())
        fixed, idx = np.unique(seq[fix][::-1], return_index=True)  # the latest label per decision
        latest = y[fix][::-1][idx]
        held = self._seq[: self._rows]
        at = np.minimum(np.searchsorted(fixed, held), len(fixed) - 1)
        hit = np.flatnonzero((fixed[at] == held) & (held >= 0))
        self._y[hit] = latest[at[hit]]

    def _append(self, *columns: np.ndarray) -> None:
        k = len(columns[0])
        if not k:
            return
        if k > self.window:
            columns = tuple(c[-self.window :] for c in columns)
            k = self.window
        at = (self._next + np.arange(k)) % self.window
        for target, values in zip(
            (self._y, self._score, self._predicted, self._alerted, self._seq), columns, strict=True
        ):
            target[at] = values
        self._next = int((self._next + k) % self.window)
        self._rows = min(self.window, self._rows + k)

    def _ordered(self, values: np.ndarray) -> np.ndarray:
        if self._rows < self.window:
            return values[: self._rows].copy()
        return np.concatenate([values[self._next :], values[: self._next]])

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(is_fraud, score, predicted, alerted)`` of the last ``window`` labelled decisions,
        oldest first."""
        return (
            self._ordered(self._y),
            self._ordered(self._score),
            self._ordered(self._predicted),
            self._ordered(self._alerted),
        )

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

    # -- persistence --------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        y, score, predicted, alerted = self.arrays()
        return {
            "window.is_fraud": y,
            "window.score": score,
            "window.predicted": predicted,
            "window.alerted": alerted,
            "window.seq": self._ordered(self._seq),
            "window.counters": np.array([self.labelled, self.relabelled], np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], window: int) -> PrequentialMetrics:
        """Metrics restored (the last ``window`` rows of the saved window)."""
        metrics = cls(window)
        metrics._append(*(arrays[f"window.{k}"] for k in ("is_fraud", "score", "predicted", "alerted", "seq")))
        metrics.labelled, metrics.relabelled = (int(v) for v in arrays["window.counters"])
        return metrics
