"""Per-entity state of one entity kind: slots, running sums and ring buffers of recent events.

An :class:`EntityState` maps entity ids (customer, merchant or category ids) to *slots*: rows
of preallocated columnar arrays (``heads``, ``sums``, ``sumsq``, ...). Each slot owns a ring
buffer in a flat arena (see :mod:`fraudstream.features.kernels`); a ring grows (to its events
plus 1/8, at least 2 more) before a micro-batch that could overflow it, so it always holds every
event still inside the longest look-back. Memory stays bounded because

* events leave the ring once they are older than every window (the ring start moves on),
* idle entities are *evicted* (slot freed, ring released) once their last event is older than
  the spec's ``ttl``, and the least recently seen ones beyond ``max_entities``,
* the arena never grows past ``ARENA_SLACK`` (1.25) times the live events while compaction can
  avoid it: when a batch does not fit, rings are re-laid end to end *in place* (each shrunk to
  its live events plus 1/8) and the arena is resized (``realloc``) to 1.25 x the live events.

Per-event columns are narrow: event time as int32 *ticks* (seconds from the engine's epoch, see
:mod:`fraudstream.features.engine`; int64 nanoseconds after :meth:`EntityState.widen`),
amounts as int32 cents (int64 after widening), and only the columns a spec needs.

>>> import numpy as np
>>> state = EntityState(n_windows=2, n_risk=0, columns=("ts", "cents"))
>>> state.slots_for(np.array(["a", "b", "a"], dtype=object)).tolist()
[0, 1, 0]
>>> len(state), state.events["ts"].dtype.name
(2, 'int32')
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from fraudstream.features.ids import EntityIds
from fraudstream.features.kernels import compact_rings, copy_rings

__all__ = ["ARENA_SLACK", "EVENT_COLUMNS", "EntityState", "ring_capacity"]

log = logging.getLogger(__name__)

EVENT_COLUMNS: dict[str, Any] = {
    "ts": np.int32, "cents": np.int32, "pg": np.int32, "m": np.int32, "c": np.int32,
    "lat": np.float64, "lon": np.float64, "key": np.int64, "fl": np.uint8,
}
"""Per-event ring columns and their (narrowest) dtypes; only the ones a spec needs are allocated.
``ts`` and ``cents`` become int64 after :meth:`EntityState.widen`."""

ARENA_SLACK = 1.25
"""The arena is kept at most this many times the live events (while compaction can do it)."""

_NONE_TS = np.iinfo(np.int64).min
_MIN_ARENA = 4096
_SLOT_GROWTH = 1.25


def ring_capacity(live: np.ndarray) -> np.ndarray:
    """Ring size for ``live`` events: live + max(2, live // 8), for a growing ring and when
    compacting (more headroom on growth was measured to cost more compactions, not fewer).

    >>> ring_capacity(np.array([1, 30, 100])).tolist()
    [3, 33, 112]
    """
    live = np.asarray(live, np.int64)
    return live + np.maximum(2, live >> 3)


class EntityState:
    """Slots, per-slot running aggregates and per-slot ring buffers of one entity kind."""

    def __init__(self, n_windows: int, n_risk: int, columns: tuple[str, ...], *, geo: bool = False,
                 initial_slots: int = 1024, initial_arena: int = _MIN_ARENA,
                 dtypes: dict[str, Any] | None = None) -> None:
        self.n_windows = n_windows
        self.n_risk = n_risk
        self.geo = geo
        self.columns = tuple(columns)
        self.index = EntityIds()
        self._alloc_slots(initial_slots)
        kinds = {**EVENT_COLUMNS, **(dtypes or {})}
        self.events = {c: np.zeros(initial_arena, kinds[c]) for c in self.columns}
        self.top = 0
        self.garbage = 0

    # -- slots ----------------------------------------------------------------------------
    def _slot_shapes(self) -> dict[str, tuple[Any, int | None]]:
        """Slot array name -> (dtype, width; None for one value per slot)."""
        nw, nr = self.n_windows, self.n_risk
        return {"offset": (np.int64, None), "cap": (np.int64, None), "start": (np.int64, None),
                "end": (np.int64, None), "last_ts": (np.int64, None), "heads": (np.int64, nw),
                "sums": (np.int64, nw), "sumsq": (np.float64, nw),
                "geo_sums": (np.float64, 2 if self.geo else 0),
                "enter": (np.int64, 1 if nr else 0), "leave": (np.int64, nr), "frauds": (np.int64, nr),
                "live": (np.bool_, None)}

    SLOT_ARRAYS = ("offset", "cap", "start", "end", "last_ts", "heads", "sums", "sumsq", "geo_sums",
                   "enter", "leave", "frauds", "live")

    def _alloc_slots(self, n: int) -> None:
        for name, (dtype, width) in self._slot_shapes().items():
            shape = (n,) if width is None else (n, width)
            fill = _NONE_TS if name == "last_ts" else 0
            setattr(self, name, np.full(shape, fill, dtype))

    def __len__(self) -> int:
        return len(self.index)

    def _grow_slots(self, needed: int) -> None:
        size = len(self.offset)
        if needed <= size:
            return
        new_size = max(needed, int(size * _SLOT_GROWTH) + 1)
        for name in self.SLOT_ARRAYS:
            old = getattr(self, name)
            new = np.zeros((new_size, *old.shape[1:]), old.dtype)
            if name == "last_ts":
                new[:] = _NONE_TS
            new[:size] = old
            setattr(self, name, new)

    def slots_for(self, ids: np.ndarray) -> np.ndarray:
        """Slot of every id, creating slots for new entities."""
        slots, new = self.index.assign(ids)
        if len(new):
            self._grow_slots(self.index.n_slots)
            self._reset(new)
            self.live[new] = True
        return slots

    def _reset(self, slots: np.ndarray) -> None:
        for name in self.SLOT_ARRAYS:
            getattr(self, name)[slots] = _NONE_TS if name == "last_ts" else 0

    def live_events(self) -> int:
        """Events held in the rings of live entities."""
        slots = np.flatnonzero(self.live)
        return int((self.end[slots] - self.start[slots]).sum())

    @property
    def arena_size(self) -> int:
        return len(self.events["ts"])

    # -- rings ----------------------------------------------------------------------------
    def reserve(self, slots: np.ndarray) -> None:
        """Make every ring in ``slots`` (one entry per coming event) big enough for the batch."""
        uniq, counts = np.unique(slots, return_counts=True)
        need = self.end[uniq] - self.start[uniq] + counts
        short = need > self.cap[uniq]
        if not short.any():
            return
        new_cap = ring_capacity(need[short])
        total = int(new_cap.sum())
        if self.top + total > self.arena_size:
            limit = max(_MIN_ARENA, math.ceil(ARENA_SLACK * (self.live_events() + len(slots))))
            if self.top + total > limit and self._reclaimable() >= limit // 16:
                self.compact(extra=len(slots))
                short = need > self.cap[uniq]
                new_cap = ring_capacity(need[short])
                total = int(new_cap.sum())
            if self.top + total > self.arena_size:
                self._resize_arena(max(self.top + total, limit, int(self.arena_size * 1.0625)))
        grow = uniq[short]
        new_offset = self.top + np.concatenate(([0], np.cumsum(new_cap)[:-1]))
        self._move(grow, new_offset, new_cap)
        self.garbage += int(self.cap[grow].sum())
        self.offset[grow] = new_offset
        self.cap[grow] = new_cap
        self.top += total

    def _reclaimable(self) -> int:
        """Arena slots a compaction would give back."""
        slots = np.flatnonzero(self.live)
        live = self.end[slots] - self.start[slots]
        fit = np.where(live > 0, np.minimum(self.cap[slots], ring_capacity(live)), 0)
        return self.top - int(fit.sum())

    def _resize_arena(self, size: int) -> None:
        """Grow or shrink every event column in place (``realloc``; no second copy of the arena)."""
        for array in self.events.values():
            array.resize(size, refcheck=False)

    def _move(self, slots: np.ndarray, new_offset: np.ndarray, new_cap: np.ndarray) -> None:
        for array in self.events.values():
            copy_rings(self.offset, self.cap, self.start, self.end, slots, new_offset, new_cap, array)

    def compact(self, extra: int = 0) -> None:
        """Re-lay every live ring end to end in place, each shrunk to ``ring_capacity`` of its live
        events (never grown), then resize the arena to ``ARENA_SLACK`` x (live + ``extra``) events."""
        slots = np.flatnonzero(self.live & (self.cap > 0))
        slots = slots[np.argsort(self.offset[slots], kind="stable")]
        live = self.end[slots] - self.start[slots]
        new_cap = np.where(live > 0, np.minimum(self.cap[slots], ring_capacity(live)), 0).astype(np.int64)
        new_offset = np.concatenate(([0], np.cumsum(new_cap)[:-1])).astype(np.int64)
        scratch_size = int(live.max(initial=0))
        for array in self.events.values():
            compact_rings(slots, self.offset, self.cap, new_offset, new_cap, self.start, self.end, array,
                          np.zeros(scratch_size, array.dtype))
        self.offset[:] = 0
        self.cap[:] = 0
        self.offset[slots] = new_offset
        self.cap[slots] = new_cap
        self.top = int(new_cap.sum())
        self.garbage = 0
        total_live = int(live.sum())
        self._resize_arena(max(_MIN_ARENA, self.top, math.ceil(ARENA_SLACK * (total_live + extra))))
        log.debug("compacted arena: %d live events in %d slots", total_live, len(slots))

    def widen(self, column: str, factor: int = 1) -> None:
        """Store ``column`` (``ts`` or ``cents``) as int64 from now on, values times ``factor``;
        for ``ts`` the per-slot last times are scaled too."""
        if column not in self.events:
            return
        self.events[column] = self.events[column].astype(np.int64) * factor
        if column == "ts" and factor != 1:
            known = self.last_ts != _NONE_TS
            self.last_ts[known] *= factor

    # -- eviction -------------------------------------------------------------------------
    def evict(self, older_than: int | None, max_entities: int | None,
              on_evict: Any = None) -> np.ndarray:
        """Free the slots of entities idle since before ``older_than`` (ticks) and, beyond
        ``max_entities``, of the least recently seen ones; ``on_evict(slots)`` runs before their
        arrays are reset. Returns the evicted slots."""
        if not len(self.index):
            return np.zeros(0, np.int64)
        slots = np.flatnonzero(self.live)
        last = self.last_ts[slots]
        drop = last < older_than if older_than is not None else np.zeros(len(slots), bool)
        if max_entities is not None and len(slots) - drop.sum() > max_entities:
            keep_order = np.argsort(np.where(drop, _NONE_TS, last), kind="stable")
            drop[keep_order[: len(slots) - max_entities]] = True
        gone = slots[drop]
        if on_evict is not None and len(gone):
            on_evict(gone)
        self.index.release(gone)
        self.garbage += int(self.cap[gone].sum())
        self._reset(gone)
        if self.garbage > self.arena_size // 4:
            self.compact()
        return gone

    # -- persistence ----------------------------------------------------------------------
    def nbytes(self) -> int:
        """Bytes held in numpy arrays (slot arrays and arena); the id mapping is :meth:`id_nbytes`."""
        arrays = [getattr(self, n) for n in self.SLOT_ARRAYS] + list(self.events.values())
        return sum(a.nbytes for a in arrays)

    def id_nbytes(self) -> int:
        """Bytes of the id -> slot mapping (hash table, or dict and its keys for non-integer ids)."""
        return self.index.nbytes()

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Everything needed to restore this state, as named numpy arrays."""
        out = {f"{prefix}{n}": getattr(self, n) for n in self.SLOT_ARRAYS}
        out.update({f"{prefix}ev_{n}": a[: self.top] for n, a in self.events.items()})
        out[f"{prefix}counters"] = np.asarray([self.top, self.garbage], np.int64)
        out.update(self.index.to_arrays(prefix, np.flatnonzero(self.live)))
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, n_windows: int, n_risk: int,
                    columns: tuple[str, ...], *, geo: bool = False) -> EntityState:
        state = cls(n_windows, n_risk, columns, geo=geo, initial_slots=1, initial_arena=1)
        for name in cls.SLOT_ARRAYS:
            setattr(state, name, np.array(arrays[f"{prefix}{name}"]))
        top, garbage = (int(v) for v in arrays[f"{prefix}counters"])
        state.events = {}
        for name in columns:
            stored = arrays[f"{prefix}ev_{name}"]
            arena = np.zeros(max(top, _MIN_ARENA), stored.dtype)
            arena[:top] = stored
            state.events[name] = arena
        state.top, state.garbage = top, garbage
        state.index = EntityIds.from_arrays(arrays, prefix, state.live)
        return state
