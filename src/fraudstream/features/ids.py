"""Entity ids -> slots of an :class:`~fraudstream.features.state.EntityState`.

Integer ids (the common case: customer, terminal numbers) live in a numba hash table (16 bytes
a bucket at a load of at most 0.7, see :mod:`fraudstream.features.locator`) and a per-slot int64
array of ids; no Python object per entity. The first batch with ids that are not integers
(text, floats) moves the mapping to a Python dict for good (exact for any hashable id).

>>> import numpy as np
>>> ids = EntityIds()
>>> slots, new = ids.assign(np.array([7, 9, 7]))
>>> slots.tolist(), new.tolist(), len(ids)
([0, 1, 0], [0, 1], 2)
>>> ids.assign(np.array(["x"], dtype=object))[0].tolist(), ids.is_integer, sorted(map(str, ids))
([2], False, ['7', '9', 'x'])
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.features.locator import Locator, delete_many, find_many, insert_many

__all__ = ["EntityIds"]


class EntityIds:
    """Id -> slot mapping with a free list of released slots."""

    def __init__(self) -> None:
        self.table: Locator | None = Locator()  # None once ids are not all integers
        self.slot_ids = np.zeros(0, np.int64)  # integer mode: id of each slot
        self.index: dict[Any, int] = {}  # object mode
        self.ids: list[Any] = []  # object mode: id of each slot (None: free)
        self.free: list[int] = []
        self.n_slots = 0  # slots handed out so far (free ones included)
        self.count = 0

    @property
    def is_integer(self) -> bool:
        return self.table is not None

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Any]:
        if self.table is None:
            return iter(list(self.index))
        live = self.table.vals[self.table.vals >= 0]
        return iter(self.slot_ids[live].tolist())

    def _to_object_mode(self) -> None:
        assert self.table is not None
        vals = self.table.vals
        live = vals[vals >= 0]
        self.ids = [None] * self.n_slots
        for slot, key in zip(live.tolist(), self.slot_ids[live].tolist(), strict=True):
            self.index[key] = slot
            self.ids[slot] = key
        self.table = None
        self.slot_ids = np.zeros(0, np.int64)

    def _take(self, k: int) -> np.ndarray:
        reuse = min(k, len(self.free))
        slots = [self.free.pop() for _ in range(reuse)] + list(range(self.n_slots, self.n_slots + k - reuse))
        self.n_slots += k - reuse
        self.count += k
        return np.asarray(slots, np.int64)

    def assign(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Slot of every id, and the slots newly handed out (to be reset by the caller)."""
        values = np.asarray(ids)
        if self.table is not None and values.dtype.kind not in "iu":
            if values.dtype == object and len(values) and pd.api.types.infer_dtype(values) == "integer":
                values = values.astype(np.int64)
            else:
                self._to_object_mode()
        if self.table is not None:
            return self._assign_integers(values.astype(np.int64, copy=False))
        return self._assign_objects(values)

    def _assign_integers(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self.table is not None
        found = find_many(self.table.keys, self.table.vals, keys)
        missing = found < 0
        if not missing.any():
            return found, np.zeros(0, np.int64)
        new_keys = np.unique(keys[missing])
        slots = self._take(len(new_keys))
        if self.n_slots > len(self.slot_ids):
            self.slot_ids = np.concatenate([self.slot_ids, np.zeros(
                max(self.n_slots - len(self.slot_ids), len(self.slot_ids) // 4 + 1), np.int64)])
        self.slot_ids[slots] = new_keys
        self.table.ensure(len(new_keys))
        insert_many(self.table.keys, self.table.vals, self.table.count, new_keys, slots)
        found[missing] = find_many(self.table.keys, self.table.vals, keys[missing])
        return found, slots

    def _assign_objects(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(values)
        keys = uniques.tolist()
        get = self.index.get
        found = np.asarray([get(k, -1) for k in keys], np.int64)
        missing = np.flatnonzero(found < 0)
        slots = self._take(len(missing))
        if len(self.ids) < self.n_slots:
            self.ids.extend([None] * (self.n_slots - len(self.ids)))
        for j, slot in zip(missing.tolist(), slots.tolist(), strict=True):
            self.index[keys[j]] = slot
            self.ids[slot] = keys[j]
            found[j] = slot
        return found[codes], slots

    def release(self, slots: np.ndarray) -> None:
        """Forget the ids of ``slots``; the slots go to the free list."""
        if self.table is not None:
            delete_many(self.table.keys, self.table.vals, self.table.count, self.slot_ids[slots], slots)
            self.table.ensure(0)
        else:
            for slot in slots.tolist():
                del self.index[self.ids[slot]]
                self.ids[slot] = None
        self.free.extend(slots.tolist())
        self.count -= len(slots)

    def nbytes(self) -> int:
        """Bytes of the mapping: numpy arrays, or the dict, its keys and the id list."""
        if self.table is not None:
            return self.table.nbytes() + self.slot_ids.nbytes
        import sys

        return (sys.getsizeof(self.index) + sys.getsizeof(self.ids)
                + sum(sys.getsizeof(k) for k in self.index))

    def to_arrays(self, prefix: str, live: np.ndarray) -> dict[str, np.ndarray]:
        """``ids`` per slot (int64, or text in object mode), ``free`` and counters."""
        if self.table is not None:
            ids = np.zeros(self.n_slots, np.int64)
            ids[live] = self.slot_ids[live]
            mode = 0
        else:
            ids = np.asarray(["" if i is None else str(i) for i in self.ids[: self.n_slots]])
            if all(isinstance(i, (int, np.integer)) for i in self.ids if i is not None):
                ids = np.asarray([0 if i is None else i for i in self.ids[: self.n_slots]], np.int64)
            mode = 1
        return {f"{prefix}ids": ids, f"{prefix}free": np.asarray(self.free, np.int64),
                f"{prefix}id_counters": np.asarray([self.n_slots, mode], np.int64)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, live: np.ndarray) -> EntityIds:
        out = cls()
        out.n_slots, mode = (int(v) for v in arrays[f"{prefix}id_counters"])
        out.free = arrays[f"{prefix}free"].tolist()
        ids = arrays[f"{prefix}ids"]
        slots = np.flatnonzero(live[: out.n_slots])
        out.count = len(slots)
        if mode == 1:
            out._to_object_mode()
            values = ids.tolist()
            for slot in slots.tolist():
                out.index[values[slot]] = slot
                out.ids[slot] = values[slot]
        else:
            out.slot_ids = ids.astype(np.int64).copy()
            assert out.table is not None
            out.table.ensure(len(slots))
            insert_many(out.table.keys, out.table.vals, out.table.count, out.slot_ids[slots], slots)
        return out
