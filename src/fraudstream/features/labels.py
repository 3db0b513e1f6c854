"""Fraud labels the engine has learned, for label-delayed risk features.

Only *fraud* labels are kept (a legitimate label adds nothing to a fraud count, and a later
``False`` for the same transaction withdraws an earlier ``True``), as two sorted arrays:
transaction key and ``known_at`` (event time in ns when the label became known). A label of
transaction ``x`` counts in a feature computed at time ``t`` only if ``ts_x <= t - delay`` and
``known_at <= t``, so a label fed early never shows before its time. Labels are dropped once
``known_at`` is older than the longest look-back (assuming a label is never known before its
transaction happened). A bitmap of hashed keys (2 MiB) lets the kernel skip the binary search for
almost every transaction that has no fraud label.

>>> import numpy as np
>>> store = LabelStore()
>>> store.learn(np.array([5, 3, 9]), np.array([True, False, True]), np.array([50, 30, 90]))
>>> store.keys.tolist(), store.known_at.tolist()
([5, 9], [50, 90])
>>> store.learn(np.array([5]), np.array([False]), np.array([60]))
>>> store.keys.tolist()
[9]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BITMAP_BITS", "LabelStore", "key_bit", "tx_keys"]

BITMAP_BITS = 24
"""log2 of the number of bits in the label bitmap."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def key_bit(keys: np.ndarray) -> np.ndarray:
    """Bitmap position of each key (multiplicative hash, top BITMAP_BITS bits)."""
    with np.errstate(over="ignore"):
        return (keys.view(np.uint64) * _GOLDEN) >> np.uint64(64 - BITMAP_BITS)


def tx_keys(tx_ids: np.ndarray | pd.Series) -> np.ndarray:
    """int64 keys of transaction ids: integers as they are, anything else a 64-bit hash of str.

    >>> tx_keys(np.array([1, 2])).tolist()
    [1, 2]
    >>> bool(tx_keys(np.array(["a"], dtype=object))[0] == tx_keys(pd.Series(["a"]))[0])
    True
    """
    values = np.asarray(tx_ids)
    if values.dtype.kind in "iu":
        return values.astype(np.int64, copy=False)
    strings = np.asarray([str(v) for v in values.tolist()], dtype=object)
    return pd.util.hash_array(strings, categorize=False).view(np.int64)


class LabelStore:
    """Sorted fraud-label keys with the time each label became known."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.int64)
        self.known_at = np.zeros(0, np.int64)
        self.bitmap = np.zeros(1 << (BITMAP_BITS - 3), np.uint8)

    def _rebuild_bitmap(self) -> None:
        self.bitmap[:] = 0
        bits = key_bit(self.keys)
        np.bitwise_or.at(self.bitmap, (bits >> np.uint64(3)).astype(np.int64),
                         (np.uint8(1) << (bits & np.uint64(7)).astype(np.uint8)))

    def __len__(self) -> int:
        return len(self.keys)

    def learn(self, keys: np.ndarray, is_fraud: np.ndarray, known_at: np.ndarray) -> None:
        """Add fraud labels, withdraw labels set to legitimate (last one per key wins)."""
        frame = pd.DataFrame({"key": keys, "fraud": is_fraud, "at": known_at})
        frame = frame.drop_duplicates("key", keep="last")
        old = pd.DataFrame({"key": self.keys, "fraud": True, "at": self.known_at})
        merged = pd.concat([old, frame]).drop_duplicates("key", keep="last")
        merged = merged[merged["fraud"].to_numpy(bool)].sort_values("key")
        self.keys = merged["key"].to_numpy(np.int64)
        self.known_at = merged["at"].to_numpy(np.int64)
        self._rebuild_bitmap()

    def known_at_of(self, keys: np.ndarray) -> np.ndarray:
        """``known_at`` of the fraud label of each key, int64 max where there is none.

        >>> store = LabelStore()
        >>> store.learn(np.array([5]), np.array([True]), np.array([50]))
        >>> store.known_at_of(np.array([5, 6])).tolist() == [50, np.iinfo(np.int64).max]
        True
        """
        out = np.full(len(keys), np.iinfo(np.int64).max, np.int64)
        if len(self.keys):
            i = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
            hit = self.keys[i] == keys
            out[hit] = self.known_at[i[hit]]
        return out

    def forget_before(self, known_before_ns: int) -> bool:
        """Drop labels known before ``known_before_ns`` (their transactions left every window);
        True if any was dropped."""
        keep = self.known_at >= known_before_ns
        if keep.all():
            return False
        self.keys, self.known_at = self.keys[keep], self.known_at[keep]
        self._rebuild_bitmap()
        return True
