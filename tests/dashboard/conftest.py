"""A dashboard served by uvicorn on a free loopback port, over SQLite or PostgreSQL with
sample data, and logged-in HTTP clients for each role."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from fraudstream.dashboard.app import DashboardConfig, create_app
from fraudstream.dashboard.sample import fill
from fraudstream.dashboard.users import add_user
from fraudstream.store import open_store
from tests.support import PG_ADMIN, free_port, require_service

PASSWORDS = {"admin": "admin-pass-1", "ana": "analyst-pass-1", "vic": "viewer-pass-1"}
ROLES = {"admin": "admin", "ana": "analyst", "vic": "viewer"}
ROWS = 3000


@dataclass
class Served:
    url: str
    store_url: str
    app: Any
    clients: list[httpx.Client]

    def client(self, user: str | None = None) -> httpx.Client:
        """An HTTP client, logged in as ``user`` (its CSRF token in ``client.csrf``)."""
        client = httpx.Client(base_url=self.url, timeout=20, follow_redirects=False)
        client.csrf = None  # type: ignore[attr-defined]
        self.clients.append(client)
        if user is not None:
            answer = client.post("/api/login", json={"name": user, "password": PASSWORDS[user]})
            assert answer.status_code == 200, answer.text
            client.csrf = answer.json()["csrf_token"]  # type: ignore[attr-defined]
        return client


@contextmanager
def serve(store_url: str, **config: Any) -> Iterator[Served]:
    app = create_app(DashboardConfig(store_url=store_url, **config))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1, lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    try:
        running = Served(f"http://127.0.0.1:{port}", store_url, app, [])
        yield running
    finally:
        for client in running.clients:
            client.close()
        server.should_exit = True
        thread.join(timeout=10)


def prepare(store_url: str, rows: int = ROWS) -> None:
    with open_store(store_url) as store:
        fill(store, rows=rows, seed=3)
        for name, role in ROLES.items():
            add_user(store, name, PASSWORDS[name], role)


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    require_service("postgresql")
    schema = f"fs_dash_{uuid.uuid4().hex[:10]}"
    yield f"{PG_ADMIN}?schema={schema}"
    _drop_schema(schema)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A store URL in a throwaway PostgreSQL schema (dropped afterwards)."""
    require_service("postgresql")
    schema = f"fs_dash_{uuid.uuid4().hex[:10]}"
    yield f"{PG_ADMIN}?schema={schema}"
    _drop_schema(schema)


@pytest.fixture
def served(store_url: str) -> Iterator[Served]:
    prepare(store_url)
    with serve(store_url) as running:
        yield running


@pytest.fixture
def sqlite_served(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    prepare(url)
    with serve(url) as running:
        yield running


@pytest.fixture
def make_served(tmp_path: Path) -> Callable[..., Any]:
    """``make_served(**config)``: a context manager serving a fresh SQLite store."""

    def make(**config: Any) -> Any:
        url = f"sqlite:///{tmp_path / f'store-{uuid.uuid4().hex[:6]}.db'}"
        prepare(url, rows=200)
        return serve(url, **config)

    return make
