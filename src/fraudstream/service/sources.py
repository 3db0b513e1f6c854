"""Sources of the detection service: TCP stream, file replay, NDJSON on stdin.

A :class:`Source` is a context manager whose :meth:`~Source.batches` yields
:class:`MicroBatch` objects: canonical transactions, the label messages and dead letters of the
same lines, and the source **position** after the batch (JSON-able, stored as the checkpoint).
Batches are cut at ``batch_size`` rows or ``max_wait_s`` after their first line
(:class:`~fraudstream.service.batcher.Batcher`); while nothing arrives the source blocks on its
input with a timeout and yields an empty batch about every ``idle_s`` so the runtime can do its
housekeeping. Nothing busy-waits.

=====================  =============================  ======================  ==========
source                 ``--source``                   position                replayable
=====================  =============================  ======================  ==========
:class:`TcpSource`     ``tcp://host:port``            stream offset           within retention
:class:`LineFileSource`  ``file:PATH.ndjson``         byte offset             yes
:class:`DatasetSource`  ``file:PATH.csv|.parquet``    rows (event-time order) yes
:class:`StdinSource`   ``-``                          lines read              re-pipe
=====================  =============================  ======================  ==========

A replayable source given a ``start`` position continues right after it. A live TCP stream
replays what the server still retains (``fraudstream serve --retain-mb``, 64 MiB by default):
after a restart, or a reconnect, it resumes after its position; offsets the server no longer
holds are counted in :attr:`Source.lost_lines` and logged, never skipped silently.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.ndjson"
>>> _ = path.write_text('{"tx_id": 1, "ts": "2024-01-01T00:00:00Z", "customer_id": 7, "merchant_id": "M", '
...                     '"amount": 1.0}\\n' * 3)
>>> with LineFileSource(path, batch_size=2) as source:
...     [(len(b.frame), b.position) for b in source.batches()]
[(2, 192), (1, 288)]
"""

from __future__ import annotations

import itertools
import logging
import os
import select
import socket
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from fraudstream.errors import ConfigError, TransportError
from fraudstream.service.batcher import Batcher
from fraudstream.service.deadletter import DeadLetter
from fraudstream.service.decode import Decoded, decode_lines, empty_labels
from fraudstream.stream.connection import Reconnect, open_socket, parse_address
from fraudstream.stream.framing import LineSplitter
from fraudstream.stream.offsets import StreamOffsets
from fraudstream.stream.replay import read_dataset
from fraudstream.worlds.clock import Pacer

__all__ = [
    "DatasetSource",
    "LineFileSource",
    "MicroBatch",
    "Source",
    "StdinSource",
    "TcpSource",
    "open_source",
]

log = logging.getLogger(__name__)

_LINE_SUFFIXES = (".ndjson", ".jsonl", ".json", ".log", ".txt")


@dataclass
class MicroBatch:
    """One micro-batch: transactions, labels and dead letters, and the position after it."""

    frame: pd.DataFrame
    labels: pd.DataFrame = field(default_factory=empty_labels)
    dead: list[DeadLetter] = field(default_factory=list)
    position: Any = None
    received_at: float = 0.0
    """Wall-clock time (``time.time()``) the first line of the batch arrived."""

    def __len__(self) -> int:
        return len(self.frame)


