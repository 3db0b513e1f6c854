"""A tiny real stream server for tests and for trying a client offline.

:class:`LineServer` listens on a loopback port (a free one by default) and sends every client
the welcome line, then the given lines, at a fixed interval — real TCP, real protocol lines, in
a background thread with its own asyncio loop. Label lines (``"type": "label"``) go only to
clients that sent the subscription line, like ``fraudstream serve``. What clients send is kept
in ``received``. ``stop()`` and ``start()`` again on the same port simulate a server restart.

>>> from fraudstream.stream import reader
>>> lines = [b'{"transactionID": 1, "userID": 3, "amount": 9.5, '
...          b'"timestamp": "2024-01-01T00:00:00", "itemID": "B1000"}']
>>> with LineServer(lines) as server:
...     with reader.stream(("127.0.0.1", server.port), reconnect=reader.Reconnect(attempts=0)) as txs:
...         [tx["amount"] for tx in txs]
[9.5]
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime

from fraudstream.stream.protocol import is_label_subscription, welcome_message

__all__ = ["LineServer", "free_port", "free_port_pair", "serve_subprocess", "wait_for_port"]


class LineServer:
    """Sends ``welcome`` + ``lines`` (``\\n`` added where missing) to each client, then closes
    the connection (``close_after=True``) or keeps it open, idle, until ``stop()``."""

    def __init__(self, lines: Sequence[bytes], *, welcome: bytes | None = None, host: str = "127.0.0.1",
                 port: int = 0, interval_s: float = 0.0, close_after: bool = True) -> None:
        self.lines = [line if line.endswith(b"\n") else line + b"\n" for line in lines]
        self.welcome = welcome if welcome is not None else welcome_message(datetime(2024, 1, 1))
        self.host = host
        self.port = port
        self.interval_s = interval_s
        self.close_after = close_after
        self.received: list[bytes] = []
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._stopping: asyncio.Event | None = None

    def start(self) -> LineServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(ready))
            except BaseException as error:  # reported to start()
                errors.append(error)
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="LineServer", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    async def _serve(self, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        await self._stopping.wait()
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        subscribed = asyncio.Event()

        async def listen() -> None:
            while line := await reader.readline():
                self.received.append(line)
                if is_label_subscription(line):
                    subscribed.set()

        listener = asyncio.ensure_future(listen())
        try:
            writer.write(self.welcome)
            await writer.drain()
            for line in self.lines:
                if self.interval_s:
                    await asyncio.sleep(self.interval_s)
                if b'"type": "label"' in line and not subscribed.is_set():
                    continue
                writer.write(line)
                await writer.drain()
            if not self.close_after:
                assert self._stopping is not None
                await self._stopping.wait()
        except (ConnectionError, OSError):
            pass
        finally:
            listener.cancel()
            self._writers.discard(writer)
            writer.close()

    def stop(self) -> None:
        """Close the listening socket and every connection (the port stays reusable)."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> LineServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A TCP port ``P`` such that ``P`` and ``P + 1`` were free a moment ago on ``host``
    (``fraudstream serve --port P`` listens for HTTP on ``P + 1`` by default)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind((host, 0))
            port = int(first.getsockname()[1])
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind((host, port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no pair of free ports on {host} in 50 tries")


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None, *, what: str = "server",
                  timeout_s: float = 30.0, host: str = "127.0.0.1") -> None:
    """Return once ``host:port`` accepts a TCP connection. :class:`RuntimeError` if ``process``
    exits first (with the end of its stderr, when that is a pipe) or after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process is not None and process.poll() is not None:
            err = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr is not None else ""
            raise RuntimeError(f"{what} exited with {process.returncode}: {err}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not listen on {port} within {timeout_s} s") from None
            time.sleep(0.05)


@contextlib.contextmanager
def serve_subprocess(
    *args: str, port: int | None = None, ready_s: float = 30.0
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Run ``fraudstream serve ARGS --host 127.0.0.1 --port P --http-port P2`` as a subprocess on
    free ports; yields ``(P, process)`` once the port accepts connections, then stops it (SIGINT)."""
    port = port or free_port()
    http_port = free_port()
    command = [sys.executable, "-m", "fraudstream", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--http-port", str(http_port), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, process, what="fraudstream serve", timeout_s=ready_s)
        yield port, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
