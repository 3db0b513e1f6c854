"""``fraudstream demo``: simulator -> stream -> detection -> SQLite -> dashboard, in one command.

The full demo (:mod:`fraudstream.demo`): the classroom world (simulated data) streamed by an
in-process :class:`~fraudstream.stream.server.StreamServer` on a free loopback port, a
gradient-boosting model trained on the spot on the same world's history, the detection service
reading the stream over real TCP into a SQLite store, and the dashboard on 127.0.0.1 with a demo
user created for this run only. ``--terminal`` is the lighter classroom view: the stream and the
live table of ``fraudstream watch``, no model, no dashboard. ``--duration`` stops either (tests,
CI); Ctrl-C and SIGTERM stop cleanly.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

import click

from fraudstream.demo.background import BackgroundServer
from fraudstream.stream.server import StreamServer

__all__ = ["BackgroundServer", "demo", "make_demo_server"]

STATUS_EVERY_S = 5.0


def make_demo_server(rate: float, seed: int | None) -> StreamServer:
    """The classroom world at ``rate`` transactions/s on a free loopback port, labels inline."""
    from fraudstream.cli.serve import ServeOptions, make_server

    server = make_server(ServeOptions(world="classroom", host="127.0.0.1", port=0, rate=rate, seed=seed))
    server.http_port = None  # the demo needs only the TCP stream
    return server


@click.command(name="demo")
@click.option(
    "--duration",
    "duration_s",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after this many seconds of stream (default: until Ctrl-C).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    help="Transactions per second  [default: 100; 20 with --terminal]",
)
@click.option("--seed", type=int, help="Random seed of the simulated classroom (default: a new one).")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="FRAUDSTREAM_DEMO_PORT",
    help="Dashboard port on 127.0.0.1; if taken, a free one is used (0: any free one).",
)
@click.option(
    "--store",
    "store",
    metavar="FILE.db",
    help="Keep the SQLite store in this (new) file (default: a temporary file, deleted at exit).",
)
@click.option(
    "--label-delay",
    "label_delay_s",
    default=3.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds until a transaction's label reaches the detector.",
)
@click.option(
    "--history-days",
    default=90,
    show_default=True,
    type=click.IntRange(14, 365),
    help="Days of the world's history the model is trained on (fewer: faster start, weaker model).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the dashboard in the default browser.")
@click.option(
    "--terminal",
    is_flag=True,
    help="Only the stream and its live table in the terminal (no model, no dashboard).",
)
@click.option(
    "--rows",
    default=15,
    show_default=True,
    type=click.IntRange(1, 200),
    help="--terminal: transactions shown in the table.",
)
def demo(
    duration_s: float | None,
    rate: float | None,
    seed: int | None,
    port: int,
    store: str | None,
    label_delay_s: float,
    history_days: int,
    open_browser: bool,
    terminal: bool,
    rows: int,
) -> None:
    """Run the whole pipeline on simulated data: stream, detection, store and dashboard.

    Prints the dashboard's URL and a login that exists for this run only; FRAUD ALERT blocks
    (at most one every 3 s) and a status line follow. Ctrl-C stops everything.

    \b
    Examples:
      fraudstream demo                      # until Ctrl-C; open the printed URL and log in
      fraudstream demo --duration 30        # thirty seconds of stream, then a summary
      fraudstream demo --store demo.db      # keep the store in demo.db (a new file)
      fraudstream demo --terminal           # the classroom view: the stream in the terminal only
    """
    if terminal:
        _terminal(duration_s, rate or 20.0, seed, rows)
        return
    stop = threading.Event()
    _stop_on_signals(stop)  # first: Ctrl-C while the rest loads stops cleanly too
    from fraudstream.demo.runtime import Demo, DemoSettings

    settings = DemoSettings(
        rate=rate or 100.0,
        seed=seed,
        store=store,
        port=port,
        label_delay_s=label_delay_s,
        history_days=history_days,
    )
    with Demo(settings, sys.stdout) as running:
        _run(running, stop, duration_s, open_browser)
    status = running.status() if running.service is not None else None
    if running.failure is not None and not stop.is_set():
        raise click.ClickException(f"the demo stopped after a failure: {running.failure}")
    where = "deleted" if running.temporary_store else f"kept in {store}"
    if status is not None:
        click.echo(
            f"demo stopped: {status.transactions:,} transactions scored, {status.alerts:,} alerts, "
            f"{status.labelled:,} labels joined (simulated data); store {where}",
            err=True,
        )
    else:
        click.echo(f"demo stopped before the stream started; store {where}", err=True)


def _run(running: Any, stop: threading.Event, duration_s: float | None, open_browser: bool) -> None:
    from fraudstream.demo.console import status_line
    from fraudstream.demo.runtime import DEMO_USER

    say = running.printer.line
    say(
        f"fraudstream demo: the classroom world (simulated data, seed {running.seed}) -> stream -> "
        "detection -> SQLite -> dashboard"
    )
    running.open_store()
    running.start_training()  # while the dashboard starts
    dashboard = running.start_dashboard()
    say(f"  dashboard  {dashboard.url}")
    say(f"  login      user {DEMO_USER}  password {running.password}   (created for this run only)")
    say(
        f"  store      {running.store_url.removeprefix('sqlite:///')}"
        + ("   (temporary: deleted at exit; --store FILE.db keeps it)" if running.temporary_store else "")
    )
    say(
        f"  model      training gradient boosting on {running.settings.history_days} days of the same "
        "world's history (simulated data)..."
    )
    model = running.wait_trained(stop)
    if model is None:  # Ctrl-C while training
        return
    say(f"  model      {model.describe()}")
    dashboard.wait_started()
    running.start_stream()
    settings = running.settings
    say(
        f"  stream     tcp://127.0.0.1:{running.stream.port}, {settings.rate:g} transactions/s, labels "
        f"{settings.label_delay_s:g} s late; alerts below at most one every {settings.alert_every_s:g} s"
    )
    say("Ctrl-C to stop")
    if open_browser:
        import webbrowser

        webbrowser.open(dashboard.url)
    deadline = time.monotonic() + duration_s if duration_s is not None else None
    while not stop.is_set():
        wait = STATUS_EVERY_S if deadline is None else min(STATUS_EVERY_S, deadline - time.monotonic())
        if wait > 0 and stop.wait(wait):
            break
        if not running.healthy():
            return
        say(status_line(running.status()))
        if deadline is not None and time.monotonic() >= deadline:
            break


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _terminal(duration_s: float | None, rate: float, seed: int | None, rows: int) -> None:
    """The classroom view: an in-process stream server and the live table of ``fraudstream watch``."""
    from fraudstream.cli.watch import run_watch
    from fraudstream.stream.connection import Reconnect

    try:
        with BackgroundServer(make_demo_server(rate, seed)) as background:
            state = run_watch(
                "127.0.0.1",
                background.port,
                "classroom",
                duration_s=duration_s,
                rows=rows,
                title="fraudstream demo",
                reconnect=Reconnect(attempts=0),
            )
    except KeyboardInterrupt:  # Ctrl-C outside the live view (while starting or stopping)
        click.echo("demo stopped", err=True)
        return
    click.echo(
        f"demo: {state.count:,} transactions of the simulated classroom world, "
        f"{state.frauds} fraud (labels from the simulator)",
        err=True,
    )