class Source(ABC):
    """Iterates micro-batches (see the module docstring). Use as a context manager."""

    replayable: bool = False

    def __init__(
        self, *, batch_size: int = 1000, max_wait_s: float = 0.025, idle_s: float = 0.5, start: Any = None
    ) -> None:
        self.batcher: Batcher[tuple[bytes, Any]] = Batcher(batch_size, max_wait_s)
        self.idle_s = idle_s
        self.start = start
        self.position: Any = start
        self.cut_at: Any = None
        """A position at which a batch must end (the checkpoint being replayed up to after a restart)."""
        self.stream_id: str | None = None
        """The run of a live stream its positions count in (``None``: positions that mean the
        same whenever read, as a file's)."""
        self.lost_lines = 0
        """Transactions the source knows it missed (a TCP stream's gap beyond the server's retention)."""
        self.decode_s = 0.0
        """Seconds spent decoding lines into frames."""
        self.decode_cpu_s = 0.0
        """CPU seconds of this thread spent decoding (unlike ``decode_s``, not inflated by a
        busy machine)."""
        self._stop = threading.Event()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stop(self) -> None:
        """Ask :meth:`batches` to end soon (from another thread or a signal handler)."""
        self._stop.set()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the input."""

    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def batches(self) -> Iterator[MicroBatch]: ...


class _LineSource(Source):
    """A source of NDJSON lines: subclasses implement ``_read(timeout)``."""

    @abstractmethod
    def _read(self, timeout: float) -> list[tuple[bytes, Any]] | None:
        """Lines with the position after each; ``[]`` on timeout; ``None`` at the end."""

    def batches(self) -> Iterator[MicroBatch]:
        batcher = self.batcher
        started = 0.0
        while not self._stop.is_set():
            left = batcher.time_left()
            lines = self._read(self.idle_s if left is None else left)
            if lines is None:
                break
            if lines and not len(batcher):
                started = time.time()
            if self.cut_at is not None and lines:
                cut = next((i for i, (_, at) in enumerate(lines) if at == self.cut_at), None)
                if cut is not None:
                    self.cut_at = None
                    for full in batcher.add(lines[: cut + 1]):
                        yield self._micro_batch(full, started)
                    if len(batcher):
                        yield self._micro_batch(batcher.cut(), started)
                    lines = lines[cut + 1 :]
                    started = time.time()
            for full in batcher.add(lines):
                yield self._micro_batch(full, started)
                started = time.time()
            if batcher.expired():
                yield self._micro_batch(batcher.cut(), started)
            elif not lines and not len(batcher):
                yield MicroBatch(pd.DataFrame(), position=self.position, received_at=time.time())
        if len(batcher):
            yield self._micro_batch(batcher.cut(), started)

    def _micro_batch(self, items: list[tuple[bytes, Any]], received_at: float) -> MicroBatch:
        started, cpu = time.perf_counter(), time.thread_time()
        lines = [line for line, _ in items]
        positions = [position for _, position in items]
        decoded: Decoded = decode_lines(lines, positions)
        self.position = positions[-1]
        self.decode_s += time.perf_counter() - started
        self.decode_cpu_s += time.thread_time() - cpu
        return MicroBatch(decoded.frame, decoded.labels, decoded.dead, self.position, received_at)


class TcpSource(_LineSource):
    """A stream server (``fraudstream serve``), subscribed to delayed labels; reconnects after a
    lost connection following ``reconnect``.

    **Position**: the stream offset of the last transaction line read (a label line carries the
    offset of the transaction before it), see :mod:`fraudstream.stream.protocol`. On every
    connection the source asks for offsets: from where it joins, or — after a reconnect (a lost
    connection, or a drop for reading too slowly), or when given a ``start`` position (the
    checkpoint's snapshot after a restart; without a snapshot, the checkpoint itself, ``cut_at``)
    — to resume right after its position: nothing is lost or read twice within the server's
    retention. The offsets count in one run of the server (:attr:`stream_id`, from its answer and
    kept in the checkpoint): a restarted server answers ``reset`` to offsets of its earlier run,
    which stops a restarted detector with a clear error instead of reading the wrong lines.
    Offsets the server no longer holds are a *gap*: logged as a warning with the
    count and added to :attr:`lost_lines` (label lines to :attr:`lost_labels`). A server that
    does not retain (``--retain-mb 0``, an older server, a plain NDJSON server: no answer within
    ``answer_timeout_s``) gives no positions (``None``); what it sends while the source is away
    is lost, as the log warns.
    """

    replayable = True

    def __init__(
        self,
        address: str,
        *,
        labels: bool = True,
        reconnect: Reconnect | None = None,
        answer_timeout_s: float = 1.0,
        **options: Any,
    ) -> None:
        self.host, self.port = parse_address(address)
        self.offsets = StreamOffsets(self.describe(), answer_timeout_s=answer_timeout_s)
        super().__init__(**options)
        self.labels = labels
        self.reconnect = reconnect if reconnect is not None else Reconnect(attempts=20, max_s=2.0)
        self._sock: socket.socket | None = None
        self._splitter = LineSplitter()

    @property
    def stream_id(self) -> str | None:  # type: ignore[override]
        """The server's run the offsets count in (:class:`~fraudstream.stream.offsets.StreamOffsets`)."""
        return self.offsets.stream_id

    @stream_id.setter
    def stream_id(self, value: str | None) -> None:
        self.offsets.stream_id = value

    @property
    def lost_lines(self) -> int:  # type: ignore[override]
        return self.offsets.lost_lines

    @lost_lines.setter
    def lost_lines(self, value: int) -> None:
        self.offsets.lost_lines = value

    @property
    def resumes(self) -> int:
        return self.offsets.resumes

    @property
    def lost_labels(self) -> int:
        return self.offsets.lost_labels

    def describe(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def __enter__(self) -> TcpSource:
        self._connect()
        return self

    def _connect(self) -> None:
        sock = open_socket(self.host, self.port, read_timeout_s=self.idle_s)
        first = self.start if self.start is not None else self.cut_at
        sock.sendall(self.offsets.subscribe(labels=self.labels, after=None if first is None else int(first)))
        self._sock = sock
        self._splitter.reset()
        after = self.offsets.asked_after
        log.info("connected to %s%s", self.describe(), "" if after is None else f", resuming after offset {after}")

    def _reconnect(self) -> bool:
        self.close()
        for attempt, delay in enumerate(self.reconnect.delays(), start=1):
            if self._stop.wait(delay):
                return False
            try:
                self._connect()
                log.warning("reconnected to %s after %d attempt(s)", self.describe(), attempt)
                return True
            except TransportError as error:
                log.warning("reconnect attempt %d to %s failed: %s", attempt, self.describe(), error)
        return False

    def _read(self, timeout: float) -> list[tuple[bytes, Any]] | None:
        if self._sock is None:
            self._connect()
        assert self._sock is not None
        left = self.offsets.answer_wait_s()
        if left is not None:
            if left <= 0:
                return self.offsets.no_answer()
            timeout = min(timeout, left)
        self._sock.settimeout(max(timeout, 0.001))
        try:
            data = self._sock.recv(1 << 18)
        except TimeoutError:
            return []
        except OSError as error:
            log.warning("connection to %s lost: %s", self.describe(), error)
            data = b""
        if not data:
            log.warning("stream %s closed", self.describe())
            held = self.offsets.closed()  # a server without offsets that sent all and closed
            if held:
                return held
            return [] if self._reconnect() else None
        return self.offsets.number(self._splitter.feed(data))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class LineFileSource(_LineSource):
    """An NDJSON file of stream lines (e.g. a capture of ``fraudstream serve``), read from byte
    offset ``start``; ``rate`` paces it (transactions/s), else as fast as possible."""

    replayable = True

    def __init__(
        self, path: str | os.PathLike[str], *, rate: float | None = None, follow: bool = False, **options: Any
    ) -> None:
        super().__init__(**options)
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"--source file:{self.path}: no such file")
        self.follow = follow
        self.pacer = Pacer(rate=rate) if rate else None
        self._file: IO[bytes] | None = None
        self._sent = 0
        self._t0 = 0.0

    def describe(self) -> str:
        return f"file:{self.path}"

    def _read(self, timeout: float) -> list[tuple[bytes, Any]] | None:
        if self._file is None:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed in close()
            offset = int(self.start or 0)
            self._file.seek(offset)
            self.position = offset
            self._t0 = time.monotonic()
        want = 512
        if self.pacer is not None:  # release lines as they fall due, sleeping until the next one
            assert self.pacer.rate is not None
            due = self._t0 + self._sent / self.pacer.rate
            now = time.monotonic()
            if due > now:
                if self._stop.wait(min(due - now, timeout)):
                    return None
                if time.monotonic() < due:
                    return []
            want = max(1, min(512, int((time.monotonic() - self._t0) * self.pacer.rate) - self._sent + 1))
        out: list[tuple[bytes, Any]] = []
        offset = self._file.tell()
        for _ in range(want):
            line = self._file.readline()
            if not line:
                break
            if not line.endswith(b"\n"):  # a partial last line: wait for the rest
                self._file.seek(offset)
                break
            offset += len(line)
            out.append((line[:-1], offset))
        self._sent += len(out)
        if not out:
            if self.follow:
                return [] if not self._stop.wait(min(timeout, 0.2)) else None
            return None
        return out

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class StdinSource(_LineSource):
    """NDJSON lines on standard input. Position: lines read; started with a position, that many
    lines are skipped (to resume when the same input is piped again)."""

    def __init__(self, stream: IO[bytes] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.stream = stream if stream is not None else sys.stdin.buffer
        self._count = 0
        self._eof = False

    def describe(self) -> str:
        return "stdin"

    def _read(self, timeout: float) -> list[tuple[bytes, Any]] | None:
        if self._eof:
            return None
        try:
            ready, _, _ = select.select([self.stream], [], [], timeout)
        except (ValueError, OSError, TypeError):  # not selectable (e.g. BytesIO): plain blocking reads
            ready = [self.stream]
        if not ready:
            return []
        chunk = self.stream.readline()
        if not chunk:
            self._eof = True
            return None
        lines = [chunk]
        skip = int(self.start or 0)
        out = []
        for line in lines:
            self._count += 1
            if self._count > skip:
                out.append((line.rstrip(b"\n"), self._count))
        return out


class DatasetSource(Source):
    """A dataset file (CSV, Parquet; any adapter's layout) replayed in event-time order from row
    ``start``; ``rate`` paces it (transactions/s). Labels in the file stay inline."""

    replayable = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        schema: str | None = None,
        rate: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.path = Path(path)
        self.schema = schema
        self.rate = rate

    def describe(self) -> str:
        return f"file:{self.path}"

    def batches(self) -> Iterator[MicroBatch]:
        frame = read_dataset(self.path, self.schema)
        start = int(self.start or 0)
        size = self.batcher.max_rows
        bounds = [*range(start, len(frame), size), len(frame)]
        if self.cut_at is not None and start < int(self.cut_at) < len(frame):
            bounds = sorted(set(bounds) | {int(self.cut_at)})
        t0 = time.monotonic()
        for begin, end in itertools.pairwise(bounds):
            if self.rate:
                delay = t0 + (end - start) / self.rate - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
            if self._stop.is_set():
                return
            self.position = end
            yield MicroBatch(
                frame.iloc[begin:end].reset_index(drop=True), position=end, received_at=time.time()
            )


def open_source(
    spec: str, *, schema: str | None = None, rate: float | None = None, start: Any = None, **options: Any
) -> Source:
    """The source named by ``--source``: ``tcp://host:port``, ``file:PATH`` or ``-`` (stdin)."""
    if spec == "-":
        return StdinSource(start=start, **options)
    if spec.startswith("tcp://"):
        return TcpSource(spec[len("tcp://") :], **options)
    if spec.startswith("file:"):
        path = Path(spec[len("file:") :])
        if path.suffix.lower() in _LINE_SUFFIXES:
            return LineFileSource(path, rate=rate, start=start, **options)
        return DatasetSource(path, schema=schema, rate=rate, start=start, **options)
    raise ConfigError(f"--source must be tcp://host:port, file:PATH or - (stdin), got {spec!r}")
