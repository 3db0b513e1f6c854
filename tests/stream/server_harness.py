"""Test harness for the stream server: a scripted world and a server running in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.stream.eventloop import run as run_loop
from fraudstream.stream.feed import Feed, LabelPolicy
from fraudstream.stream.protocol import welcome_message
from fraudstream.stream.server import StreamServer
from fraudstream.worlds.base import World
from fraudstream.worlds.clock import Pacer

WELCOME = welcome_message(datetime(2024, 1, 1, tzinfo=UTC), totalUsers=25, profileTypes=["student"])


def scripted_frame(first_id: int, n: int) -> pd.DataFrame:
    """Classroom-shaped canonical rows with ids first_id..; every 7th id is fraud."""
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    fraud = ids % 7 == 0
    return pd.DataFrame({
        "tx_id": ids,
        "ts": pd.Timestamp("2024-01-06T09:00", tz="UTC") + pd.to_timedelta(ids * 7, unit="s"),
        "customer_id": (ids - 1) % 25 + 1,
        "merchant_id": [f"M{100 + i % 800}" for i in ids],
        "amount": np.round(5 + (ids % 1000) * 0.37, 2),
        "category": ["C"] * n,
        "item_id": [f"C{1000 + i % 9000}" for i in ids],
        "is_weekend": np.ones(n, dtype=bool),
        "hour_of_day": np.full(n, 9),
        "days_since_last_transaction": (ids % 3).astype(np.int64),
        "user_profile": ["student"] * n,
        "is_fraud": fraud,
        "fraud_pattern": np.where(fraud, "sudden_spike", None),
    })


class ScriptedWorld(World):
    """An endless, deterministic classroom-shaped stream (ids 1, 2, 3, ...)."""

    name = "classroom"
    summary = "test stream"

    def blocks(self) -> Iterator[pd.DataFrame]:
        first = 1
        while True:
            yield scripted_frame(first, 500)
            first += 500


class RunningServer:
    """A :class:`StreamServer` serving in a background thread with its own loop."""

    def __init__(self, server: StreamServer, loop: str = "asyncio") -> None:
        self.server = server
        self.loop_name = loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            task = asyncio.create_task(self.server.serve(self._stop))
            ready = asyncio.create_task(self.server.ready.wait())
            await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
            self._ready.set()
            ready.cancel()
            await task

        try:
            run_loop(main(), loop=self.loop_name)
        except BaseException as exc:
            self.error = exc
        finally:
            self._ready.set()

    def __enter__(self) -> RunningServer:
        self._thread.start()
        self._ready.wait(10)
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive(), "server thread did not stop"
        if self.error is not None:
            raise self.error

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's loop and return its result."""
        assert self._loop is not None
        async def wrapper() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(5)


def make_server(*, rate: float | None = 200.0, labels: str = "inline", max_buffer_bytes: int = 4 << 20,
                http: bool = False, world: World | None = None, retain_bytes: int = 0) -> StreamServer:
    pacer = Pacer(rate=rate) if rate else Pacer()
    feed = Feed(world or ScriptedWorld(seed=0), pacer, labels=LabelPolicy.parse(labels), chunk_rows=500,
                max_batch=200)
    return StreamServer(feed, host="127.0.0.1", port=0, http_port=0 if http else None,
                        welcome=lambda: WELCOME, max_buffer_bytes=max_buffer_bytes, retain_bytes=retain_bytes)


@contextlib.contextmanager
def running(*, loop: str = "asyncio", **kwargs: Any) -> Iterator[RunningServer]:
    """A server from :func:`make_server` on the event loop ``loop`` (``asyncio`` or ``uvloop``)."""
    with RunningServer(make_server(**kwargs), loop) as running_server:
        yield running_server


class LineReader:
    """A blocking loopback client that reads whole lines (bounded by a timeout)."""

    def __init__(self, port: int, *, timeout_s: float = 10.0, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout_s)
        self.sock.connect(("127.0.0.1", port))
        self.buffer = b""

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line + b"\n"

    def lines(self, n: int) -> list[bytes]:
        return [self.line() for _ in range(n)]

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()


