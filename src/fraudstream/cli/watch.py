"""``fraudstream watch`` and the seed's client program names ``stream-client`` / ``stream-client-visual``.

``fraudstream watch`` connects to a stream server and shows a live terminal view (the last
transactions with fraud highlighted, seed 000's statistics, the rate); ``--visual`` shows the
seed's four matplotlib panels instead (a window, or with ``--browser`` / without a display a
live page on localhost). ``stream-client`` and ``stream-client-visual`` keep the seed's flags.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click
from rich.console import Console
from rich.live import Live

from fraudstream.cli.watch_view import WatchState
from fraudstream.errors import FraudStreamError
from fraudstream.stream.client import DataStreamClient
from fraudstream.stream.connection import Reconnect
from fraudstream.stream.reader import MessageReader

__all__ = ["run_watch", "stream_client_main", "stream_client_visual_main", "watch"]

REFRESH_S = 0.25


def run_watch(host: str, port: int, client_id: str, *, labels: bool = False, duration_s: float | None = None,
              rows: int = 15, console: Console | None = None, title: str = "fraudstream watch",
              reconnect: Reconnect | None = None, on_ready: Callable[[], None] | None = None,
              resume: bool = False) -> WatchState:
    """Read the stream into a live view until Ctrl-C, ``duration_s`` or the end of the stream.

    :class:`~fraudstream.errors.TransportError` if no server answers.
    """
    console = console or Console()
    state = WatchState(client_id, f"{host}:{port}", rows=rows, title=title)
    reader = MessageReader(host, port, labels=labels, reconnect=reconnect, read_timeout_s=0.1, resume=resume)
    messages = reader.messages(ticks=True)
    started = time.monotonic()
    last_draw = 0.0
    try:
        first = next(messages, None)  # connect before the view starts: a refusal is one clear line
        with Live(state.render(), console=console, auto_refresh=False, transient=False) as live:
            if first is not None:
                state.add(first)
            if on_ready is not None:
                on_ready()
            for message in messages:
                now = time.monotonic()
                if message is not None:
                    state.add(message, now)
                if duration_s is not None and now - started >= duration_s:
                    break
                if now - last_draw >= REFRESH_S:
                    live.update(state.render(), refresh=True)
                    last_draw = now
            state.status = "stopped" if duration_s is not None else "server closed the stream"
            live.update(state.render(), refresh=True)
        if not console.is_terminal:
            console.line()
    except KeyboardInterrupt:
        state.status = "stopped"
    finally:
        reader.stop()
        messages.close()
    return state


def _summary(state: WatchState) -> str:
    return (f"{state.client_id}: {state.count:,} transactions, {state.frauds} flagged fraud inline, "
            f"{state.labels} labels ({state.labelled_fraud} fraud)")


@click.command(name="watch")
@click.option("--host", default="localhost", show_default=True, envvar="FRAUDSTREAM_HOST",
              help="Server address (localhost, or the instructor's IP such as 192.168.1.5).")
@click.option("--port", default=5555, show_default=True, type=int, envvar="FRAUDSTREAM_PORT",
              help="Server TCP port.")
@click.option("--id", "client_id", default=None, help="Your name in the view (default: Client-HHMMSS).")
@click.option("--labels", is_flag=True,
              help="Subscribe to delayed labels (server run with --labels delayed:S).")
@click.option("--resume", is_flag=True,
              help="Ask the server for offsets: after a lost connection, continue right after the last "
                   "transaction received (within the server's --retain-mb).")
@click.option("--rows", default=15, show_default=True, type=click.IntRange(1, 200),
              help="Transactions shown in the table.")
@click.option("--duration", "duration_s", type=click.FloatRange(min=0, min_open=True),
              help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--visual", is_flag=True,
              help="The seed's four live panels (matplotlib) instead of the terminal view.")
@click.option("--browser", is_flag=True, help="With --visual: a live page on localhost instead of a window.")
@click.option("--max-records", default=100, show_default=True, type=click.IntRange(min=2),
              help="With --visual: transactions kept for the plots.")
@click.option("--http-port", "view_port", default=0, type=int,
              help="With --browser: port of the local page (default: a free one).")
@click.option("--png", type=click.Path(dir_okay=False),
              help="With --visual: also save the final panels as PNG.")
def watch(host: str, port: int, client_id: str | None, labels: bool, resume: bool, rows: int,
          duration_s: float | None, visual: bool, browser: bool, max_records: int, view_port: int,
          png: str | None) -> None:
    """Watch a stream server live: transactions, fraud, the seed's statistics.

    \b
    Examples:
      fraudstream watch                          # the server on localhost:5555
      fraudstream watch --host 192.168.1.5 --id Alice
      fraudstream watch --visual                 # the four panels of stream_client_visual.py
      fraudstream watch --visual --browser       # the same panels in a browser page
    """
    client_id = client_id or DataStreamClient().client_id
    if visual or browser or png:
        from fraudstream.cli.visual import run_visual

        run_visual(host, port, client_id, max_records=max_records, browser=browser, duration_s=duration_s,
                   view_port=view_port, png=png)
        return
    state = run_watch(host, port, client_id, labels=labels, duration_s=duration_s, rows=rows, resume=resume)
    click.echo(_summary(state), err=True)


def _run_seed_client(run: Callable[[], None]) -> None:
    try:
        run()
    except FraudStreamError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        click.echo("\nClient shutdown complete")


@click.command()
@click.option("--host", default="localhost", show_default=True, help="Server host (default: localhost)")
@click.option("--port", default=5555, show_default=True, type=int, help="Server port (default: 5555)")
@click.option("--id", "client_id", default=None, help="Client ID (default: auto-generated)")
def stream_client_main(host: str, port: int, client_id: str | None) -> None:
    """Data Stream Client (seed 000's stream_client.py): every transaction and the running statistics."""
    client = DataStreamClient(host=host, port=port, client_id=client_id)
    click.echo("=" * 50)
    click.echo("DATA STREAM CLIENT")
    click.echo("=" * 50)
    click.echo(f"Client ID: {client.client_id}")
    click.echo(f"Server: {host}:{port}")
    click.echo("=" * 50)
    _run_seed_client(client.connect_and_stream)


@click.command()
@click.option("--host", default="localhost", show_default=True, help="Server host (default: localhost)")
@click.option("--port", default=5555, show_default=True, type=int, help="Server port (default: 5555)")
@click.option("--id", "client_id", default=None, help="Client ID (default: auto-generated)")
@click.option("--max-records", default=100, show_default=True, type=click.IntRange(min=2),
              help="Maximum records to keep (default: 100)")
@click.option("--browser", is_flag=True, help="Show the panels in a browser page instead of a window.")
@click.option("--duration", "duration_s", type=click.FloatRange(min=0, min_open=True),
              help="Stop after this many seconds.")
def stream_client_visual_main(host: str, port: int, client_id: str | None, max_records: int, browser: bool,
                              duration_s: float | None) -> None:
    """Visual Data Stream Client (seed 000's stream_client_visual.py): four live panels."""
    from fraudstream.cli.visual import run_visual

    client_id = client_id or DataStreamClient().client_id
    click.echo("=" * 50)
    click.echo("VISUAL DATA STREAM CLIENT")
    click.echo("=" * 50)
    click.echo(f"Client ID: {client_id}")
    click.echo(f"Server: {host}:{port}")
    click.echo(f"Max Records: {max_records}")
    click.echo("=" * 50)
    click.echo("Close the window to disconnect")
    click.echo("=" * 50)
    _run_seed_client(lambda: run_visual(host, port, client_id, max_records=max_records, browser=browser,
                                        duration_s=duration_s))
