"""Where a recent transaction sits: tx key -> (merchant slot, event number), for late labels.

The label-delayed risk features keep, per merchant, running fraud counts over the delayed windows
(see :mod:`fraudstream.features.kernels`). A label that arrives, or becomes known, while its
transaction is already inside a window changes a count by one; to find that count the engine
needs the transaction's merchant slot and event number. The :class:`Locator` holds exactly the
events inside some delayed window (inserted when an event enters ``(t - d - w_max, t - d]``,
deleted when it leaves), in an open-addressing hash table (linear probing, backward-shift
deletion, any capacity: the home bucket is ``((hash >> 32) * capacity) >> 32``).

A value packs the slot (high 32 bits) and the low 32 bits of the event number; the kernel
recovers the event number from the ring's start. Empty buckets hold -1.

>>> import numpy as np
>>> loc = Locator()
>>> loc.ensure(3)
>>> loc_insert(loc.keys, loc.vals, loc.count, 42, pack(7, 5))
>>> int(loc_find(loc.keys, loc.vals, 42)) >> 32, int(loc.count[0])
(7, 1)
>>> loc_delete(loc.keys, loc.vals, loc.count, 42, pack(7, 5))
>>> int(loc_find(loc.keys, loc.vals, 42)), int(loc.count[0])
(-1, 0)
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["Locator", "delete_many", "find_many", "insert_many", "loc_delete", "loc_find", "loc_insert",
           "pack"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MAX_LOAD = 0.7
_MIN_CAPACITY = 1024


@nb.njit(cache=True, inline="always")
def pack(slot: int, q: int) -> int:
    """Slot in the high 32 bits, event number modulo 2**32 in the low ones."""
    return (np.int64(slot) << np.int64(32)) | (np.int64(q) & np.int64(0xFFFFFFFF))


@nb.njit(cache=True, inline="always")
def _home(key, capacity):
    h = (np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)
    return np.int64((h * np.uint64(capacity)) >> np.uint64(32))


@nb.njit(cache=True)
def loc_find(keys, vals, key):
    """Value stored for ``key``, or -1."""
    cap = keys.shape[0]
    i = _home(key, cap)
    while vals[i] >= 0:
        if keys[i] == key:
            return vals[i]
        i += 1
        if i == cap:
            i = 0
    return -1


@nb.njit(cache=True)
def loc_insert(keys, vals, count, key, val):
    """Store ``val`` for ``key`` (replacing an older value of the same key)."""
    cap = keys.shape[0]
    i = _home(key, cap)
    while vals[i] >= 0:
        if keys[i] == key:
            vals[i] = val
            return
        i += 1
        if i == cap:
            i = 0
    keys[i] = key
    vals[i] = val
    count[0] += 1


@nb.njit(cache=True)
def loc_delete(keys, vals, count, key, val):
    """Remove ``key`` if it still holds ``val`` (a newer event with the same key stays)."""
    cap = keys.shape[0]
    i = _home(key, cap)
    while vals[i] >= 0:
        if keys[i] == key:
            if vals[i] != val:
                return
            break
        i += 1
        if i == cap:
            i = 0
    if vals[i] < 0:
        return
    count[0] -= 1
    j = i
    while True:  # backward-shift deletion keeps every probe chain unbroken
        j += 1
        if j == cap:
            j = 0
        if vals[j] < 0:
            break
        k = _home(keys[j], cap)
        if (i <= j and i < k <= j) or (i > j and (k > i or k <= j)):
            continue
        keys[i] = keys[j]
        vals[i] = vals[j]
        i = j
    vals[i] = -1


@nb.njit(cache=True)
def _rehash(old_keys, old_vals, keys, vals, count):
    for i in range(old_keys.shape[0]):
        if old_vals[i] >= 0:
            loc_insert(keys, vals, count, old_keys[i], old_vals[i])


class Locator:
    """The hash table's arrays (``keys``, ``vals``) and entry ``count`` (a 1-element array the
    kernel updates); :meth:`ensure` keeps the load under 0.7 for the coming inserts."""

    def __init__(self, capacity: int = _MIN_CAPACITY) -> None:
        self.keys = np.zeros(capacity, np.int64)
        self.vals = np.full(capacity, -1, np.int64)
        self.count = np.zeros(1, np.int64)

    def __len__(self) -> int:
        return int(self.count[0])

    def ensure(self, coming: int) -> None:
        """Room for ``coming`` more entries at a load of at most 0.7 (grow x1.5, or shrink to
        twice the entries when under a fifth full)."""
        needed = int(self.count[0]) + coming
        capacity = len(self.keys)
        if needed > _MAX_LOAD * capacity:
            self._rehash(max(int(needed / _MAX_LOAD) + 1, int(capacity * 1.5)))
        elif capacity > _MIN_CAPACITY and needed < capacity // 5:
            self._rehash(max(_MIN_CAPACITY, 2 * needed))

    def grow(self) -> None:
        """1.5 x the capacity (the kernel stopped at the load limit)."""
        self._rehash(int(len(self.keys) * 1.5) + 1)

    def _rehash(self, capacity: int) -> None:
        old_keys, old_vals = self.keys, self.vals
        self.keys = np.zeros(capacity, np.int64)
        self.vals = np.full(capacity, -1, np.int64)
        self.count[0] = 0
        _rehash(old_keys, old_vals, self.keys, self.vals, self.count)

    def limit(self) -> int:
        """Entries the table may hold before it must grow."""
        return int(_MAX_LOAD * len(self.keys))

    def nbytes(self) -> int:
        return self.keys.nbytes + self.vals.nbytes


@nb.njit(cache=True)
def find_many(keys, vals, queries):
    """``loc_find`` of every query."""
    out = np.empty(queries.shape[0], np.int64)
    for i in range(queries.shape[0]):
        out[i] = loc_find(keys, vals, queries[i])
    return out


@nb.njit(cache=True)
def insert_many(keys, vals, count, new_keys, new_vals):
    for i in range(new_keys.shape[0]):
        loc_insert(keys, vals, count, new_keys[i], new_vals[i])


@nb.njit(cache=True)
def delete_many(keys, vals, count, old_keys, old_vals):
    for i in range(old_keys.shape[0]):
        loc_delete(keys, vals, count, old_keys[i], old_vals[i])
