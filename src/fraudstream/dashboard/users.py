"""Dashboard users in the store's ``users`` table (schema migration 2).

>>> from fraudstream.store import open_store
>>> with open_store("sqlite:///:memory:") as store:
...     add_user(store, "ana", "s3cret-pw", "analyst")
...     (list_users(store)["name"].tolist(), authenticate(store, "ana", "s3cret-pw"),
...      authenticate(store, "ana", "nope"), remove_user(store, "ana"), remove_user(store, "ana"))
(['ana'], 'analyst', None, True, False)
"""

from __future__ import annotations

import re

import pandas as pd

from fraudstream.dashboard.auth import check_role, hash_password, verify_password
from fraudstream.errors import ConfigError
from fraudstream.store import Store
from fraudstream.store.frames import now_utc

__all__ = ["add_user", "authenticate", "check_name", "list_users", "remove_user", "user_count"]

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise ConfigError(f"user name must be 1-64 letters, digits or _.@-, got {name!r}")
    return name


def add_user(store: Store, name: str, password: str, role: str, *, replace: bool = False) -> None:
    """Add user ``name`` (``replace``: change the password and role of an existing one)."""
    check_name(name)
    check_role(role)
    stored = hash_password(password)
    p = store.placeholder
    exists = bool(store._query(f"SELECT 1 FROM users WHERE name = {p}", (name,)))
    if exists and not replace:
        raise ConfigError(f"user {name!r} already exists (remove it first, or use --replace)")
    with store.batch():
        if exists:
            store._execute(
                f"UPDATE users SET role = {p}, password_hash = {p} WHERE name = {p}", (role, stored, name)
            )
        else:
            store._execute(
                f"INSERT INTO users (name, role, password_hash, created_at) VALUES ({p}, {p}, {p}, {p})",
                (name, role, stored, store._ts_param(now_utc())),
            )


def remove_user(store: Store, name: str) -> bool:
    """Remove user ``name``; whether it existed."""
    p = store.placeholder
    with store.batch():
        existed = bool(store._query(f"SELECT 1 FROM users WHERE name = {p}", (name,)))
        store._execute(f"DELETE FROM users WHERE name = {p}", (name,))
    return existed


def list_users(store: Store) -> pd.DataFrame:
    """``name, role, created_at`` of every user, by name (never the password hashes)."""
    frame = store._frame(
        "SELECT name, role, created_at FROM users ORDER BY name", (), types={"created_at": "ts"}
    )
    return frame


def user_count(store: Store) -> int:
    return int(store._query("SELECT count(*) FROM users")[0][0])


def authenticate(store: Store, name: str, password: str) -> str | None:
    """The role of ``name`` when ``password`` is right, else None."""
    rows = store._query(f"SELECT role, password_hash FROM users WHERE name = {store.placeholder}", (name,))
    if not rows:
        verify_password(password, hash_password("timing-equaliser"))  # same work for unknown names
        return None
    role, stored = rows[0]
    return str(role) if verify_password(password, str(stored)) else None
