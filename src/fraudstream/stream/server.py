"""The stream server: seed 000's TCP protocol on asyncio, plus WebSocket and HTTP.

One event loop (uvloop when installed, see :mod:`fraudstream.stream.eventloop`) runs
everything: the TCP listener (one :class:`asyncio.Protocol` per client, no threads per client),
the feed (generation and encoding in one worker thread, a chunk ahead), the fan-out
:class:`~fraudstream.stream.broadcast.Hub`, and the HTTP port (:mod:`fraudstream.stream.web`:
``/ws``, ``/health``, ``/metrics``).

**Batching adapts to the load.** Each batch is one ``bytes`` written once per client. The
server times every fan-out and keeps batches at least ``fan-out time / fanout_share`` apart
(and at least the feed's ``min_interval_s``, at most ``max_interval_s``): with few clients or a
low rate batches leave every 5 ms, so latency stays low; when writing to many clients gets
expensive (1,000 clients, a loaded machine) batches become rarer and larger, so the writes per
second fall and the fan-out never takes more than ``fanout_share`` of the loop's time.

**Resume.** With ``retain_bytes`` (``fraudstream serve --retain-mb``) the hub keeps its recent
batches in a :class:`~fraudstream.stream.retention.Retention` ring. A client that subscribes with
``"offsets": true`` or ``"resume_after": N`` (:mod:`fraudstream.stream.protocol`) is answered, held out of the live
fan-out, sent the ring from offset ``N + 1`` as fast as it reads (at most ``CATCH_UP_BYTES``
unsent at a time, refilled when its transport drains), and released into the live fan-out when
it reaches the end of the ring — every step a callback of the one event loop, so no batch is
broadcast in between and the seam neither misses nor repeats a line. A client whose place in
the ring is evicted while it catches up is dropped (it reconnects and is told of the gap).
WebSocket clients do not resume.

Clients need not send anything. What they send is read and thrown away, except a ``subscribe``
line (:func:`~fraudstream.stream.protocol.parse_subscription`): delayed label messages, and
resuming after an offset. Input is bounded: a line longer than ``MAX_INPUT_LINE_BYTES`` is discarded, and
after ``MAX_INPUT_BYTES`` of input the server stops reading from that client altogether (it still
receives the stream), so a flooding client costs neither memory nor CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fraudstream.errors import TransportError
from fraudstream.stream.broadcast import DEFAULT_MAX_BUFFER_BYTES, Hub
from fraudstream.stream.eventloop import loop_name
from fraudstream.stream.feed import Feed
from fraudstream.stream.protocol import BadSubscription, Subscription, parse_subscription, welcome_message
from fraudstream.stream.retention import Retention, cut

__all__ = ["CATCH_UP_BYTES", "MAX_INPUT_BYTES", "MAX_INPUT_LINE_BYTES", "StreamServer"]

log = logging.getLogger(__name__)

MAX_INPUT_LINE_BYTES = 1024
"""Longest client line the server looks at (the subscription line is 38 bytes)."""

MAX_INPUT_BYTES = 64 << 10
"""Input read from one client before the server stops reading it."""

CATCH_UP_BYTES = 1 << 20
"""Unsent bytes a resuming client is given from the ring before the server waits for it to read."""


class _TcpClient(asyncio.Protocol):
    """One TCP client: a :class:`~fraudstream.stream.broadcast.Subscriber` on a transport."""

    kind = "tcp"

    def __init__(self, server: StreamServer) -> None:
        self.server = server
        self.peer = "?"
        self.wants_labels = False
        self.transport: asyncio.Transport | None = None
        self.joined_at = 0
        """Offset of the last transaction broadcast before this client connected."""
        self._line = bytearray()
        self._received = 0
        self._subscribed = False
        self._cursor: tuple[int, int] | None = None
        """While catching up: the next ring entry to send, and the lines to skip in it."""
        self._labels_after = 0
        """Labels of transactions after this offset are sent (a fresh client's join, 0 on resume)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport subclasses
        self.buffered = transport.get_write_buffer_size  # type: ignore[method-assign]  # hot path: no wrapper
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.joined_at = self.server.hub.published
        self.server.hub.join(self, self.server.welcome())

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        if not self._subscribed:
            self._scan(data)
        if self._received > MAX_INPUT_BYTES and self.transport is not None:
            log.info("client %s sent %d bytes; no longer reading its input", self.peer, self._received)
            self.transport.pause_reading()

    def _scan(self, data: bytes) -> None:
        *lines, tail = data.split(b"\n")
        if lines:
            lines[0] = bytes(self._line) + lines[0]
            self._line.clear()
            for line in lines:
                if len(line) > MAX_INPUT_LINE_BYTES:
                    continue
                try:
                    subscription = parse_subscription(line)
                except BadSubscription as error:
                    log.info("client %s: %s", self.peer, error)
                    self.write(_error_line(error.field, str(error)))
                    continue
                if subscription is not None:
                    self._subscribe(subscription)
                    return
        if len(self._line) + len(tail) <= MAX_INPUT_LINE_BYTES:
            self._line += tail
        else:
            self._line.clear()

    def _subscribe(self, subscription: Subscription) -> None:
        self._subscribed = True
        self.wants_labels = subscription.labels
        if subscription.labels:
            log.info("client %s subscribed to labels", self.peer)
        if subscription.offsets:
            self.server.resume(self, subscription.resume_after, subscription.stream)

    def catch_up(self, seq: int, skip: int, labels_after: int) -> None:
        """Send the ring from entry ``seq`` (less ``skip`` lines), then go live (see the module);
        label batches only of transactions after ``labels_after``."""
        self._cursor = (seq, skip)
        self._labels_after = labels_after
        self.server.hub.hold(self)
        self._pump()

    def _pump(self) -> None:
        if self._cursor is None or self.transport is None or self.transport.is_closing():
            return
        hub = self.server.hub
        retention = hub.retention
        assert retention is not None
        seq, skip = self._cursor
        if seq < retention.first_seq:
            hub.drop(self, "its place in the retained stream was evicted while it caught up")
            return
        transport = self.transport
        while (entry := retention.entry(seq)) is not None:
            if transport.get_write_buffer_size() > CATCH_UP_BYTES:
                self._cursor = (seq, skip)
                return  # resume_writing() comes back once the client has read
            seq += 1
            if not entry.labels or (self.wants_labels and entry.covers >= self._labels_after):
                transport.write(cut(entry.data, skip) if skip else entry.data)
            skip = 0
        self._cursor = None
        hub.release(self, self._labels_after)
        log.info("client %s caught up; live from offset %d", self.peer, hub.published + 1)

    def resume_writing(self) -> None:
        self._pump()

    def eof_received(self) -> bool:
        return True  # a client that half-closes still receives the stream

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.hub.leave(self)
        self.server._closed_one()

    def buffered(self) -> int:
        assert self.transport is not None
        return self.transport.get_write_buffer_size()

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.write(data)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class StreamServer:
    """Serve a :class:`~fraudstream.stream.feed.Feed` to TCP and WebSocket clients.

    ``welcome`` builds each client's first line; ``http_port`` ``None`` means no HTTP port.
    Port ``0`` picks a free port (see :attr:`port` / :attr:`http_port` after :meth:`start`).

    Batching adapts to the load (see the module docstring): consecutive batches are at least
    ``fanout_s / fanout_share`` apart, where ``fanout_s`` is the recent time one fan-out took,
    never less than the feed's ``min_interval_s`` and never more than ``max_interval_s``.
    """

    def __init__(self, feed: Feed, *, host: str = "localhost", port: int = 5555,
                 http_port: int | None = None, welcome: Callable[[], bytes] | None = None,
                 max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES, fanout_share: float = 0.5,
                 max_interval_s: float = 0.025, retain_bytes: int = 0) -> None:
        if not 0 < fanout_share <= 1:
            raise ValueError(f"fanout_share must be in (0, 1], got {fanout_share}")
        if retain_bytes < 0:
            raise ValueError(f"retain_bytes must be >= 0 (0: retain nothing), got {retain_bytes}")
        self.feed = feed
        self.fanout_share = fanout_share
        self.max_interval_s = max_interval_s
        self.fanout_s = 0.0
        """Recent duration of one fan-out (moving average), seconds."""
        self.event_loop = "?"
        """``uvloop`` or ``asyncio``, once started."""
        self.host = host
        self.port = port
        self.http_port = http_port
        self.welcome = welcome or (lambda: welcome_message(datetime.now(UTC)))
        self.hub = Hub(max_buffer_bytes=max_buffer_bytes,
                       retention=Retention(retain_bytes) if retain_bytes else None)
        self.started_monotonic = time.monotonic()
        self.started_unix = time.time()
        self.stream_id = f"{time.time_ns():x}"
        """Names this run of the stream in resume answers: offsets of another run mean nothing here."""
        self._tcp: asyncio.Server | None = None
        self._web: object | None = None
        self._pump: asyncio.Task[None] | None = None
        self._all_closed: asyncio.Event | None = None
        self.ready = asyncio.Event()
        """Set once the ports are bound and the stream runs."""

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic

    def resume(self, client: _TcpClient, after: int | None, stream: str | None = None) -> None:
        """Answer a client that asked for offsets, resuming after ``after`` (``None``: after the
        offset it joined at) of the run ``stream`` (``None``: not said), see
        :mod:`fraudstream.stream.protocol`, and start its catch-up. Runs on the event loop,
        between two broadcasts."""
        hub = self.hub
        if hub.retention is None:
            client.write(_error_line("resume_after", "this server retains nothing (fraudstream serve "
                                     "--retain-mb 0): no offsets, no resume; the stream goes on live"))
            return
        published = hub.published
        labels_after = 0
        if after is None:
            after = labels_after = client.joined_at
        elif after > published or (stream is not None and stream != self.stream_id):
            why = (f"of stream {stream}, not this run's ({self.stream_id})" if stream not in (None, self.stream_id)
                   else f"beyond the last one ({published})")
            log.warning("client %s asked to resume after offset %d %s: the stream restarted; it goes on "
                        "from offset %d", client.peer, after, why, client.joined_at + 1)
            client.write(_control_line(type="reset", after=after, last=published, stream=self.stream_id))
            after = labels_after = client.joined_at
        plan = hub.retention.plan(after=after, published=published, labels=client.wants_labels)
        hub.stats.resumed_total += 1
        if plan.lost or plan.labels_lost:
            hub.stats.gaps_total += 1
            log.warning("client %s resumes after offset %d: %d transactions and %d label lines are "
                        "no longer retained", client.peer, after, plan.lost, plan.labels_lost)
        else:
            log.info("client %s resumes after offset %d (last %d)", client.peer, after, published)
        client.write(plan.reply[:-2] + _answer_suffix(self.stream_id, hub.retention.span()))
        client.catch_up(plan.seq, plan.skip, labels_after)

    async def start(self) -> None:
        """Bind the ports and start streaming; :class:`TransportError` if a port is taken."""
        from fraudstream.stream.web import WebFront

        loop = asyncio.get_running_loop()
        self.event_loop = loop_name(loop)
        self._tcp = await _listen(loop.create_server(lambda: _TcpClient(self), self.host, self.port),
                                  self.host, self.port, "--port")
        self.port = self._tcp.sockets[0].getsockname()[1]
        if self.http_port is not None:
            web = WebFront(self)
            try:
                await _listen(web.start(self.host, self.http_port), self.host, self.http_port, "--http-port")
            except BaseException:
                self._tcp.close()
                raise
            self.http_port = web.port
            self._web = web
        self.started_monotonic = time.monotonic()
        self.started_unix = time.time()
        self._pump = asyncio.create_task(self._run_feed(), name="fraudstream-feed")
        self.ready.set()
        log.info("streaming %s on %s:%s (%s)", self.feed.world.name, self.host, self.port, self.event_loop)

    async def _run_feed(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.feed.labels.delay_s
        hub = self.hub
        feed = self.feed
        base_interval_s = feed.min_interval_s
        longest_s = max(base_interval_s, self.max_interval_s)
        share = self.fanout_share
        clock = time.perf_counter
        async for batch in feed.batches():
            started = clock()
            published_at = hub.published
            hub.publish(batch.data, batch.count)
            # adaptive batching: the fan-out takes at most `share` of the time between batches
            self.fanout_s += (clock() - started - self.fanout_s) * 0.2
            feed.min_interval_s = min(longest_s, max(base_interval_s, self.fanout_s / share))
            if batch.labels:
                loop.call_later(delay, hub.publish_labels, batch.labels, batch.count, published_at)
        log.info("the world's stream ended after %d transactions", self.feed.generated)

    async def serve(self, stop: asyncio.Event | None = None, *, handle_signals: bool = False) -> None:
        """Start, stream until ``stop`` is set (or SIGINT/SIGTERM with ``handle_signals``), close."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            waiter = asyncio.create_task(stop.wait())
            assert self._pump is not None
            await asyncio.wait([waiter, self._pump], return_when=asyncio.FIRST_COMPLETED)
            if self._pump.done() and not self._pump.cancelled() and self._pump.exception():
                raise self._pump.exception()  # type: ignore[misc]
            await waiter
        finally:
            await self.close()
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

    def _closed_one(self) -> None:
        if self._all_closed is not None and not self.hub.clients:
            self._all_closed.set()

    async def close(self, grace_s: float = 1.0) -> None:
        """Stop the feed and the listeners; close every client (abort those still stuck)."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._tcp is not None:
            self._tcp.close()
        if self._web is not None:
            await self._web.close()  # type: ignore[attr-defined]
            self._web = None
        clients = self.hub.subscribers()
        self._all_closed = asyncio.Event()
        tcp = [c for c in clients if isinstance(c, _TcpClient) and c.transport is not None]
        for client in tcp:
            client.transport.close()  # type: ignore[union-attr]
        if tcp:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), grace_s)
        for client in tcp:
            client.abort()
        self.hub.close_all()
        if self._tcp is not None:
            await self._tcp.wait_closed()
            self._tcp = None
        await asyncio.sleep(0)


def _answer_suffix(stream_id: str, span: tuple[int, int] | None) -> bytes:
    """``, "stream": ..., "retained": [first, last]}\\n``: the end of a resume or gap answer."""
    retained = f', "retained": [{span[0]}, {span[1]}]' if span is not None else ""
    return f', "stream": "{stream_id}"{retained}}}\n'.encode()


def _control_line(**body: object) -> bytes:
    return (json.dumps(body) + "\n").encode()


def _error_line(field: str, message: str) -> bytes:
    return _control_line(type="error", field=field, message=message)


async def _listen(coroutine: object, host: str, port: int, flag: str) -> asyncio.Server:
    try:
        return await coroutine  # type: ignore[no-any-return,misc]
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise TransportError(
                f"port {port} on {host} is in use (another fraudstream serve?): "
                f"stop it or pass {flag} {port + 2 if flag == '--port' else port + 1}") from None
        raise TransportError(f"cannot listen on {host}:{port} ({flag}): {exc.strerror or exc}") from None
