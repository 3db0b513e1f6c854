"""The HTTP port of the stream server: ``/ws``, ``/health``, ``/metrics`` (one asyncio loop).

Served with the ``websockets`` library on ``--http-port`` (default: ``--port`` + 1):

- ``/ws`` — WebSocket: the welcome line, then every transaction line, **one text message per
  line** (the JSON object, without the ``\\n``); a WebSocket client subscribes to delayed labels
  by sending the text ``{"type": "subscribe", "labels": true}``. Same bounded buffer and drop
  policy as TCP clients. Sending is batched like TCP: each batch is framed once (one unmasked
  text frame per line, :func:`text_frames`) and the frames of a batch go to each client in one
  ``transport.write``, so line-per-message consumers are unaffected.
- ``/health`` — JSON: ``status``, ``clients``, ``uptime``, ``transactions_sent`` and more
  (see :func:`health_document`).
- ``/metrics`` — Prometheus text format (see :func:`prometheus_text`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from fraudstream import __version__
from fraudstream.stream.protocol import is_label_subscription

if TYPE_CHECKING:
    from fraudstream.stream.server import StreamServer

__all__ = ["WebFront", "health_document", "prometheus_text", "text_frames"]

log = logging.getLogger(__name__)

MAX_WS_MESSAGE_BYTES = 4096
"""Largest message a WebSocket client may send (the subscription is 38 bytes)."""


def text_frames(data: bytes) -> bytes:
    """Each ``\\n``-terminated line of ``data`` as one unmasked WebSocket text frame (RFC 6455 §5.2).

    >>> text_frames(b'{"a": 1}\\n{}\\n')
    b'\\x81\\x08{"a": 1}\\x81\\x02{}'
    >>> text_frames(b"x" * 200 + b"\\n")[:4]
    b'\\x81~\\x00\\xc8'
    """
    frames = []
    for line in data.split(b"\n")[:-1]:
        size = len(line)
        if size < 126:
            frames.append(bytes((0x81, size)))
        elif size < 65536:
            frames.append(b"\x81\x7e" + size.to_bytes(2, "big"))
        else:
            frames.append(b"\x81\x7f" + size.to_bytes(8, "big"))
        frames.append(line)
    return b"".join(frames)


def health_document(server: StreamServer) -> dict[str, Any]:
    """The ``/health`` JSON body."""
    feed, stats = server.feed, server.hub.stats
    pacer = feed.pacer
    return {
        "status": "healthy",
        "clients": server.hub.clients,
        "uptime": round(server.uptime_s, 3),
        "transactions_sent": stats.sent_total,
        "transactions_generated": feed.generated,
        "clients_dropped": stats.dropped_total,
        "labels_sent": stats.labels_sent_total,
        "tcp_clients": server.hub.count("tcp"),
        "websocket_clients": server.hub.count("websocket"),
        "world": feed.world.name,
        "labels": feed.labels.mode if feed.labels.mode != "delayed" else f"delayed:{feed.labels.delay_s:g}",
        "pacing": {"rate": pacer.rate, "speed": pacer.speed, "start_unix": feed.start_unix,
                   "first_tx_id": feed.first_tx_id},
        "last_tx_id": feed.last_tx_id,
        "max_buffer_bytes": server.hub.max_buffer_bytes,
        "max_buffered_bytes": stats.max_buffered_bytes,
        "event_loop": server.event_loop,
        "fanout_ms": round(server.fanout_s * 1000, 3),
        "batch_interval_ms": round(feed.min_interval_s * 1000, 3),
        "retention": _retention(server),
        "version": __version__,
    }


def _retention(server: StreamServer) -> dict[str, Any] | None:
    """What the ring holds (``None``: ``--retain-mb 0``), and the resumes it served."""
    ring, stats = server.hub.retention, server.hub.stats
    if ring is None:
        return None
    span = ring.span()
    return {"max_bytes": ring.max_bytes, "bytes": ring.bytes, "offsets": list(span) if span else None,
            "stream": server.stream_id, "resumed": stats.resumed_total, "gaps": stats.gaps_total}


_METRICS = (
    ("fraudstream_transactions_generated_total", "counter", "Transactions released by the feed."),
    ("fraudstream_transactions_sent_total", "counter", "Transactions delivered, summed over clients."),
    ("fraudstream_bytes_sent_total", "counter", "Transaction bytes delivered, summed over clients."),
    ("fraudstream_labels_sent_total", "counter", "Delayed label messages delivered, summed over clients."),
    ("fraudstream_dropped_total", "counter", "Clients dropped because they fell too far behind."),
    ("fraudstream_clients_connected", "gauge", "Clients connected now (TCP and WebSocket)."),
    ("fraudstream_websocket_clients_connected", "gauge", "WebSocket clients connected now."),
    ("fraudstream_uptime_seconds", "gauge", "Seconds since the server started."),
)


def prometheus_text(server: StreamServer) -> str:
    """The ``/metrics`` body (Prometheus text exposition format 0.0.4)."""
    stats = server.hub.stats
    values = {
        "fraudstream_transactions_generated_total": server.feed.generated,
        "fraudstream_transactions_sent_total": stats.sent_total,
        "fraudstream_bytes_sent_total": stats.bytes_sent_total,
        "fraudstream_labels_sent_total": stats.labels_sent_total,
        "fraudstream_dropped_total": stats.dropped_total,
        "fraudstream_clients_connected": server.hub.clients,
        "fraudstream_websocket_clients_connected": server.hub.count("websocket"),
        "fraudstream_uptime_seconds": round(server.uptime_s, 3),
    }
    lines = []
    for name, kind, help_text in _METRICS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {values[name]}"]
    return "\n".join(lines) + "\n"


class _WsClient:
    """A WebSocket client as a hub subscriber: one text message per line, one write per batch."""

    kind = "websocket"

    def __init__(self, connection: ServerConnection, front: WebFront) -> None:
        self.connection = connection
        self.front = front
        address = connection.remote_address
        self.peer = f"{address[0]}:{address[1]}" if address else "?"
        self.wants_labels = False

    def buffered(self) -> int:
        transport = self.connection.transport
        return 0 if transport.is_closing() else transport.get_write_buffer_size()

    def write(self, data: bytes) -> None:
        # whole frames straight to the transport, as websockets' own broadcast() does; frames
        # the library writes itself (pings, pongs, close) can only fall between two batches
        if self.connection.protocol.state is State.OPEN:
            self.connection.transport.write(self.front.frames(data))

    def abort(self) -> None:
        self.connection.transport.abort()


class WebFront:
    """The HTTP/WebSocket listener of a :class:`~fraudstream.stream.server.StreamServer`."""

    def __init__(self, server: StreamServer) -> None:
        self.server = server
        self.port: int | None = None
        self._ws: Server | None = None
        self._last: tuple[bytes, bytes] = (b"", b"")

    def frames(self, data: bytes) -> bytes:
        """The WebSocket frames of a batch (framed once per batch, shared by all clients)."""
        if self._last[0] is not data:
            self._last = (data, text_frames(data))
        return self._last[1]

    async def start(self, host: str, port: int) -> Server:
        self._ws = await serve(self._handle, host, port, process_request=self._route, compression=None,
                               max_size=MAX_WS_MESSAGE_BYTES, max_queue=4, close_timeout=1,
                               server_header=f"fraudstream/{__version__}")
        self.port = next(iter(self._ws.sockets)).getsockname()[1]
        return self._ws

    async def close(self) -> None:
        if self._ws is not None:
            self._ws.close(close_connections=True)
            try:
                await asyncio.wait_for(self._ws.wait_closed(), 2)
            except TimeoutError:
                for connection in list(self._ws.all_connections):
                    connection.transport.abort()
            self._ws = None

    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.partition("?")[0]
        if path == "/ws":
            return None
        if path == "/health":
            response = connection.respond(HTTPStatus.OK, json.dumps(health_document(self.server)) + "\n")
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json"
            return response
        if path == "/metrics":
            response = connection.respond(HTTPStatus.OK, prometheus_text(self.server))
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        if path == "/":
            return connection.respond(HTTPStatus.OK, "fraudstream stream server: /ws (WebSocket), "
                                                     "/health (JSON), /metrics (Prometheus)\n")
        return connection.respond(HTTPStatus.NOT_FOUND, f"no such path {path}; try /ws, /health, /metrics\n")

    async def _handle(self, connection: ServerConnection) -> None:
        client = _WsClient(connection, self)
        hub = self.server.hub
        hub.join(client, self.server.welcome())
        try:
            async for message in connection:
                if not client.wants_labels:
                    raw = message.encode() if isinstance(message, str) else message
                    if is_label_subscription(raw):
                        client.wants_labels = True
        except ConnectionClosed:
            pass
        finally:
            hub.leave(client)
