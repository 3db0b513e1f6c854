"""Failed-login throttling: too many wrong passwords for one user name, or from one client
address, within a window refuse further attempts for a while.

Each failed login is remembered under its user name and its client address (in the server's
memory, like the sessions). While a name has ``max_failures`` failures in the last ``window_s``
seconds, or an address ``max_failures * per_address_factor`` (one address trying many names),
logins for it are refused before the password is checked, with the number of seconds until the
oldest of those failures leaves the window. A successful login clears the name's failures.
Behind a reverse proxy every client has the proxy's address, so the per-address limit then
counts everyone together.

>>> now = [1000.0]
>>> throttle = LoginThrottle(max_failures=2, window_s=60, clock=lambda: now[0])
>>> throttle.refused("ana", "10.0.0.1") is None
True
>>> throttle.failed("ana", "10.0.0.1"); throttle.failed("ana", "10.0.0.1")
>>> throttle.refused("ana", "10.0.0.1")
Refusal(reason='too many failed logins for user ana', retry_after_s=60)
>>> throttle.refused("bob", "10.0.0.1") is None  # another name from the same address
True
>>> now[0] += 61
>>> throttle.refused("ana", "10.0.0.1") is None
True
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fraudstream.errors import ConfigError

__all__ = ["LoginThrottle", "Refusal"]

_SWEEP_AT = 10_000
"""Names and addresses remembered before expired ones are swept out."""


@dataclass(frozen=True)
class Refusal:
    """Why a login is refused and in how many seconds the next attempt can succeed."""

    reason: str
    retry_after_s: int

    def message(self) -> str:
        return f"{self.reason}: try again in {self.retry_after_s} s"


class LoginThrottle:
    """Counts failed logins per user name and per client address in a sliding window."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 900.0,
        per_address_factor: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1:
            raise ConfigError(f"max failed logins must be >= 1, got {max_failures}")
        if window_s <= 0:
            raise ConfigError(f"failed-login window must be > 0 seconds, got {window_s}")
        self.max_failures = max_failures
        self.window_s = window_s
        self.per_address_factor = per_address_factor
        self.clock = clock
        self._failures: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> collections.deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return collections.deque()
        while stamps and stamps[0] <= now - self.window_s:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def refused(self, name: str, address: str) -> Refusal | None:
        """Why a login of ``name`` from ``address`` is refused now, or None when it may be tried."""
        now = self.clock()
        limits = (
            (f"user:{name}", self.max_failures, f"too many failed logins for user {name}"),
            (f"address:{address}", self.max_failures * self.per_address_factor,
             f"too many failed logins from {address}"),
        )
        with self._lock:
            for key, limit, reason in limits:
                stamps = self._recent(key, now)
                if len(stamps) >= limit:
                    wait = stamps[len(stamps) - limit] + self.window_s - now
                    return Refusal(reason, max(1, math.ceil(wait)))
        return None

    def failed(self, name: str, address: str) -> None:
        """Remember a failed login of ``name`` from ``address``."""
        now = self.clock()
        with self._lock:
            if len(self._failures) > _SWEEP_AT:  # many names tried: forget what left the window
                for key in list(self._failures):
                    self._recent(key, now)
            for key in (f"user:{name}", f"address:{address}"):
                self._recent(key, now)
                self._failures.setdefault(key, collections.deque()).append(now)

    def succeeded(self, name: str) -> None:
        """A successful login of ``name`` clears its failures (not its address's)."""
        with self._lock:
            self._failures.pop(f"user:{name}", None)
