"""Connecting to a stream server: addresses, clear connection errors, and the reconnect policy.

>>> parse_address("localhost:5555"), parse_address("10.0.0.7"), parse_address("[::1]:6000")
(('localhost', 5555), ('10.0.0.7', 5555), ('::1', 6000))
>>> [round(d, 2) for d in Reconnect(attempts=5, initial_s=0.5, max_s=3.0).delays()]
[0.5, 1.0, 2.0, 3.0, 3.0]
>>> list(Reconnect(attempts=0).delays())
[]
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Iterator

from fraudstream.errors import ConfigError, TransportError

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Reconnect",
    "Reconnection",
    "connect_error",
    "open_socket",
    "parse_address",
]

log = logging.getLogger(__name__)

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 5555


def parse_address(address: str | tuple[str, int]) -> tuple[str, int]:
    """``"host:port"``, ``"host"`` (port 5555), ``"[v6]:port"`` or ``(host, port)`` -> ``(host, port)``."""
    if isinstance(address, tuple):
        host, port = address
        return str(host), _port(port, address)
    text = address.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    return (host or DEFAULT_HOST), (_port(port_text, address) if port_text else DEFAULT_PORT)


def _port(value: object, address: object) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise ConfigError(f"port must be an integer 1..65535, got {value!r} in address {address!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"port must be 1..65535, got {port} in address {address!r}")
    return port


def connect_error(host: str, port: int, error: OSError) -> TransportError:
    """One clear line, with the fix, for a failed connection."""
    where = f"{host}:{port}"
    if isinstance(error, ConnectionRefusedError):
        text = f"no server at {where}: start one with `fraudstream serve` or check --host/--port"
    elif isinstance(error, socket.gaierror):
        text = f"cannot resolve host {host!r} ({error.strerror}): check --host (an IP such as 192.168.1.5)"
    elif isinstance(error, TimeoutError):
        text = (f"no answer from {where}: check --host/--port, that the server runs with --host 0.0.0.0, "
                f"and that the firewall allows TCP port {port}")
    else:
        text = f"cannot connect to {where}: {error.strerror or error}"
    transport_error = TransportError(text)
    transport_error.__cause__ = error
    return transport_error


def open_socket(host: str, port: int, *, connect_timeout_s: float = 5.0,
                read_timeout_s: float = 0.5) -> socket.socket:
    """A connected TCP socket whose reads time out after ``read_timeout_s`` (so stops are prompt);
    :class:`TransportError` with a clear line if it cannot connect."""
    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout_s)
    except OSError as error:
        raise connect_error(host, port, error) from error
    sock.settimeout(read_timeout_s)
    return sock


@dataclasses.dataclass(frozen=True)
class Reconnect:
    """How a client reconnects after losing an established connection: up to ``attempts`` tries,
    waiting ``initial_s``, then ``factor`` times longer each time, never more than ``max_s``.

    ``attempts=0`` never reconnects. The first connection is never retried: a wrong address
    should fail at once with a clear line.
    """

    attempts: int = 5
    initial_s: float = 0.5
    max_s: float = 8.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 0:
            raise ConfigError(f"reconnect attempts must be >= 0, got {self.attempts}")
        if not (self.initial_s >= 0 and self.max_s >= self.initial_s and self.factor >= 1):
            raise ConfigError(
                f"reconnect needs 0 <= initial_s <= max_s and factor >= 1, got initial_s={self.initial_s}, "
                f"max_s={self.max_s}, factor={self.factor}"
            )

    def delays(self) -> Iterator[float]:
        """The wait before each attempt, in seconds."""
        delay = self.initial_s
        for _ in range(self.attempts):
            yield min(delay, self.max_s)
            delay *= self.factor


class Reconnection:
    """One round of reconnect attempts to ``address`` under a :class:`Reconnect` policy, logged.

    Iterate it for the wait before each attempt; report a failed attempt with :meth:`failed`, a
    success with :meth:`succeeded`; when the waits run out, :meth:`give_up` raises the
    :class:`TransportError` (or returns, when the policy allowed no attempt at all). The sync and
    asyncio readers share it, each waiting and connecting its own way.

    >>> tries = Reconnection(Reconnect(attempts=2, initial_s=0.0), "h:1")
    >>> for delay in tries:
    ...     tries.failed(TransportError("refused"))
    >>> try:
    ...     tries.give_up()
    ... except TransportError as error:
    ...     print(error)
    lost the connection to h:1 and could not reconnect after 2 attempts (refused)
    >>> Reconnection(Reconnect(attempts=0), "h:1").give_up()  # a policy that never reconnects
    """

    def __init__(self, policy: Reconnect, address: str) -> None:
        self.policy = policy
        self.address = address
        self.attempt = 0
        self.last_error: TransportError | None = None

    def __iter__(self) -> Iterator[float]:
        for attempt, delay in enumerate(self.policy.delays(), start=1):
            self.attempt = attempt
            log.warning("reconnecting to %s in %.1f s (attempt %d of %d)", self.address, delay, self.attempt,
                        self.policy.attempts)
            yield delay

    def failed(self, error: TransportError) -> None:
        self.last_error = error
        log.warning("reconnect attempt %d failed: %s", self.attempt, error)

    def succeeded(self) -> None:
        log.warning("reconnected to %s", self.address)

    def give_up(self) -> None:
        if self.attempt:
            raise TransportError(
                f"lost the connection to {self.address} and could not reconnect after {self.attempt} "
                f"attempts ({self.last_error})"
            )


NO_RECONNECT = Reconnect(attempts=0)
