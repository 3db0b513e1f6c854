"""Iterate a stream server's transactions: ``for tx in fraudstream.stream("localhost:5555")``.

:func:`stream` returns a :class:`TransactionStream`, an iterable (and context manager) over the
transactions of one server, in order, as dicts exactly as they arrive (``canonical=True``: as
canonical records; ``batches=N``: as canonical DataFrames of up to N rows, flushed at least every
``max_wait_s`` seconds). The welcome line is kept in ``.welcome``, never yielded. With
``labels=True`` the client subscribes to delayed labels and label messages (dicts with
``"type": "label"``) are yielded between the transactions, as they arrive.

A lost connection is re-established following a :class:`~fraudstream.stream.connection.Reconnect`
policy (logged); a refused first connection raises :class:`~fraudstream.errors.TransportError`
at once with one clear line. What the server sent meanwhile is lost, unless the stream was
opened with ``resume=True``: then it asks ``fraudstream serve`` for offsets
(:mod:`fraudstream.stream.offsets`) and resumes right after the last transaction read.

:class:`MessageReader` is the loop underneath (also used by ``DataStreamClient``): blocking
reads with a timeout, so a stop request is seen within ``read_timeout_s``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from fraudstream.errors import ConfigError, TransportError
from fraudstream.stream.connection import Reconnect, Reconnection, open_socket, parse_address
from fraudstream.stream.framing import LineSplitter
from fraudstream.stream.messages import frame_of, message_kind, to_canonical, to_canonical_label
from fraudstream.stream.offsets import StreamOffsets
from fraudstream.stream.protocol import SUBSCRIBE_LABELS

__all__ = ["MessageDecoder", "MessageReader", "MessageShaper", "TransactionStream", "parse_message", "stream"]

log = logging.getLogger(__name__)

RECV_BYTES = 1 << 16


def parse_message(line: bytes) -> dict[str, Any] | None:
    """The JSON object on one line, or ``None`` (logged) for a blank or broken line."""
    if not line.strip():
        return None
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        log.warning("skipping a line that is not JSON (%s): %r", error, line[:80])
        return None
    if not isinstance(message, dict):
        log.warning("skipping a JSON line that is not an object: %r", line[:80])
        return None
    return message


class MessageDecoder:
    """The messages in the bytes of one connection, whatever the chunk boundaries; blank and
    broken lines are skipped (logged). Shared by the sync and async readers.

    >>> decoder = MessageDecoder()
    >>> decoder.feed(b'{"a": 1}\\n\\n{"b"'), decoder.feed(b': 2}\\n')
    ([{'a': 1}], [{'b': 2}])
    """

    def __init__(self) -> None:
        self._lines = LineSplitter()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """The messages completed by ``data``, in order."""
        return [message for line in self._lines.feed(data) if (message := parse_message(line)) is not None]


class MessageReader:
    """Reads every message (welcome included) of one server, reconnecting after a lost connection.

    ``messages()`` yields dicts; with ``ticks=True`` it also yields ``None`` whenever a read
    times out, so callers can act on time (flush a batch) while the stream is quiet.
    """

    def __init__(self, host: str, port: int, *, labels: bool = False, reconnect: Reconnect | None = None,
                 read_timeout_s: float = 0.5, connect_timeout_s: float = 5.0,
                 should_stop: Callable[[], bool] | None = None, resume: bool = False,
                 resume_after: int | None = None) -> None:
        if not read_timeout_s > 0:
            raise ConfigError(f"read_timeout_s must be > 0, got {read_timeout_s}")
        self.host = host
        self.port = port
        self.labels = labels
        self.offsets = StreamOffsets(self.address, welcome=True) if resume or resume_after is not None else None
        """With ``resume``: the stream's offsets (:mod:`fraudstream.stream.offsets`), so that a
        lost connection resumes right after the last transaction read (within the server's
        retention; a gap is logged and counted in ``offsets.lost_lines``)."""
        self.resume_after = resume_after
        self._position: int | None = None
        self.reconnect = reconnect if reconnect is not None else Reconnect()
        self.read_timeout_s = read_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._should_stop = should_stop
        self._stop = threading.Event()
        self.connections = 0
        """Successful connections so far (1 + reconnects)."""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        """Ask the reader to stop; it does within ``read_timeout_s``."""
        self._stop.set()

    def stopped(self) -> bool:
        return self._stop.is_set() or (self._should_stop is not None and self._should_stop())

    def _open(self) -> socket.socket:
        sock = open_socket(self.host, self.port, connect_timeout_s=self.connect_timeout_s,
                           read_timeout_s=self.read_timeout_s)
        try:
            if self.offsets is not None:
                sock.sendall(self.offsets.subscribe(labels=self.labels, after=self.resume_after))
            elif self.labels:
                sock.sendall(SUBSCRIBE_LABELS)
        except OSError:
            sock.close()
            raise
        self.connections += 1
        return sock

    def messages(self, *, ticks: bool = False) -> Iterator[dict[str, Any] | None]:
        sock: socket.socket | None = self._open()
        log.info("connected to %s", self.address)
        while sock is not None:
            try:
                yield from self._read(sock, ticks)
            finally:
                sock.close()
            if self.stopped():
                return
            sock = self._reopen()

    @property
    def position(self) -> int | None:
        """With ``resume``: the offset of the last transaction read, to give as ``resume_after``
        to a later reader of the same server run (``None``: none yet, or no offsets)."""
        return self._position

    def _read(self, sock: socket.socket, ticks: bool) -> Iterator[dict[str, Any] | None]:
        offsets, lines = self.offsets, LineSplitter()
        while not self.stopped():
            ended = False
            left = None if offsets is None else offsets.answer_wait_s()
            if offsets is not None and left is not None and left <= 0:
                numbered = offsets.no_answer()
            else:
                sock.settimeout(self.read_timeout_s if left is None else max(min(left, self.read_timeout_s), 0.001))
                try:
                    data = sock.recv(RECV_BYTES)
                except TimeoutError:
                    if ticks:
                        yield None
                    continue
                except OSError as error:
                    log.warning("connection to %s lost: %s", self.address, error)
                    data = b""
                if not data:
                    log.info("connection to %s ended", self.address)
                    numbered, ended = [] if offsets is None else offsets.closed(), True
                elif offsets is None:
                    numbered = [(line, None) for line in lines.feed(data)]
                else:
                    numbered = offsets.number(lines.feed(data))
            for line, offset in numbered:
                if (message := parse_message(line)) is not None:
                    self._position = offset
                    yield message
            if ended:
                return

    def _reopen(self) -> socket.socket | None:
        """A new connection following the reconnect policy; ``None`` if it says never or we stop."""
        tries = Reconnection(self.reconnect, self.address)
        for delay in tries:
            if self._stop.wait(delay) or self.stopped():
                return None
            try:
                sock = self._open()
            except TransportError as error:
                tries.failed(error)
                continue
            tries.succeeded()
            return sock
        tries.give_up()
        return None


class MessageShaper:
    """Turns raw messages into what an iterator yields: transactions (raw, canonical or batched)
    and label messages, remembering the welcome. Shared by the sync and async streams."""

    def __init__(self, *, canonical: bool = False, batches: int | None = None,
                 max_wait_s: float = 1.0) -> None:
        if batches is not None and batches < 1:
            raise ConfigError(f"batches must be >= 1 rows, got {batches}")
        self.canonical = canonical or batches is not None
        self.batches = batches
        self.max_wait_s = max_wait_s
        self.welcome: dict[str, Any] | None = None
        self._pending: list[dict[str, Any]] = []
        self._since = time.monotonic()

    def push(self, message: dict[str, Any]) -> list[Any]:
        kind = message_kind(message)
        if kind == "welcome":
            self.welcome = message
            return []
        if kind == "label":
            return [to_canonical_label(message) if self.canonical else message]
        if kind == "other":
            log.debug("ignoring message of type %r", message.get("type"))
            return []
        if self.batches is None:
            return [to_canonical(message) if self.canonical else message]
        if not self._pending:
            self._since = time.monotonic()
        self._pending.append(message)
        return self.flush() if len(self._pending) >= self.batches else []

    def tick(self) -> list[Any]:
        """Flush a partial batch that has waited ``max_wait_s``."""
        if self._pending and time.monotonic() - self._since >= self.max_wait_s:
            return self.flush()
        return []

    def flush(self) -> list[Any]:
        if not self._pending:
            return []
        frame = frame_of(self._pending)
        self._pending = []
        return [frame]


class TransactionStream:
    """The transactions of one stream server; iterate it once, close it (or use ``with``)."""

    def __init__(self, address: str | tuple[str, int] = "localhost:5555", *, labels: bool = False,
                 canonical: bool = False, batches: int | None = None, max_wait_s: float = 1.0,
                 reconnect: Reconnect | None = None, read_timeout_s: float = 0.5, resume: bool = False,
                 resume_after: int | None = None) -> None:
        host, port = parse_address(address)
        self._shaper = MessageShaper(canonical=canonical, batches=batches, max_wait_s=max_wait_s)
        self.reader = MessageReader(host, port, labels=labels, reconnect=reconnect,
                                    read_timeout_s=read_timeout_s, resume=resume, resume_after=resume_after)
        self._messages: Iterator[dict[str, Any] | None] | None = None

    @property
    def welcome(self) -> dict[str, Any] | None:
        """The server's welcome message (after the first item, or after ``open()``)."""
        return self._shaper.welcome

    def open(self) -> TransactionStream:
        """Connect now (``TransportError`` if there is no server) rather than on first iteration."""
        if self._messages is None:
            self._messages = self.reader.messages(ticks=True)
            first = next(self._messages, None)
            self._first = first
        return self

    def __iter__(self) -> Iterator[Any]:
        self.open()
        assert self._messages is not None
        shaper = self._shaper
        first, self._first = self._first, None
        if first is not None:
            yield from shaper.push(first)
        for message in self._messages:
            if message is None:
                yield from shaper.tick()
            else:
                yield from shaper.push(message)
        yield from shaper.flush()

    def close(self) -> None:
        self.reader.stop()
        if self._messages is not None:
            close = getattr(self._messages, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> TransactionStream:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    _first: dict[str, Any] | None = None


def stream(address: str | tuple[str, int] = "localhost:5555", *, labels: bool = False,
           canonical: bool = False, batches: int | None = None, max_wait_s: float = 1.0,
           reconnect: Reconnect | None = None, read_timeout_s: float = 0.5, resume: bool = False,
           resume_after: int | None = None) -> TransactionStream:
    """The transactions of the server at ``address`` (``"host:port"``), in order.

    ``canonical=True`` yields canonical record dicts; ``batches=N`` canonical DataFrames of up to
    N rows (at least every ``max_wait_s`` s while transactions arrive); ``labels=True``
    subscribes to delayed label messages, yielded as dicts with ``"type": "label"``.
    ``resume=True`` asks ``fraudstream serve`` for offsets: a lost connection then resumes right
    after the last transaction read, nothing missed or doubled within the server's retention
    (``.reader.position`` is that offset; ``resume_after=N`` starts after offset N, e.g. one
    saved by an earlier run; ``.reader.offsets.lost_lines`` counts a gap).
    """
    return TransactionStream(address, labels=labels, canonical=canonical, batches=batches,
                             max_wait_s=max_wait_s, reconnect=reconnect, read_timeout_s=read_timeout_s,
                             resume=resume, resume_after=resume_after)
