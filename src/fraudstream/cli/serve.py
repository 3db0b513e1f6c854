"""``fraudstream serve`` and the seed's program names ``fraud-stream-server`` / ``stream-server``.

All three run :class:`~fraudstream.stream.server.StreamServer` over a world's
:class:`~fraudstream.stream.feed.Feed`; the seed's names keep the seed's flags
(``--host --port --interval``) and print a banner in the spirit of the original.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import click

from fraudstream.cli.generate import parse_params
from fraudstream.errors import ConfigError, FraudStreamError
from fraudstream.stream.broadcast import DEFAULT_MAX_BUFFER_BYTES
from fraudstream.stream.eventloop import EVENT_LOOPS, loop_factory
from fraudstream.stream.eventloop import run as run_loop
from fraudstream.stream.feed import Feed, LabelPolicy
from fraudstream.stream.protocol import welcome_message
from fraudstream.stream.replay import ReplayWorld
from fraudstream.stream.retention import DEFAULT_RETAIN_MB
from fraudstream.stream.server import StreamServer
from fraudstream.worlds import World, get_world, world_names
from fraudstream.worlds.clock import Pacer

__all__ = ["ServeOptions", "fraud_stream_server_main", "make_server", "serve", "stream_server_main",
           "welcome_for"]

BASIC_WELCOME = "Connected to data stream server"
CLASSROOM_WELCOME = "Connected to fraud detection training stream"


def welcome_for(world: World) -> bytes:
    """The welcome line of a world's stream, stamped now (UTC, the seed's format)."""
    now = datetime.now(UTC)
    if world.name == "basic":
        return welcome_message(now, message=BASIC_WELCOME)
    if world.name == "classroom":
        return welcome_message(now, message=CLASSROOM_WELCOME, **_classroom_extra(world))
    return welcome_message(now, message=f"Connected to fraudstream {world.name} stream (simulated data)",
                           world=world.name)


def _classroom_extra(world: World) -> dict[str, object]:
    from fraudstream.worlds.classroom_profiles import PROFILE_TYPES, TOTAL_USERS

    return {"totalUsers": TOTAL_USERS, "profileTypes": list(PROFILE_TYPES)}


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``fraudstream serve`` needs, as validated values."""

    world: str = "classroom"
    host: str = "localhost"
    port: int = 5555
    http_port: int | None = None
    interval_s: float = 0.5
    rate: float | None = None
    speed: float | None = None
    seed: int | None = None
    start: str | None = None
    params: tuple[str, ...] = ()
    labels: str = "inline"
    max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES
    retain_mb: float = DEFAULT_RETAIN_MB
    """MiB of recent batches kept so TCP clients can resume after an offset (0: none)."""
    replay: str | None = None
    """A dataset file streamed instead of a world (event-time order); ``start`` and ``skip`` say
    where it resumes (:func:`~fraudstream.stream.replay.replay_offset`)."""
    skip: int = 0
    """Rows of the ``replay`` file (in event-time order) not streamed."""
    schema: str | None = None
    loop: str = "auto"
    """Event loop: ``auto`` (uvloop if installed), ``uvloop`` or ``asyncio``."""

    def pacer(self) -> Pacer:
        if self.rate is not None and self.speed is not None:
            raise ConfigError("give --rate or --speed, not both")
        if self.rate is not None:
            return Pacer(rate=self.rate)
        if self.speed is not None:
            return Pacer(speed=self.speed)
        if self.interval_s < 0:
            raise ConfigError(
                f"--interval must be >= 0 seconds (0 = as fast as possible), got {self.interval_s}"
            )
        return Pacer(rate=1 / self.interval_s) if self.interval_s > 0 else Pacer()


def make_server(options: ServeOptions) -> StreamServer:
    """Build the world, feed and server described by ``options`` (nothing is bound yet)."""
    if not 0 <= options.port <= 65535:
        raise ConfigError(f"--port must be 0..65535, got {options.port}")
    if options.replay is not None:
        from fraudstream.stream.replay import read_dataset, replay_offset

        frame = read_dataset(options.replay, options.schema)
        world: World = ReplayWorld(frame, source=options.replay,  # type: ignore[assignment]
                                   offset=replay_offset(frame, options.start, options.skip))
    elif options.skip:
        raise ConfigError(f"--skip needs --replay (it skips rows of the replayed file), got --skip {options.skip}")
    else:
        seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
        params = parse_params(options.params)
        world = get_world(options.world)(seed=seed, start=options.start or "now", **params)
    feed = Feed(world, options.pacer(), labels=LabelPolicy.parse(options.labels))
    http_port = options.http_port if options.http_port is not None else (
        options.port + 1 if options.port else 0)
    if not options.retain_mb >= 0:
        raise ConfigError(f"--retain-mb must be >= 0 (0: retain nothing), got {options.retain_mb:g}")
    return StreamServer(feed, host=options.host, port=options.port, http_port=http_port,
                        welcome=lambda: welcome_for(world), max_buffer_bytes=options.max_buffer_bytes,
                        retain_bytes=int(options.retain_mb * (1 << 20)))


