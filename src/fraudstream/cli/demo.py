"""``fraudstream demo``: the whole classroom stream in one command, no server to start.

The interim demo (later issues add detection and the dashboard): an in-process
:class:`~fraudstream.stream.server.StreamServer` streams the ``classroom`` world (simulated data)
on a free loopback port, and the live view of ``fraudstream watch`` reads it over real TCP,
fraud highlighted. ``--duration`` stops it (for tests and CI); Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import click

from fraudstream.cli.watch import run_watch
from fraudstream.errors import TransportError
from fraudstream.stream.connection import Reconnect
from fraudstream.stream.server import StreamServer

__all__ = ["BackgroundServer", "demo", "make_demo_server"]


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


def make_demo_server(rate: float, seed: int | None) -> StreamServer:
    """The classroom world at ``rate`` transactions/s on a free loopback port, labels inline."""
    from fraudstream.cli.serve import ServeOptions, make_server

    server = make_server(ServeOptions(world="classroom", host="127.0.0.1", port=0, rate=rate, seed=seed))
    server.http_port = None  # the demo needs only the TCP stream
    return server


@click.command(name="demo")
@click.option("--duration", "duration_s", type=click.FloatRange(min=0, min_open=True),
              help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--rate", default=20.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Transactions per second.")
@click.option("--seed", type=int, help="Random seed of the simulated classroom (default: a new one).")
@click.option("--rows", default=15, show_default=True, type=click.IntRange(1, 200),
              help="Transactions shown in the table.")
def demo(duration_s: float | None, rate: float, seed: int | None, rows: int) -> None:
    """Stream the simulated classroom world and watch it live, fraud in red (no server needed).

    \b
    Examples:
      fraudstream demo                  # until Ctrl-C
      fraudstream demo --duration 10    # ten seconds, then a summary
    """
    try:
        with BackgroundServer(make_demo_server(rate, seed)) as background:
            state = run_watch("127.0.0.1", background.port, "classroom", duration_s=duration_s, rows=rows,
                              title="fraudstream demo", reconnect=Reconnect(attempts=0))
    except KeyboardInterrupt:  # Ctrl-C outside the live view (while starting or stopping)
        click.echo("demo stopped", err=True)
        return
    click.echo(f"demo: {state.count:,} transactions of the simulated classroom world, "
               f"{state.frauds} fraud (labels from the simulator)", err=True)
