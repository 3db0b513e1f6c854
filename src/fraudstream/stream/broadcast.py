"""The fan-out hub: every batch to every client, each client behind a bounded buffer.

The hub receives each micro-batch once, as one ``bytes``, and hands that same object to every
connected client (a TCP transport or a WebSocket): per batch, one buffer check and one write
per client, no per-transaction work.

**Slow-client policy: drop.** Every client has a bounded send buffer (``max_buffer_bytes``,
default 4 MiB, on top of the kernel's socket buffer). When a batch would push a client's unsent
bytes past it, the client is disconnected at once, its buffer discarded, and the reason logged
(``dropping slow client ...``) and counted (``dropped_total``). A client that stays connected
has therefore received every transaction, in order, since it joined — there are never silent
gaps — and a client that stalls costs the server at most ``max_buffer_bytes`` of memory and
never slows anyone else. (The seed's clients have no reconnect; fraudstream's client does.)

**Retention.** Given a :class:`~fraudstream.stream.retention.Retention`, the hub also keeps each
batch it broadcasts (the same ``bytes``, one append per batch), so a dropped or restarted client
can resume after the offset of the last line it received (transaction ``i`` of the stream has
offset ``i``: :attr:`Hub.published` after it). A client catching up from the ring is *held*
(:meth:`Hub.hold`): connected, but outside the live fan-out until it is :meth:`released
<Hub.release>` at the end of the ring — all on the event loop, so nothing is broadcast in between.

>>> hub = Hub(max_buffer_bytes=10)
>>> class Sink:
...     peer, kind, wants_labels, buffer = "test", "tcp", False, b""
...     def buffered(self): return len(self.buffer)
...     def write(self, data): self.buffer += data
...     def abort(self): self.buffer = b""
>>> fast, stalled = Sink(), Sink()
>>> hub.join(fast, b"hi\\n"); hub.join(stalled, b"hi\\n")
>>> hub.publish(b"1\\n", 1); fast.buffer = b""      # fast reads, stalled does not
>>> hub.publish(b"2\\n3\\n4\\n", 3)
>>> fast.buffer, hub.clients, hub.stats.dropped_total
(b'2\\n3\\n4\\n', 1, 1)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from fraudstream.stream.retention import Retention

__all__ = ["DEFAULT_MAX_BUFFER_BYTES", "Hub", "HubStats", "Subscriber"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BUFFER_BYTES = 4 << 20
"""Unsent bytes a client may fall behind before it is dropped (4 MiB, ~15,000 classroom lines)."""


class Subscriber(Protocol):
    """One connected client, as the hub sees it."""

    peer: str
    kind: str
    """``"tcp"`` or ``"websocket"``."""
    wants_labels: bool

    def buffered(self) -> int:
        """Bytes written but not yet handed to the kernel."""

    def write(self, data: bytes) -> None:
        """Queue ``data`` (whole lines) for sending; never blocks."""

    def abort(self) -> None:
        """Disconnect now, discarding unsent data."""


@dataclass
class HubStats:
    """Counters of the hub (exported on ``/health`` and ``/metrics``)."""

    sent_total: int = 0
    """Transactions delivered, summed over clients (a batch of 10 to 3 clients counts 30)."""
    bytes_sent_total: int = 0
    labels_sent_total: int = 0
    dropped_total: int = 0
    """Clients dropped because they fell ``max_buffer_bytes`` behind."""
    joined_total: int = 0
    resumed_total: int = 0
    """Clients that resumed after an offset (from the retention ring)."""
    gaps_total: int = 0
    """Resumes that found part of what they asked for no longer retained."""
    max_buffered_bytes: int = 0
    """Largest unsent backlog seen on any client (before a write)."""


class Hub:
    """Clients currently connected and the broadcast to them."""

    def __init__(self, *, max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES,
                 retention: Retention | None = None) -> None:
        if max_buffer_bytes < 1:
            raise ValueError(f"max_buffer_bytes must be >= 1, got {max_buffer_bytes}")
        self.max_buffer_bytes = max_buffer_bytes
        self.retention = retention
        """The ring of recent broadcasts (``None``: nothing is retained)."""
        self.stats = HubStats()
        self._subscribers: dict[int, Subscriber] = {}
        self._held: dict[int, Subscriber] = {}
        """Clients catching up from the ring, outside the live fan-out."""
        self._joined_at: dict[int, int] = {}
        self.published = 0
        """Transactions published so far (each batch counted once, whatever the audience)."""

    @property
    def clients(self) -> int:
        return len(self._subscribers) + len(self._held)

    def count(self, kind: str) -> int:
        """Connected clients of one kind (``tcp`` or ``websocket``)."""
        return sum(1 for s in self.subscribers() if s.kind == kind)

    def subscribers(self) -> list[Subscriber]:
        """Every connected client, live or held."""
        return [*self._subscribers.values(), *self._held.values()]

    def join(self, subscriber: Subscriber, welcome: bytes) -> None:
        """Send the welcome line, then every later batch."""
        subscriber.write(welcome)
        self._subscribers[id(subscriber)] = subscriber
        self._joined_at[id(subscriber)] = self.published
        self.stats.joined_total += 1
        log.info("client %s connected (%s); %d connected", subscriber.peer, subscriber.kind, self.clients)

    def leave(self, subscriber: Subscriber) -> None:
        """Forget a client (it disconnected); harmless if already gone."""
        key = id(subscriber)
        if self._subscribers.pop(key, None) is not None or self._held.pop(key, None) is not None:
            self._joined_at.pop(key, None)
            log.info("client %s disconnected; %d connected", subscriber.peer, self.clients)

    def hold(self, subscriber: Subscriber) -> None:
        """Take a connected client out of the live fan-out (it catches up from the ring)."""
        key = id(subscriber)
        if self._subscribers.pop(key, None) is not None:
            self._held[key] = subscriber

    def release(self, subscriber: Subscriber, labels_after: int = 0) -> None:
        """Put a held client back into the live fan-out; it has received everything broadcast
        so far, and gets the delayed labels of the transactions after offset ``labels_after``."""
        key = id(subscriber)
        if self._held.pop(key, None) is not None:
            self._subscribers[key] = subscriber
            self._joined_at[key] = labels_after

    def publish(self, data: bytes, count: int) -> None:
        """Hand one batch (``count`` transactions, already encoded) to every client."""
        if self.retention is not None:
            self.retention.add(data, first=self.published + 1, count=count)
        delivered = self._fan_out(data, self._subscribers.values())
        self.published += count
        self.stats.sent_total += delivered * count
        self.stats.bytes_sent_total += delivered * len(data)

    def publish_labels(self, data: bytes, count: int, published_at: int | None = None) -> None:
        """Hand label lines to the clients that subscribed to labels, and only to them.

        ``published_at``: :attr:`published` just before the labelled transactions were
        published; then only clients that received those transactions get their labels.
        """
        if self.retention is not None:
            self.retention.add(data, first=self.published, count=count, labels=True, covers=published_at or 0)
        joined = self._joined_at
        targets = [s for s in self._subscribers.values() if s.wants_labels
                   and (published_at is None or joined.get(id(s), 0) <= published_at)]
        delivered = self._fan_out(data, targets)
        self.stats.labels_sent_total += delivered * count

    def _fan_out(self, data: bytes, targets: object) -> int:
        size = len(data)
        limit = self.max_buffer_bytes
        stats = self.stats
        slow = []
        delivered = 0
        for subscriber in tuple(targets):  # type: ignore[call-overload]
            backlog = subscriber.buffered()
            if backlog:
                if backlog > stats.max_buffered_bytes:
                    stats.max_buffered_bytes = backlog
                if backlog + size > limit:
                    slow.append((subscriber, backlog))
                    continue
            subscriber.write(data)
            delivered += 1
        for subscriber, backlog in slow:
            self.drop(subscriber, f"{backlog:,} bytes unsent, limit {limit:,}: it reads slower than the stream")
        return delivered

    def drop(self, subscriber: Subscriber, reason: str) -> None:
        """Disconnect a client now and count it."""
        key = id(subscriber)
        if self._subscribers.pop(key, None) is None and self._held.pop(key, None) is None:
            return
        self._joined_at.pop(id(subscriber), None)
        self.stats.dropped_total += 1
        log.warning("dropping slow client %s (%s): %s", subscriber.peer, subscriber.kind, reason)
        subscriber.abort()

    def close_all(self) -> None:
        """Forget every client (the server closes their connections)."""
        self._subscribers.clear()
        self._held.clear()
        self._joined_at.clear()
