"""The client library against the real `fraudstream serve` (subprocess, free port)."""

from __future__ import annotations

import io
import itertools
import threading
import time

import pandas as pd

import fraudstream
from fraudstream.stream.client import DataStreamClient
from fraudstream.stream.connection import Reconnect
from fraudstream.stream.testing import free_port, serve_subprocess


class Collector(DataStreamClient):
    def __init__(self, *args, limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit
        self.seen: list[dict] = []
        self.labels_seen: list[dict] = []

    def process_transaction(self, transaction):
        self.seen.append(transaction)
        if len(self.seen) >= self.limit and (not self.labels or len(self.labels_seen) >= self.limit // 2):
            self.running = False

    def process_label(self, label):
        self.labels_seen.append(label)
        if len(self.seen) >= self.limit and len(self.labels_seen) >= self.limit // 2:
            self.running = False


def test_hook_sees_consecutive_ids_from_the_real_server():
    with serve_subprocess("--rate", "100", "--seed", "2") as (port, _):
        client = Collector("127.0.0.1", port, "Int", limit=40, output=io.StringIO(), read_timeout_s=0.1)
        client.connect_and_stream()
    ids = [tx["transactionID"] for tx in client.seen]
    assert len(ids) >= 40 and ids == list(range(ids[0], ids[0] + len(ids)))
    assert client.welcome["totalUsers"] == 25
    assert all(tx["timestamp"][10] == "T" and "isFraud" in tx for tx in client.seen)


def test_delayed_labels_reach_subscribers_only():
    with serve_subprocess("--rate", "100", "--seed", "4", "--labels", "delayed:0.2") as (port, _):
        subscriber = Collector("127.0.0.1", port, labels=True, limit=30, output=io.StringIO(),
                               read_timeout_s=0.1)
        plain = Collector("127.0.0.1", port, limit=30, output=io.StringIO(), read_timeout_s=0.1)
        threads = [threading.Thread(target=c.connect_and_stream, daemon=True) for c in (subscriber, plain)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    seen_ids = {tx["transactionID"] for tx in subscriber.seen}
    assert len(subscriber.labels_seen) >= 15
    assert all(label["type"] == "label" and label["transactionID"] in seen_ids
               for label in subscriber.labels_seen)
    assert all("isFraud" not in tx for tx in subscriber.seen + plain.seen)  # hidden in the stream
    assert plain.labels_seen == [] and plain.labels_received == 0


def test_iterators_against_the_real_server():
    with serve_subprocess("--rate", "200", "--seed", "6") as (port, _):
        with fraudstream.stream(f"127.0.0.1:{port}", batches=25) as batches:
            frames = list(itertools.islice(batches, 2))
        records = list(itertools.islice(fraudstream.stream(("127.0.0.1", port), canonical=True), 5))

        async def first_five():
            out = []
            async for tx in fraudstream.stream_async(("127.0.0.1", port)):
                out.append(tx)
                if len(out) == 5:
                    return out

        import asyncio

        async_records = asyncio.run(first_five())
    whole = pd.concat(frames, ignore_index=True)
    assert len(whole) == 50 and whole["tx_id"].is_monotonic_increasing
    assert {"tx_id", "ts", "customer_id", "merchant_id", "amount", "is_fraud"} <= set(whole.columns)
    assert str(whole["ts"].dtype) == "datetime64[ns, UTC]"
    assert all(isinstance(r["ts"], pd.Timestamp) for r in records)
    assert [tx["transactionID"] for tx in async_records] == list(
        range(async_records[0]["transactionID"], async_records[0]["transactionID"] + 5))


def test_reconnect_after_fraudstream_serve_restarts():
    port = free_port()
    client = Collector("127.0.0.1", port, limit=10**9, output=io.StringIO(), read_timeout_s=0.1,
                       reconnect=Reconnect(attempts=40, initial_s=0.1, max_s=0.5))
    welcomes = []
    client.process_welcome = welcomes.append  # type: ignore[method-assign]
    thread = threading.Thread(target=client.connect_and_stream, daemon=True)
    with serve_subprocess("--rate", "50", "--seed", "8", port=port):
        thread.start()
        deadline = time.monotonic() + 20
        while len(client.seen) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    before = len(client.seen)
    with serve_subprocess("--rate", "50", "--seed", "8", port=port):
        deadline = time.monotonic() + 30
        while len(client.seen) < before + 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        client.running = False
        thread.join(10)
    assert not thread.is_alive()
    assert before >= 5 and len(client.seen) >= before + 5
    assert len(welcomes) == 2
