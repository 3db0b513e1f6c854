"""The feed: world -> chunks -> wire lines -> paced micro-batches of bytes.

A :class:`Feed` turns a world's endless blocks into :class:`Batch` objects ready to send: the
lines of every transaction that is due, joined into **one** ``bytes`` that the hub hands
unchanged to every client. Generation and encoding (the CPU-heavy part) run in a worker thread
one chunk ahead; the event loop only slices, joins and sleeps until the next row is due.

Wire lines per world (see :mod:`fraudstream.stream.protocol`):

- ``classroom``: seed 000's fraud-server lines (:func:`fraudstream.adapters.classroom.encode_lines`);
- ``basic``: seed 000's ``stream_server.py`` lines (``transactionID, userID, amount, timestamp,
  itemID``);
- any other world: compact canonical JSON (:func:`~fraudstream.stream.protocol.canonical_json_lines`).

>>> import pandas as pd
>>> frame = pd.DataFrame({"tx_id": [1], "ts": pd.to_datetime(["2024-01-01T09:00:00"], utc=True),
...                       "customer_id": [7], "merchant_id": ["unknown"], "amount": [12.5],
...                       "item_id": ["B1234"], "is_fraud": [False], "fraud_pattern": [None]})
>>> encode_basic_lines(frame)
[b'{"transactionID": 1, "userID": 7, "amount": 12.5, "timestamp": "2024-01-01T09:00:00", "itemID": "B1234"}\\n']
>>> LabelPolicy.parse("delayed:30")
LabelPolicy(mode='delayed', delay_s=30.0)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from fraudstream.adapters.classroom import encode_lines
from fraudstream.errors import ConfigError
from fraudstream.stream.protocol import canonical_json_lines, label_message
from fraudstream.worlds.base import World
from fraudstream.worlds.clock import Pacer

__all__ = [
    "CANONICAL_LABEL_COLUMNS",
    "Batch",
    "Encoder",
    "Feed",
    "LabelPolicy",
    "encode_basic_lines",
    "encoder_for",
]

CANONICAL_LABEL_COLUMNS: tuple[str, ...] = ("is_fraud", "fraud_pattern", "user_profile")
"""Columns removed from canonical lines when labels are hidden (``user_profile`` gives the
classroom's fraud-prone users away)."""

Encoder = Callable[[pd.DataFrame], list[bytes]]
"""Canonical frame -> one ``\\n``-terminated wire line per row."""


@dataclass(frozen=True)
class LabelPolicy:
    """How labels travel: ``inline`` in each line, ``hidden``, or ``delayed`` by ``delay_s``."""

    mode: Literal["inline", "hidden", "delayed"] = "inline"
    delay_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> LabelPolicy:
        """``inline``, ``hidden`` or ``delayed:SECONDS``."""
        mode, _, delay = text.partition(":")
        if mode in ("inline", "hidden") and not delay:
            return cls(mode)  # type: ignore[arg-type]
        if mode == "delayed":
            try:
                seconds = float(delay)
            except ValueError:
                seconds = -1.0
            if seconds >= 0:
                return cls("delayed", seconds)
        raise ConfigError(f"--labels must be inline, hidden or delayed:SECONDS (SECONDS >= 0), got {text!r}")

    @property
    def hides(self) -> bool:
        return self.mode != "inline"


def encode_basic_lines(frame: pd.DataFrame) -> list[bytes]:
    """Seed 000 ``stream_server.py`` lines: ``json.dumps`` of the five basic fields."""
    naive = frame["ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    stamps = np.datetime_as_string(naive, unit="s").tolist()
    dumps = json.dumps
    return [
        f'{{"transactionID": {tx}, "userID": {user}, "amount": {float(amount)!r}, '
        f'"timestamp": "{stamp}", "itemID": {dumps(item)}}}\n'.encode()
        for tx, user, amount, stamp, item in zip(
            frame["tx_id"].tolist(), frame["customer_id"].tolist(), frame["amount"].tolist(),
            stamps, frame["item_id"].tolist(), strict=True)
    ]


def encoder_for(world_name: str, labels: LabelPolicy) -> Encoder:
    """The line encoder of a world under a label policy."""
    if world_name == "classroom":
        mode = "hidden" if labels.hides else "inline"
        return lambda frame: encode_lines(frame, labels=mode)
    if world_name == "basic":
        return encode_basic_lines
    drop = CANONICAL_LABEL_COLUMNS if labels.hides else ()
    return lambda frame: canonical_json_lines(frame, drop=drop)


def _label_lines(frame: pd.DataFrame, *, classroom: bool) -> list[bytes]:
    n = len(frame)
    fraud = frame["is_fraud"].tolist() if "is_fraud" in frame.columns else [False] * n
    pattern = frame["fraud_pattern"].tolist() if "fraud_pattern" in frame.columns else [None] * n
    return [label_message(tx, bool(f), p, classroom=classroom)
            for tx, f, p in zip(frame["tx_id"].tolist(), fraud, pattern, strict=True)]


@dataclass(frozen=True)
class Batch:
    """Consecutive transactions released together: their lines joined once, sent to everyone."""

    data: bytes
    """The wire lines, each ending in ``\\n``."""
    count: int
    labels: bytes = b""
    """Label lines of the same transactions (``--labels delayed`` only)."""


@dataclass
class _Chunk:
    frame: pd.DataFrame
    lines: list[bytes]
    labels: list[bytes]


class Feed:
    """Paced, encoded micro-batches of a world's stream.

    ``chunk_rows`` rows are generated and encoded per step in a worker thread (one step ahead);
    with ``rate`` pacing a step is at most about one second of the stream (at least 256 rows),
    so at low rates the worker never holds the GIL long enough to delay a batch noticeably.
    A :class:`Batch` holds at most ``max_batch`` rows, and batches are at least
    ``min_interval_s`` apart unless full (at high rates this bounds the writes per client to
    ~200/s; it adds at most that much latency; the server raises it with the load).
    ``rows`` limits the stream (``None``: forever, or until the world's natural end).
    """

    def __init__(self, world: World, pacer: Pacer, *, labels: LabelPolicy | None = None,
                 encoder: Encoder | None = None, rows: int | None = None,
                 chunk_rows: int = 4096, max_batch: int = 1000, min_interval_s: float = 0.005) -> None:
        if chunk_rows < 1 or max_batch < 1:
            raise ConfigError(f"chunk_rows and max_batch must be >= 1, got {chunk_rows}, {max_batch}")
        self.world = world
        self.pacer = pacer
        self.labels = labels or LabelPolicy()
        self.encoder = encoder or encoder_for(world.name, self.labels)
        self.rows = rows
        self.chunk_rows = chunk_rows
        self.max_batch = max_batch
        self.min_interval_s = min_interval_s
        self._last_release = float("-inf")
        self.generated = 0
        """Transactions released so far."""
        self.first_tx_id: object = None
        self.last_tx_id: object = None
        self.start_unix: float | None = None
        """Wall-clock (``time.time``) instant the first row was due: with ``rate`` pacing, row
        ``i`` (0-based) is due at ``start_unix + i / rate``."""

    @property
    def step_rows(self) -> int:
        """Rows generated and encoded per worker step (see the class docstring)."""
        rate = self.pacer.rate
        return self.chunk_rows if rate is None else min(self.chunk_rows, max(256, int(rate)))

    def _frames(self) -> Iterator[pd.DataFrame]:
        blocks = self.world.blocks() if self.rows is None else self.world.generate(rows=self.rows)
        step = self.step_rows
        for block in blocks:
            for start in range(0, len(block), step):
                yield block.iloc[start:start + step]

    def _chunks(self) -> Iterator[_Chunk]:
        classroom = self.world.name in ("classroom", "basic")
        delayed = self.labels.mode == "delayed"
        for frame in self._frames():
            labels = _label_lines(frame, classroom=classroom) if delayed else []
            yield _Chunk(frame, self.encoder(frame), labels)

    async def batches(self, *, clock: Callable[[], float] = time.monotonic) -> AsyncIterator[Batch]:
        """Yield batches as their rows fall due (never busy-waits; yields to the loop often)."""
        loop = asyncio.get_running_loop()
        chunks = self._chunks()
        sentinel = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fraudstream-feed") as pool:
            pending = loop.run_in_executor(pool, next, chunks, sentinel)
            try:
                while True:
                    chunk = await pending
                    if chunk is None:
                        return
                    pending = loop.run_in_executor(pool, next, chunks, sentinel)
                    async for batch in self._release(chunk, clock):
                        yield batch
            finally:
                pending.cancel()
                # let a running generation step finish before the pool shuts down
                await asyncio.wait([pending], timeout=5)

    async def _release(self, chunk: _Chunk, clock: Callable[[], float]) -> AsyncIterator[Batch]:
        now = clock()
        if self.start_unix is None:
            self.start_unix = time.time()
        due = self.pacer.due(chunk.frame, now)
        ids = chunk.frame["tx_id"]
        n = len(chunk.lines)
        start = 0
        while start < n:
            now = clock()
            ready = int(np.searchsorted(due, now, side="right"))
            if ready <= start:
                await asyncio.sleep(max(0.0, float(due[start] - now)))
                continue
            wait = self._last_release + self.min_interval_s - now
            if wait > 0 and ready - start < self.max_batch:
                await asyncio.sleep(wait)
                continue
            self._last_release = now
            stop = min(ready, start + self.max_batch)
            if self.first_tx_id is None:
                self.first_tx_id = _plain(ids.iloc[start])
            self.last_tx_id = _plain(ids.iloc[stop - 1])
            self.generated += stop - start
            yield Batch(b"".join(chunk.lines[start:stop]), stop - start,
                        b"".join(chunk.labels[start:stop]))
            start = stop
            await asyncio.sleep(0)


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
