"""Stores for the contract suite: SQLite in tmp_path and PostgreSQL in a throwaway schema."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from fraudstream.store import Store, open_store
from tests.support import PG_ADMIN, require_service


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema name in the test database, dropped afterwards."""
    require_service("postgresql")
    schema = f"fs_test_{uuid.uuid4().hex[:12]}"
    yield schema
    drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    schema = request.getfixturevalue("pg_schema")
    return f"{PG_ADMIN}?schema={schema}"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def reopen(store_url: str) -> Callable[[], Store]:
    return lambda: open_store(store_url)
