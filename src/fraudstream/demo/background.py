"""The demo's servers, each in a thread of the one demo process: the stream server (its own event
loop) and the dashboard (uvicorn), both on the loopback interface.

The dashboard's port is bound here, before uvicorn starts, and the bound socket is handed to it:
when the preferred port is taken the demo falls back to a free one without a race
(:func:`bind_loopback`).

>>> sock, fell_back = bind_loopback(0)
>>> sock.getsockname()[1] > 0, fell_back
(True, False)
>>> taken, _ = bind_loopback(sock.getsockname()[1])  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
fraudstream.errors.TransportError: port ... is in use
>>> sock.close()
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fraudstream.errors import TransportError
from fraudstream.stream.server import StreamServer

__all__ = ["LOOPBACK", "BackgroundDashboard", "BackgroundServer", "bind_loopback"]

LOOPBACK = "127.0.0.1"


def bind_loopback(port: int, *, fall_back: bool = False) -> tuple[socket.socket, bool]:
    """A listening TCP socket on 127.0.0.1:``port`` (0: a free port) and whether it had to fall back
    to a free port because ``port`` was taken (only with ``fall_back``; else
    :class:`TransportError`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
        fell_back = False
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            sock.close()
            raise TransportError(f"cannot listen on {LOOPBACK}:{port}: {error.strerror or error}") from None
        if not fall_back:
            sock.close()
            raise TransportError(
                f"port {port} on {LOOPBACK} is in use: pass another --port (0: any free one)"
            ) from None
        sock.bind((LOOPBACK, 0))
        fell_back = True
    sock.listen(128)
    sock.set_inheritable(True)
    return sock, fell_back


@dataclass
class BackgroundServer:
    """A :class:`StreamServer` running in its own thread and event loop (``with`` it)."""

    server: StreamServer
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None
    _errors: list[BaseException] = field(default_factory=list)

    def __enter__(self) -> BackgroundServer:
        ready = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            task = asyncio.create_task(self.server.serve(self._stop))
            waiter = asyncio.create_task(self.server.ready.wait())
            await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
            ready.set()
            waiter.cancel()
            await task

        def run() -> None:
            try:
                asyncio.run(main())
            except BaseException as error:  # handed to the caller
                self._errors.append(error)
            finally:
                ready.set()

        self._thread = threading.Thread(target=run, name="fraudstream-demo-server", daemon=True)
        self._thread.start()
        ready.wait(30)
        if self._errors:
            raise self._errors[0]
        if not self.server.ready.is_set():
            raise TransportError("the demo's stream server did not start")
        return self

    @property
    def port(self) -> int:
        return self.server.port

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)


class BackgroundDashboard:
    """The dashboard app served by uvicorn from a thread on an already bound socket (``with`` it)."""

    def __init__(self, app: Any, sock: socket.socket, *, start_timeout_s: float = 60.0) -> None:
        import uvicorn

        self.sock = sock
        self.port = int(sock.getsockname()[1])
        self.url = f"http://{LOOPBACK}:{self.port}/"
        self.start_timeout_s = start_timeout_s
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="fraudstream-demo-dashboard", daemon=True)
        self._errors: list[BaseException] = []

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as error:  # handed to the caller
            self._errors.append(error)

    def start(self) -> BackgroundDashboard:
        """Start serving; returns at once (see :meth:`wait_started`)."""
        self._thread.start()
        return self

    def wait_started(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while not self.server.started:
            if self._errors or not self._thread.is_alive():
                why = self._errors[0] if self._errors else "its thread ended"
                raise TransportError(f"the dashboard did not start: {why}")
            if time.monotonic() > deadline:
                raise TransportError(f"the dashboard did not start within {self.start_timeout_s:g} s")
            time.sleep(0.02)

    def __enter__(self) -> BackgroundDashboard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(10)
        self.sock.close()
