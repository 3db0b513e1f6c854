"""Outages and backpressure against real databases: a killed connection, a stopped proxy in
front of PostgreSQL, a SQLite file locked by another writer."""

from __future__ import annotations

import sqlite3
import threading
import time

import numpy as np
import pandas as pd
import psycopg
import pytest

from fraudstream.errors import StoreError
from fraudstream.store import open_store
from fraudstream.store.buffered import BufferedWriter
from tests.store.store_proxy import Proxy
from tests.support import PG_ADMIN, require_service


def batch(start: int, n: int = 50) -> pd.DataFrame:
    ids = np.arange(start, start + n, dtype=np.int64)
    return pd.DataFrame(
        {
            "tx_id": ids,
            "ts": pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(ids, unit="min"),
            "customer_id": ids % 7,
            "merchant_id": "M1",
            "amount": np.full(n, 10.0),
            "is_fraud": ids % 10 == 0,
        }
    )


def wait_for(condition, what: str, limit_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def distinct_ids(store) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    rows = store._query("SELECT count(*), count(DISTINCT tx_id) FROM transactions")
    return int(rows[0][0]), int(rows[0][1])


def test_terminated_connection_mid_stream_loses_and_doubles_nothing(pg_schema):
    url = f"{PG_ADMIN}?schema={pg_schema}"
    with (
        open_store(url) as store,
        BufferedWriter(lambda: store, max_pending=4, retry_for_s=20, owns_store=False) as writer,
    ):
        for k in range(5):
            writer.write_transactions(batch(k * 50), checkpoint=("feed", k))
        writer.flush()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (store.backend_pid(),))
        for k in range(5, 10):
            writer.write_transactions(batch(k * 50), checkpoint=("feed", k))
            writer.write_transactions(batch(k * 50 - 25))  # overlaps the previous batch: idempotent
        writer.flush()
        assert writer.reconnects >= 1
        assert distinct_ids(store) == (500, 500)
        assert store.read_checkpoint("feed") == 9 and store.count("labels") == 500


@pytest.fixture
def proxied(pg_schema):  # type: ignore[no-untyped-def]
    host, port = require_service("postgresql")
    proxy = Proxy((host, port)).start()
    yield proxy, f"postgresql://postgres@127.0.0.1:{proxy.port}/test?schema={pg_schema}&connect_timeout=2"
    proxy.close()


def test_outage_behind_a_proxy_blocks_producers_then_drains_everything(proxied):
    proxy, url = proxied
    writer = BufferedWriter(
        lambda: open_store(url), max_pending=3, merge_rows=1, retry_for_s=60, max_backoff_s=0.2
    )
    proxy.stop()
    produced = []

    def produce() -> None:
        for k in range(12):
            writer.write_transactions(batch(k * 50), checkpoint=("feed", k))
            produced.append(k)

    producer = threading.Thread(target=produce)
    producer.start()
    # one batch in the writer's hands, max_pending in the queue, then the producer blocks
    wait_for(lambda: len(produced) >= 4, "the queue to fill")
    time.sleep(0.5)
    assert len(produced) == 4 and writer.pending == 3 and producer.is_alive()
    assert writer.max_seen_pending <= 3
    proxy.start()
    producer.join(timeout=30)
    writer.close()
    with open_store(url) as store:
        assert distinct_ids(store) == (600, 600) and store.read_checkpoint("feed") == 11


def test_long_outage_fails_loudly_naming_the_last_checkpoint(proxied):
    proxy, url = proxied
    writer = BufferedWriter(lambda: open_store(url), max_pending=2, retry_for_s=1.0, max_backoff_s=0.2)
    writer.write_transactions(batch(0), checkpoint=("feed", 0))
    writer.flush()
    proxy.stop()
    writer.write_transactions(batch(50), checkpoint=("feed", 1))
    with pytest.raises(StoreError) as failure:
        writer.flush()
    message = str(failure.value)
    assert message.startswith(f"PostgreSQL at 127.0.0.1:{proxy.port} unreachable for ")
    assert "data since checkpoint ('feed', 0) is not stored" in message and "50 rows" in message
    with pytest.raises(StoreError, match="unreachable"):
        writer.write_transactions(batch(100))
    with pytest.raises(StoreError):
        writer.close()


def test_sqlite_locked_by_another_writer_applies_backpressure(tmp_path):
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}?timeout=0.05"
    open_store(url).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock
    writer = BufferedWriter(
        lambda: open_store(url), max_pending=2, merge_rows=1, retry_for_s=60, max_backoff_s=0.1
    )
    produced = []

    def produce() -> None:
        for k in range(8):
            writer.write_transactions(batch(k * 50))
            produced.append(k)

    producer = threading.Thread(target=produce)
    producer.start()
    wait_for(lambda: len(produced) >= 3, "the queue to fill")
    time.sleep(0.3)
    assert len(produced) == 3 and writer.pending == 2 and producer.is_alive()
    blocker.execute("ROLLBACK")
    blocker.close()
    producer.join(timeout=30)
    writer.close()
    with open_store(url) as store:
        assert store.count("transactions") == 400
