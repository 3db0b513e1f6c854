"""Pacing: when each generated transaction is released on the wall clock.

Generation never depends on pacing; a :class:`Pacer` only decides *when* rows go out:

- ``Pacer()`` — as fast as possible (bulk);
- ``Pacer(speed=1)`` — real time: event-time gaps are kept;
- ``Pacer(speed=3600)`` — accelerated: one simulated hour per wall second;
- ``Pacer(rate=200)`` — by count: 200 transactions per wall second, whatever their event times
  (the classroom server's ``--interval 0.5`` is ``rate=2``).

:func:`paced` applies a pacer to an iterator of frames and yields micro-batches of the rows that
are due, sleeping (never busy-waiting) until the next one is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError

__all__ = ["Pacer", "paced"]


class Pacer:
    """Maps each row to the wall-clock second (monotonic) at which it is due."""

    def __init__(self, *, speed: float | None = None, rate: float | None = None) -> None:
        if speed is not None and rate is not None:
            raise ConfigError("give speed or rate, not both")
        if speed is not None and not speed > 0:
            raise ConfigError(f"speed must be > 0 (1 = real time), got {speed}")
        if rate is not None and not rate > 0:
            raise ConfigError(f"rate must be > 0 transactions per second, got {rate}")
        self.speed = speed
        self.rate = rate
        self._wall0: float | None = None
        self._event0: np.int64 | None = None
        self._count = 0

    @property
    def unpaced(self) -> bool:
        return self.speed is None and self.rate is None

    def due(self, frame: pd.DataFrame, now: float) -> np.ndarray:
        """Wall-clock due times (same clock as ``now``) of the rows of ``frame``, in order."""
        n = len(frame)
        if self._wall0 is None:
            self._wall0 = now
        if self.unpaced:
            return np.full(n, now)
        if self.rate is not None:
            offsets = (self._count + np.arange(n)) / self.rate
            self._count += n
            return self._wall0 + offsets
        event_ns = frame["ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]")
        event_ns = event_ns.astype(np.int64)
        if self._event0 is None and n:
            self._event0 = event_ns[0]
        assert self.speed is not None
        return self._wall0 + (event_ns - (self._event0 or 0)) / 1e9 / self.speed


def paced(frames: Iterable[pd.DataFrame], pacer: Pacer, *, max_batch: int = 1000,
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[pd.DataFrame]:
    """Yield micro-batches of at most ``max_batch`` rows, each released once its rows are due."""
    for frame in frames:
        due = pacer.due(frame, clock())
        start = 0
        while start < len(frame):
            now = clock()
            ready = int(np.searchsorted(due, now, side="right"))
            if ready <= start:
                sleep(max(0.0, float(due[start] - now)))
                continue
            stop = min(ready, start + max_batch)
            yield frame.iloc[start:stop]
            start = stop