def serve(options: ServeOptions, *, banner: bool = True) -> None:
    """Run the server until SIGINT/SIGTERM (then close every client and return)."""
    server = make_server(options)
    loop_factory(options.loop)  # a bad --loop is a usage error before anything starts

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(server.serve(stop, handle_signals=True))
        await asyncio.wait([task, asyncio.create_task(server.ready.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
        if banner and server.ready.is_set():
            _print_banner(server, options)
        await task

    run_loop(main(), loop=options.loop)
    if banner:
        click.echo(f"Server stopped ({server.feed.generated:,} transactions, "
                   f"{server.hub.stats.dropped_total} clients dropped)")
        if options.replay is not None:
            after = _replay_world(server).offset + server.feed.generated
            click.echo(f"Replay stopped before row {after:,} of {options.replay}: resume with --skip {after}")


def _print_banner(server: StreamServer, options: ServeOptions) -> None:
    pacer = server.feed.pacer
    pace = (f"{pacer.rate:g} transactions/s" if pacer.rate else
            f"event time x{pacer.speed:g}" if pacer.speed else "as fast as possible")
    if options.replay is not None:
        world = _replay_world(server)
        resumed = (f", from row {world.offset:,} (event time {world.frame['ts'].iloc[world.offset].isoformat()})"
                   if world.offset else "")
        click.echo(f"fraudstream serve: replay of {options.replay} ({len(world.frame):,} "
                   f"transactions in event-time order{resumed}), {pace}, labels {options.labels}")
    else:
        click.echo(f"fraudstream serve: world {server.feed.world.name} (simulated data, seed "
                   f"{server.feed.world.seed}), {pace}, labels {options.labels}, "
                   f"{server.event_loop} event loop")
    resume = (f"; resumable within the last {options.retain_mb:g} MiB" if server.hub.retention is not None
              else "; not resumable (--retain-mb 0)")
    click.echo(f"  TCP stream   {options.host}:{server.port}   (NDJSON, seed 000 protocol{resume})")
    if server.http_port is not None:
        click.echo(f"  HTTP         http://{options.host}:{server.http_port}/health  /metrics  "
                   f"ws://{options.host}:{server.http_port}/ws")
    click.echo("Waiting for client connections... (Ctrl-C to stop)", nl=True)


def _replay_world(server: StreamServer) -> ReplayWorld:
    world = server.feed.world
    assert isinstance(world, ReplayWorld)
    return world


def _run_cli(options: ServeOptions, *, banner: bool = True) -> None:
    try:
        serve(options, banner=banner)
    except FraudStreamError as error:
        raise (
            click.ClickException(str(error)) if error.exit_code == 1 else click.UsageError(str(error))
        ) from None


@click.command(name="serve")
@click.option("--world", "world_name", default="classroom", show_default=True, metavar="WORLD",
              help=f"World to stream: {', '.join(world_names())}.")
@click.option("--host", default="localhost", show_default=True, envvar="FRAUDSTREAM_HOST",
              help="Address to listen on; 0.0.0.0 for the LAN.")
@click.option("--port", default=5555, show_default=True, type=int, envvar="FRAUDSTREAM_PORT",
              help="TCP port of the stream.")
@click.option("--http-port", type=int, help="HTTP port for /ws, /health, /metrics (default: --port + 1).")
@click.option("--interval", "interval_s", default=0.5, show_default=True, type=float,
              help="Seconds between transactions (pacing by count); 0 = as fast as possible.")
@click.option("--rate", type=float, help="Transactions per second (instead of --interval).")
@click.option("--speed", type=float, help="Event-time pacing: 1 = real time, 3600 = an hour per second.")
@click.option("--seed", type=int, help="Random seed (default: a new one each start).")
@click.option("--start", help="Simulated start time, ISO 8601 (default: now); with --replay: resume the replay "
              "at the first transaction at or after this event time.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="World parameter, repeatable (see `fraudstream worlds`).")
@click.option("--labels", default="inline", show_default=True, metavar="inline|hidden|delayed:SECONDS",
              help="Labels in each line, hidden, or sent SECONDS later to clients that subscribe.")
@click.option("--replay", type=click.Path(dir_okay=False, exists=True),
              help="Stream this dataset file (CSV/Parquet/NDJSON, any supported layout) in event-time order "
                   "instead of a world.")
@click.option("--schema", help="Layout of the --replay file (handbook, kaggle, ...); default: detected.")
@click.option("--skip", default=0, show_default=True, type=click.IntRange(min=0), metavar="N",
              help="With --replay: resume at row N of the file in event-time order (the row the stop line "
                   "names); with --start, the later of the two.")
@click.option("--loop", "loop", type=click.Choice(EVENT_LOOPS), default="auto", show_default=True,
              envvar="FRAUDSTREAM_EVENT_LOOP",
              help="Event loop: uvloop (faster; auto uses it when installed) or asyncio's own.")
@click.option("--max-buffer", "max_buffer_kib", default=DEFAULT_MAX_BUFFER_BYTES >> 10, show_default=True,
              type=click.IntRange(min=16), help="KiB a client may fall behind before it is dropped.")
@click.option("--retain-mb", default=DEFAULT_RETAIN_MB, show_default=True, type=float,
              envvar="FRAUDSTREAM_RETAIN_MB",
              help="MiB of recent stream kept so a dropped or restarted TCP client resumes where it "
                   "stopped (0: keep nothing).")
def serve_command(world_name: str, host: str, port: int, http_port: int | None, interval_s: float,
                  rate: float | None, speed: float | None, seed: int | None, start: str | None,
                  params: tuple[str, ...], labels: str, replay: str | None, schema: str | None,
                  skip: int, max_buffer_kib: int, retain_mb: float, loop: str) -> None:
    """Stream a world's transactions to TCP and WebSocket clients (seed 000's protocol).

    \b
    Examples:
      fraudstream serve                              # classroom world on localhost:5555
      fraudstream serve --host 0.0.0.0 --rate 20     # whole LAN, 20 transactions/s
      fraudstream serve --labels delayed:60          # labels a minute later, to subscribers
      fraudstream serve --world handbook --speed 3600
      fraudstream serve --replay fraudTest.csv --speed 3600 --labels delayed:5
      fraudstream serve --replay fraudTest.csv --rate 100 --skip 41500   # resume where it stopped
      fraudstream serve --replay fraudTest.csv --rate 100 --start 2020-12-24T18:00
    """
    serve(ServeOptions(world=world_name, host=host, port=port, http_port=http_port, interval_s=interval_s,
                       rate=rate, speed=speed, seed=seed, start=start, params=params, labels=labels,
                       max_buffer_bytes=max_buffer_kib << 10, retain_mb=retain_mb, replay=replay,
                       schema=schema, skip=skip, loop=loop))


def _seed_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")


@click.command()
@click.option("--host", default="localhost", show_default=True, help="Host to bind to (0.0.0.0 for the LAN).")
@click.option("--port", default=5555, show_default=True, type=int, help="Port to bind to.")
@click.option("--interval", "interval_s", default=0.5, show_default=True, type=float,
              help="Base interval between transactions in seconds.")
def fraud_stream_server_main(host: str, port: int, interval_s: float) -> None:
    """Fraud detection training stream server (seed 000's fraud_stream_server.py)."""
    _seed_logging()
    click.echo("=" * 60)
    click.echo("FRAUD DETECTION TRAINING STREAM SERVER")
    click.echo("=" * 60)
    click.echo(f"Host: {host}\nPort: {port}\nBase Interval: {interval_s} seconds")
    click.echo(
        "Simulated data: 25 users, 20 profile types, fraud-prone users 13, 14, 15 "
        "(fraudstream classroom world)"
    )
    _run_cli(ServeOptions(world="classroom", host=host, port=port, interval_s=interval_s))


@click.command()
@click.option("--host", default="localhost", show_default=True, help="Host to bind to.")
@click.option("--port", default=5555, show_default=True, type=int, help="Port to bind to.")
@click.option("--interval", "interval_s", default=1.0, show_default=True, type=float,
              help="Interval between transactions in seconds.")
def stream_server_main(host: str, port: int, interval_s: float) -> None:
    """Data stream server (seed 000's stream_server.py: a random transaction stream)."""
    _seed_logging()
    click.echo(f"Data Stream Server on {host}:{port}, one transaction every {interval_s} s")
    _run_cli(ServeOptions(world="basic", host=host, port=port, interval_s=interval_s))
