"""Passwords, sessions, CSRF tokens and roles of the dashboard.

Passwords are hashed with the standard library's ``hashlib.scrypt`` (n=2**14, r=8, p=1, a
random 16-byte salt); the stored text names its parameters so they can be raised later.
Sessions live in the server's memory: a random token in an HttpOnly, SameSite=Strict cookie,
a per-session CSRF token that every state-changing request must echo (form field
``csrf_token`` or header ``X-CSRF-Token``), and an absolute expiry.

>>> stored = hash_password("correct horse")
>>> verify_password("correct horse", stored), verify_password("wrong", stored)
(True, False)
>>> sessions = Sessions(ttl_s=60, clock=lambda: 1000.0)
>>> s = sessions.create("ana", "analyst")
>>> sessions.get(s.token).name, s.allows("viewer"), s.allows("admin")
('ana', True, False)
>>> sessions.clock = lambda: 1061.0
>>> sessions.get(s.token) is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fraudstream.errors import ConfigError

__all__ = ["ROLES", "Session", "Sessions", "check_role", "hash_password", "verify_password"]

ROLES = ("viewer", "analyst", "admin")
"""Roles from least to most privileged: viewers read, analysts also triage alerts, admins also
see the user list."""

_N, _R, _P, _LEN = 2**14, 8, 1, 32


def check_role(role: str) -> str:
    """``role`` when it is one of :data:`ROLES`, else ConfigError."""
    if role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex) of ``password``."""
    if not password:
        raise ConfigError("password must not be empty")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(bytes.fromhex(digest)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


@dataclass
class Session:
    token: str
    name: str
    role: str
    csrf: str
    expires_at: float

    def allows(self, role: str) -> bool:
        """Whether this session's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def csrf_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf, given or "")


class Sessions:
    """Live sessions by token; a session expires ``ttl_s`` seconds after login."""

    def __init__(self, ttl_s: float = 8 * 3600, clock: Callable[[], float] = time.time) -> None:
        if ttl_s <= 0:
            raise ConfigError(f"session lifetime must be > 0 seconds, got {ttl_s}")
        self.ttl_s = ttl_s
        self.clock = clock
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, name: str, role: str) -> Session:
        session = Session(
            secrets.token_urlsafe(32),
            name,
            check_role(role),
            secrets.token_urlsafe(32),
            self.clock() + self.ttl_s,
        )
        with self._lock:
            self._drop_expired()
            self._by_token[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of ``token``; None when unknown or expired (and then forgotten)."""
        if not token:
            return None
        with self._lock:
            session = self._by_token.get(token)
            if session is not None and session.expires_at <= self.clock():
                del self._by_token[token]
                return None
            return session

    def end(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)

    def end_user(self, name: str) -> None:
        """Log out every session of ``name`` (after the user is removed)."""
        with self._lock:
            for token in [t for t, s in self._by_token.items() if s.name == name]:
                del self._by_token[token]

    def _drop_expired(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._by_token.items() if s.expires_at <= now]:
            del self._by_token[token]
