"""fraudstream.stream / fraudstream.stream_async against a real loopback server."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

import fraudstream
from fraudstream.adapters.classroom import ClassroomAdapter, decode_line
from fraudstream.errors import TransportError
from fraudstream.stream.connection import Reconnect
from fraudstream.stream.protocol import canonical_json_lines, label_message
from fraudstream.stream.testing import LineServer

ONCE = Reconnect(attempts=0)


def test_stream_yields_the_wire_dicts_in_order_and_keeps_the_welcome(tx_lines):
    lines = tx_lines(30)
    with LineServer(lines) as server, fraudstream.stream(f"127.0.0.1:{server.port}", reconnect=ONCE) as txs:
        received = list(txs)
    assert received == [decode_line(line) for line in lines]
    assert txs.welcome["type"] == "connection"
    assert server.received == []


def test_canonical_decoding_equals_the_adapter(tx_lines):
    lines = tx_lines(12, fraud_every=4)
    with LineServer(lines) as server:
        records = list(fraudstream.stream(("127.0.0.1", server.port), canonical=True, reconnect=ONCE))
    expected = ClassroomAdapter().to_canonical(pd.DataFrame.from_records([decode_line(x) for x in lines]))
    got = pd.DataFrame.from_records(records)[list(expected.columns)]
    pd.testing.assert_frame_equal(got.astype(expected.dtypes.to_dict()), expected)
    assert records[3]["fraud_pattern"] == "sudden_spike" and records[0]["fraud_pattern"] is None


def test_canonical_world_lines_are_decoded_too(classroom_frame):
    frame = classroom_frame(4)[["tx_id", "ts", "customer_id", "merchant_id", "amount", "is_fraud"]]
    with LineServer(canonical_json_lines(frame)) as server:
        records = list(fraudstream.stream(("127.0.0.1", server.port), canonical=True, reconnect=ONCE))
    assert [r["ts"] for r in records] == list(frame["ts"])
    assert [r["amount"] for r in records] == frame["amount"].tolist()


def test_batches_are_canonical_frames(tx_lines):
    with LineServer(tx_lines(25)) as server:
        batches = list(fraudstream.stream(("127.0.0.1", server.port), batches=10, reconnect=ONCE))
    assert [len(b) for b in batches] == [10, 10, 5]
    whole = pd.concat(batches, ignore_index=True)
    assert whole["tx_id"].tolist() == list(range(1, 26))
    assert str(whole["ts"].dtype) == "datetime64[ns, UTC]"


def test_partial_batch_is_flushed_while_the_stream_is_quiet(tx_lines):
    with LineServer(tx_lines(3), close_after=False) as server:
        stream = fraudstream.stream(("127.0.0.1", server.port), batches=1000, max_wait_s=0.1,
                                    read_timeout_s=0.05)
        with stream:
            first = next(iter(stream))
    assert first["tx_id"].tolist() == [1, 2, 3]


def test_labels_are_yielded_only_when_subscribed(tx_lines):
    lines = [*tx_lines(2), label_message(1, False, None, classroom=True),
             label_message(2, True, "round_numbers", classroom=True)]
    with LineServer(lines, interval_s=0.05) as server:
        address = ("127.0.0.1", server.port)
        with_labels = list(fraudstream.stream(address, labels=True, canonical=True, reconnect=ONCE))
        plain = list(fraudstream.stream(address, reconnect=ONCE))
    assert [r.get("type") for r in with_labels] == [None, None, "label", "label"]
    assert with_labels[3] == {"type": "label", "tx_id": 2, "is_fraud": True, "fraud_pattern": "round_numbers"}
    assert [r["transactionID"] for r in plain] == [1, 2]


def test_refused_connection_raises_at_once(free_port):
    with pytest.raises(TransportError, match=f"no server at 127.0.0.1:{free_port}: start one with"):
        list(fraudstream.stream(f"127.0.0.1:{free_port}"))


def test_async_stream_yields_the_same(tx_lines):
    lines = tx_lines(15)

    async def collect(port: int) -> list:
        out = []
        async with fraudstream.stream_async(("127.0.0.1", port), reconnect=ONCE) as txs:
            async for tx in txs:
                out.append(tx)
        return out

    with LineServer(lines) as server:
        received = asyncio.run(collect(server.port))
    assert received == [decode_line(line) for line in lines]


def test_async_batches_labels_and_break(tx_lines):
    lines = [*tx_lines(4), label_message(3, True, "unusual_time", classroom=True)]

    async def collect(port: int) -> list:
        items = []
        async for item in fraudstream.stream_async(("127.0.0.1", port), labels=True, batches=2,
                                                   reconnect=ONCE):
            items.append(item)
            if isinstance(item, dict):
                break
        return items

    with LineServer(lines, interval_s=0.05) as server:
        items = asyncio.run(collect(server.port))
    assert [len(b) for b in items[:2]] == [2, 2]
    assert items[2] == {"type": "label", "tx_id": 3, "is_fraud": True, "fraud_pattern": "unusual_time"}


def test_async_reconnects(tx_lines, free_port):
    server = LineServer(tx_lines(3), port=free_port, close_after=False).start()

    async def collect() -> list:
        ids = []
        stream = fraudstream.stream_async(("127.0.0.1", free_port), read_timeout_s=0.05,
                                          reconnect=Reconnect(attempts=20, initial_s=0.05, max_s=0.2))
        async for tx in stream:
            ids.append(tx["transactionID"])
            if len(ids) == 3:
                await asyncio.to_thread(server.stop)
                await asyncio.to_thread(server.start)
            if len(ids) == 6:
                break
        return ids

    try:
        assert asyncio.run(collect()) == [1, 2, 3, 1, 2, 3]
    finally:
        server.stop()


def test_async_refused(free_port):
    async def run() -> None:
        async for _ in fraudstream.stream_async(("127.0.0.1", free_port)):
            pass

    with pytest.raises(TransportError, match="no server at"):
        asyncio.run(run())


@pytest.mark.parametrize("mode", ["inline", "hidden"])
def test_batch_decoding_equals_the_adapter(classroom_frame, mode):
    """Oracle: the columnar batch decoder gives the adapter's frame, fraud and hidden labels too."""
    from fraudstream.adapters.classroom import encode_lines
    from fraudstream.stream.messages import frame_of

    rows = [decode_line(line) for line in encode_lines(classroom_frame(40, fraud_every=7), labels=mode)]
    expected = ClassroomAdapter().to_canonical(pd.DataFrame.from_records(rows))
    pd.testing.assert_frame_equal(frame_of(rows), expected)


def test_batch_decoding_names_a_missing_field():
    from fraudstream.errors import InvalidRecord
    from fraudstream.stream.messages import frame_of

    with pytest.raises(InvalidRecord, match="missing field itemID"):
        frame_of([{"transactionID": 1, "userID": 2, "amount": 3.0, "timestamp": "2024-01-01T00:00:00"}])
