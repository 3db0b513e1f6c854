"""Replaying a dataset file as a stream: any supported layout, in event-time order.

:func:`read_dataset` reads a CSV, Parquet or NDJSON file in any layout an adapter knows
(``schema=None``: canonical columns, else detected from the column names) and returns one
canonical frame sorted by ``(ts, tx_id)``. :class:`ReplayWorld` presents that frame to a
:class:`~fraudstream.stream.feed.Feed` as if it were a world, so ``fraudstream serve --replay
FILE`` paces it (``--speed`` in event time or ``--rate``) with labels inline, hidden or delayed.

A replay can resume part-way (``--start TIME`` and/or ``--skip N``): :func:`replay_offset` finds
the row to start at, the later of row ``N`` of the event-time order and the first transaction at
or after ``TIME``; the server's stop line names the next row, to pass as ``--skip``.

>>> import pandas as pd
>>> frame = pd.DataFrame({"tx_id": [2, 1], "ts": pd.to_datetime(["2024-01-02", "2024-01-01"], utc=True),
...     "customer_id": [1, 1], "merchant_id": ["M", "M"], "amount": [2.0, 1.0]})
>>> world = ReplayWorld(frame)
>>> [b["tx_id"].tolist() for b in world.generate(rows=5)]
[[1, 2]]
>>> offset = replay_offset(world.frame, start="2024-01-01T12:00")
>>> offset, [b["tx_id"].tolist() for b in ReplayWorld(frame, offset=offset).blocks()]
(1, [[2]])
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.adapters import detect_adapter, get_adapter
from fraudstream.errors import ConfigError
from fraudstream.files import read_frames
from fraudstream.records import CORE_COLUMNS, canonical_order

__all__ = ["ReplayWorld", "read_dataset", "replay_offset", "sort_by_event_time"]


def sort_by_event_time(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in ``(ts, tx_id)`` order (stable), index reset."""
    if len(frame) < 2:
        return frame.reset_index(drop=True)
    ids = frame["tx_id"].to_numpy()
    tie = ids if ids.dtype.kind in "iuf" else pd.factorize(ids.astype(str), sort=True)[0]
    order = np.lexsort((tie, frame["ts"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


def read_dataset(path: str | Path, schema: str | None = None, *, chunk_rows: int = 100_000) -> pd.DataFrame:
    """The canonical transactions of a dataset file, sorted by event time.

    ``schema``: an adapter name (``handbook``, ``kaggle``, ...), ``canonical``, or ``None`` to
    take canonical columns as they are or detect the layout from the column names.
    """
    chunks = list(read_frames(path, chunk_rows=chunk_rows))
    if not chunks:
        raise ConfigError(f"{path}: the file holds no rows")
    raw = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    if schema in (None, "canonical") and set(CORE_COLUMNS) <= set(raw.columns):
        frame = raw
        if not isinstance(frame["ts"].dtype, pd.DatetimeTZDtype):
            frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    elif schema == "canonical":
        raise ConfigError(f"{path}: --schema canonical needs the columns {', '.join(CORE_COLUMNS)}")
    else:
        adapter = get_adapter(schema) if schema is not None else detect_adapter(raw.columns)
        frame = adapter.to_canonical(raw)
    return canonical_order(sort_by_event_time(frame))


def replay_offset(frame: pd.DataFrame, start: Any = None, skip: int = 0) -> int:
    """The row of ``frame`` (sorted by event time) at which a replay resumes: the later of row
    ``skip`` and the first transaction at or after ``start`` (ISO 8601 text or a time; naive =
    UTC; None: no bound)."""
    if skip < 0:
        raise ConfigError(f"--skip must be >= 0 rows, got {skip}")
    if skip and skip >= len(frame):
        raise ConfigError(f"--skip {skip:,} is past the end: the file holds {len(frame):,} transactions")
    offset = skip
    if start is not None:
        try:
            at = pd.Timestamp(start)
        except ValueError:
            raise ConfigError(f"--start must be an ISO 8601 time (e.g. 2024-01-31T12:00), got {start!r}") from None
        at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
        last = frame["ts"].iloc[-1]
        if at > last:
            raise ConfigError(f"--start {at.isoformat()} is after the last transaction of the file ({last})")
        offset = max(offset, int(frame["ts"].searchsorted(at, side="left")))
    return offset


class ReplayWorld:
    """A finished, sorted canonical frame that quacks like a :class:`~fraudstream.worlds.base.World`
    for the stream feed (``name``, ``seed``, ``blocks()``, ``generate(rows=)``), from row
    ``offset`` on."""

    name = "replay"
    seed = 0

    def __init__(
        self, frame: pd.DataFrame, *, block_rows: int = 50_000, source: str = "file", offset: int = 0
    ) -> None:
        self.frame = sort_by_event_time(frame)
        self.block_rows = block_rows
        self.source = source
        self.offset = offset
        """The first row streamed (rows before it are skipped)."""

    def blocks(self) -> Iterator[pd.DataFrame]:
        for start in range(self.offset, len(self.frame), self.block_rows):
            yield self.frame.iloc[start : start + self.block_rows]

    def generate(self, rows: int | None = None, days: float | None = None) -> Iterator[pd.DataFrame]:
        end = len(self.frame) if rows is None else min(len(self.frame), self.offset + rows)
        for start in range(self.offset, end, self.block_rows):
            yield self.frame.iloc[start : min(start + self.block_rows, end)]
