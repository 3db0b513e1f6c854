"""Per-entity state of one entity kind: slots, running sums and ring buffers of recent events.

An :class:`EntityState` maps entity ids (customer, merchant or category ids) to *slots*: rows
of preallocated columnar arrays (``heads``, ``sums``, ``sumsq``, ...). Each slot owns a ring
buffer in a flat arena (see :mod:`fraudstream.features.kernels`); a ring grows (x1.25) before a
micro-batch that could overflow it, so it always holds every event still inside the longest
look-back. Memory stays bounded because

* events leave the ring once they are older than every window (the ring start moves on),
* idle entities are *evicted* (slot freed, ring released) once their last event is older than
  the spec's ``ttl``, and the least recently seen ones beyond ``max_entities``,
* the arena is compacted (rings re-laid end to end, shrunk to fit) when more than a quarter of it is
  released space (rings shrink to 1.25 x their live events).

>>> import numpy as np
>>> state = EntityState(n_windows=2, n_risk=0, columns=("ts", "cents"))
>>> state.slots_for(np.array(["a", "b", "a"], dtype=object)).tolist()
[0, 1, 0]
>>> len(state)
2
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.features.kernels import copy_rings

__all__ = ["EVENT_COLUMNS", "EntityState"]

log = logging.getLogger(__name__)

EVENT_COLUMNS: dict[str, Any] = {
    "ts": np.int64, "cents": np.int64, "pg": np.int32, "m": np.int32, "c": np.int32,
    "lat": np.float64, "lon": np.float64, "key": np.int64,
}
"""Per-event ring columns and their dtypes (only the ones a spec needs are allocated)."""

_NONE_TS = np.iinfo(np.int64).min
_MIN_CAP = 4
_GROWTH = 1.25


class EntityState:
    """Slots, per-slot running aggregates and per-slot ring buffers of one entity kind."""

    def __init__(self, n_windows: int, n_risk: int, columns: tuple[str, ...], *,
                 initial_slots: int = 1024, initial_arena: int = 4096) -> None:
        self.n_windows = n_windows
        self.n_risk = n_risk
        self.columns = tuple(columns)
        self.index: dict[Any, int] = {}
        self.ids: list[Any] = []
        self.free: list[int] = []
        self._alloc_slots(initial_slots)
        self.events = {c: np.zeros(initial_arena, EVENT_COLUMNS[c]) for c in self.columns}
        self.top = 0
        self.garbage = 0

    # -- slots ----------------------------------------------------------------------------
    def _alloc_slots(self, n: int) -> None:
        nw, nr = self.n_windows, self.n_risk
        self.offset = np.zeros(n, np.int64)
        self.cap = np.zeros(n, np.int64)
        self.start = np.zeros(n, np.int64)
        self.end = np.zeros(n, np.int64)
        self.last_ts = np.full(n, _NONE_TS, np.int64)
        self.heads = np.zeros((n, nw), np.int64)
        self.sums = np.zeros((n, nw), np.int64)
        self.sumsq = np.zeros((n, nw), np.float64)
        self.geo_sums = np.zeros((n, 2), np.float64)
        self.enter = np.zeros(n, np.int64)
        self.leave = np.zeros((n, nr), np.int64)
        self.live = np.zeros(n, np.bool_)

    SLOT_ARRAYS = ("offset", "cap", "start", "end", "last_ts", "heads", "sums", "sumsq", "geo_sums",
                   "enter", "leave", "live")

    def __len__(self) -> int:
        return len(self.index)

    def _grow_slots(self, needed: int) -> None:
        size = len(self.offset)
        if needed <= size:
            return
        new_size = max(needed, int(size * 1.5) + 1)
        for name in self.SLOT_ARRAYS:
            old = getattr(self, name)
            new = np.zeros((new_size, *old.shape[1:]), old.dtype)
            if name == "last_ts":
                new[:] = _NONE_TS
            new[:size] = old
            setattr(self, name, new)

    def slots_for(self, ids: np.ndarray) -> np.ndarray:
        """Slot of every id, creating slots for new entities (vectorised over unique ids)."""
        codes, uniques = pd.factorize(ids)
        keys = uniques.tolist()
        get = self.index.get
        found = np.asarray([get(k, -1) for k in keys], np.int64)
        missing = np.flatnonzero(found < 0)
        if len(missing):
            reuse = min(len(missing), len(self.free))
            fresh = len(missing) - reuse
            first = len(self.ids)
            self._grow_slots(first + fresh)
            new_slots = [self.free.pop() for _ in range(reuse)] + list(range(first, first + fresh))
            self.ids.extend([None] * fresh)
            for j, slot in zip(missing.tolist(), new_slots, strict=True):
                self.index[keys[j]] = slot
                self.ids[slot] = keys[j]
                found[j] = slot
            self._reset(np.asarray(new_slots, np.int64))
            self.live[new_slots] = True
        return found[codes]

    def _reset(self, slots: np.ndarray) -> None:
        for name in self.SLOT_ARRAYS:
            getattr(self, name)[slots] = _NONE_TS if name == "last_ts" else 0

    # -- rings ----------------------------------------------------------------------------
    def reserve(self, slots: np.ndarray) -> None:
        """Make every ring in ``slots`` (one entry per coming event) big enough for the batch."""
        uniq, counts = np.unique(slots, return_counts=True)
        need = self.end[uniq] - self.start[uniq] + counts
        for attempt in range(2):
            short = need > self.cap[uniq]
            if not short.any():
                return
            grow = uniq[short]
            new_cap = np.maximum(_MIN_CAP, np.ceil(need[short] * _GROWTH).astype(np.int64))
            total = int(new_cap.sum())
            arena = len(self.events["ts"])
            if attempt == 0 and self.top + total > arena and self.garbage > arena // 4:
                self.compact()  # shrinks rings: decide again which ones must grow
                continue
            break
        self._ensure_arena(self.top + total)
        new_offset = self.top + np.concatenate(([0], np.cumsum(new_cap)[:-1]))
        self._move(grow, new_offset, new_cap)
        self.garbage += int(self.cap[grow].sum())
        self.offset[grow] = new_offset
        self.cap[grow] = new_cap
        self.top += total

    def _ensure_arena(self, size: int) -> None:
        current = len(self.events["ts"])
        if size <= current:
            return
        new_size = max(size, int(current * 1.25))
        for name, old in self.events.items():
            new = np.zeros(new_size, old.dtype)
            new[:current] = old
            self.events[name] = new

    def _move(self, slots: np.ndarray, new_offset: np.ndarray, new_cap: np.ndarray,
              target: dict[str, np.ndarray] | None = None) -> None:
        dst_offset = self.offset.copy()
        dst_cap = self.cap.copy()
        dst_offset[slots] = new_offset
        dst_cap[slots] = new_cap
        live = slots[self.end[slots] > self.start[slots]]
        for name, src in self.events.items():
            dst = src if target is None else target[name]
            copy_rings(self.offset, np.maximum(self.cap, 1), dst_offset, dst_cap, self.start, self.end,
                       live, src, dst)

    def compact(self) -> None:
        """Re-lay every live ring end to end, shrunk to 1.25 x its live events."""
        slots = np.flatnonzero(self.live)
        live = self.end[slots] - self.start[slots]
        new_cap = np.where(live > 0, np.maximum(_MIN_CAP, np.ceil(live * _GROWTH)), 0).astype(np.int64)
        new_offset = np.concatenate(([0], np.cumsum(new_cap)[:-1])).astype(np.int64)
        size = max(int(new_cap.sum() * 1.1), 4096)
        target = {name: np.zeros(size, arr.dtype) for name, arr in self.events.items()}
        self._move(slots, new_offset, new_cap, target)
        self.events = target
        self.offset[:] = 0
        self.cap[:] = 0
        self.offset[slots] = new_offset
        self.cap[slots] = new_cap
        self.top = int(new_cap.sum())
        self.garbage = 0
        log.debug("compacted arena: %d live events in %d slots", int(live.sum()), len(slots))

    # -- eviction -------------------------------------------------------------------------
    def evict(self, older_than_ns: int | None, max_entities: int | None) -> int:
        """Free the slots of entities idle since before ``older_than_ns`` and, beyond
        ``max_entities``, of the least recently seen ones. Returns how many were evicted."""
        if not self.index:
            return 0
        slots = np.flatnonzero(self.live)
        last = self.last_ts[slots]
        drop = last < older_than_ns if older_than_ns is not None else np.zeros(len(slots), bool)
        if max_entities is not None and len(slots) - drop.sum() > max_entities:
            keep_order = np.argsort(np.where(drop, _NONE_TS, last), kind="stable")
            drop[keep_order[: len(slots) - max_entities]] = True
        gone = slots[drop]
        for slot in gone.tolist():
            del self.index[self.ids[slot]]
            self.ids[slot] = None
            self.free.append(slot)
        self.garbage += int(self.cap[gone].sum())
        self._reset(gone)
        return len(gone)

    # -- persistence ----------------------------------------------------------------------
    def nbytes(self) -> int:
        """Bytes held in numpy arrays (slot arrays and arena); the id dict is not counted."""
        arrays = [getattr(self, n) for n in self.SLOT_ARRAYS] + list(self.events.values())
        return sum(a.nbytes for a in arrays)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Everything needed to restore this state, as named numpy arrays."""
        out = {f"{prefix}{n}": getattr(self, n) for n in self.SLOT_ARRAYS}
        out.update({f"{prefix}ev_{n}": a[: self.top] for n, a in self.events.items()})
        out[f"{prefix}free"] = np.asarray(self.free, np.int64)
        out[f"{prefix}counters"] = np.asarray([self.top, self.garbage, len(self.ids)], np.int64)
        ids = np.asarray(["" if i is None else i for i in self.ids])
        occupied = np.asarray([i is not None for i in self.ids], bool)
        if not occupied.any() or all(isinstance(i, (int, np.integer)) for i in self.ids if i is not None):
            ids = np.asarray([0 if i is None else i for i in self.ids], np.int64)
        out[f"{prefix}ids"] = ids
        out[f"{prefix}occupied"] = occupied
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, n_windows: int, n_risk: int,
                    columns: tuple[str, ...]) -> EntityState:
        state = cls(n_windows, n_risk, columns, initial_slots=1, initial_arena=1)
        for name in cls.SLOT_ARRAYS:
            setattr(state, name, np.array(arrays[f"{prefix}{name}"]))
        top, garbage, n_ids = (int(v) for v in arrays[f"{prefix}counters"])
        state.events = {}
        for name in columns:
            stored = arrays[f"{prefix}ev_{name}"]
            arena = np.zeros(max(top, 1), EVENT_COLUMNS[name])
            arena[:top] = stored
            state.events[name] = arena
        state.top, state.garbage = top, garbage
        state.free = arrays[f"{prefix}free"].tolist()
        ids = arrays[f"{prefix}ids"].tolist()
        occupied = arrays[f"{prefix}occupied"].tolist()
        state.ids = [i if o else None for i, o in zip(ids, occupied, strict=True)][:n_ids]
        state.index = {i: s for s, i in enumerate(state.ids) if i is not None}
        return state
