"""Micro-batching bounded by size and by a maximum wait.

A :class:`Batcher` collects items (lines, records) and says when the batch must be cut: when it
holds ``max_rows`` items, or when its first item has waited ``max_wait_s``. It never sleeps
itself: a source asks :meth:`Batcher.time_left` and blocks on its own input for at most that
long (a socket timeout, a paced sleep), so nothing busy-waits.

>>> clock = iter([0.0, 0.01, 0.06]).__next__
>>> batcher = Batcher(max_rows=3, max_wait_s=0.05, clock=clock)
>>> batcher.add(["a", "b"]), batcher.full()
([], False)
>>> batcher.time_left() > 0
True
>>> batcher.expired()
True
>>> batcher.cut()
['a', 'b']
>>> Batcher(max_rows=2, max_wait_s=1, clock=lambda: 0.0).add(["a", "b", "c"])
[['a', 'b']]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from fraudstream.errors import ConfigError

__all__ = ["Batcher"]

T = TypeVar("T")


class Batcher(Generic[T]):
    """Groups items into batches of at most ``max_rows``, cut at the latest ``max_wait_s``
    after the first item of the batch arrived."""

    def __init__(
        self, max_rows: int = 1000, max_wait_s: float = 0.05, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_rows < 1:
            raise ConfigError(f"batch size must be >= 1 transactions, got {max_rows}")
        if not max_wait_s > 0:
            raise ConfigError(f"max wait must be > 0 ms, got {max_wait_s * 1000:g}")
        self.max_rows = max_rows
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._items: list[T] = []
        self._first_at: float | None = None

    def __len__(self) -> int:
        return len(self._items)

    def add(self, items: Iterable[T]) -> list[list[T]]:
        """Add ``items``; return the full batches they completed (each exactly ``max_rows``)."""
        out: list[list[T]] = []
        for item in items:
            if self._first_at is None:
                self._first_at = self._clock()
            self._items.append(item)
            if len(self._items) >= self.max_rows:
                out.append(self.cut())
        return out

    def full(self) -> bool:
        return len(self._items) >= self.max_rows

    def time_left(self) -> float | None:
        """Seconds until the current batch must be cut (``None``: empty, wait as long as you like)."""
        if self._first_at is None:
            return None
        return max(0.0, self._first_at + self.max_wait_s - self._clock())

    def expired(self) -> bool:
        """Whether a non-empty batch has waited ``max_wait_s``."""
        left = self.time_left()
        return left is not None and left <= 0

    def cut(self) -> list[T]:
        """The current batch (possibly empty); the batcher starts a new one."""
        items, self._items, self._first_at = self._items, [], None
        return items
