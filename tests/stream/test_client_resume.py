"""``fraudstream.stream(resume=True)`` and ``DataStreamClient(resume=True)`` over real sockets: a
client dropped for reading too slowly comes back right after the last transaction it read;
without ``resume`` the same stall loses lines; a plain NDJSON server still streams."""

from __future__ import annotations

import io
import json
import time

import fraudstream
from fraudstream.stream.client import DataStreamClient
from fraudstream.stream.connection import Reconnect
from fraudstream.stream.testing import LineServer
from tests.stream.server_harness import running
from tests.support import wait_until

FAST_RECONNECT = Reconnect(attempts=50, initial_s=0.05, max_s=0.2)
SLOW_CLIENT = {"rate": 30_000, "max_buffer_bytes": 64 << 10, "retain_bytes": 64 << 20}
"""A fast stream and a small per-client buffer: a reader that stalls for 3 s is dropped."""


def _ids_with_a_stall(txs: fraudstream.stream, n: int) -> list[int]:  # type: ignore[valid-type]
    ids: list[int] = []
    for message in txs:
        ids.append(int(message["transactionID"]))
        if len(ids) == 2000:
            time.sleep(3.0)
        if len(ids) >= n:
            return ids
    raise AssertionError(f"the stream ended after {len(ids)} transactions")


def test_a_resuming_stream_dropped_as_slow_comes_back_without_a_gap() -> None:
    with running(**SLOW_CLIENT) as srv:
        txs = fraudstream.stream(f"127.0.0.1:{srv.server.port}", reconnect=FAST_RECONNECT, resume=True)
        with txs:
            ids = _ids_with_a_stall(txs, 100_000)
        stats = srv.server.hub.stats
    assert stats.dropped_total >= 1, "the stalled reader must have been dropped"
    offsets = txs.reader.offsets
    assert offsets.resumes >= 1 and offsets.lost_lines == 0
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # nothing missed, nothing twice
    assert txs.reader.position == ids[-1] and txs.welcome["type"] == "connection"


def test_without_resume_the_same_stall_loses_lines() -> None:
    with running(**SLOW_CLIENT) as srv, fraudstream.stream(
        f"127.0.0.1:{srv.server.port}", reconnect=FAST_RECONNECT
    ) as txs:
        ids = _ids_with_a_stall(txs, 100_000)
    assert ids[-1] - ids[0] + 1 > len(ids), "a dropped plain client misses what was sent meanwhile"


def test_a_stream_started_after_a_saved_offset_begins_right_after_it() -> None:
    with running(rate=4000, retain_bytes=32 << 20) as srv:
        assert wait_until(lambda: srv.server.hub.published > 3000)
        with fraudstream.stream(f"127.0.0.1:{srv.server.port}", resume_after=1234) as txs:
            ids = [int(m["transactionID"]) for _, m in zip(range(500), txs, strict=False)]
    assert ids == list(range(1235, 1735)) and txs.reader.position == 1734


def test_a_data_stream_client_subclass_resumes_too() -> None:
    class Collector(DataStreamClient):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            self.ids: list[int] = []

        def process_transaction(self, transaction):  # type: ignore[no-untyped-def]
            self.ids.append(int(transaction["transactionID"]))
            if len(self.ids) == 2000:
                time.sleep(3.0)
            if len(self.ids) >= 60_000:
                self.stop()

    with running(**SLOW_CLIENT) as srv:
        client = Collector("127.0.0.1", srv.server.port, resume=True, reconnect=FAST_RECONNECT,
                           output=io.StringIO())
        client.connect_and_stream()
        dropped = srv.server.hub.stats.dropped_total
    assert dropped >= 1 and client.welcome is not None
    assert client.ids == list(range(client.ids[0], client.ids[0] + 60_000))


def test_a_plain_ndjson_server_still_streams_to_a_resuming_client(tx_lines) -> None:
    lines = tx_lines(40)
    with LineServer(lines, close_after=False) as server, fraudstream.stream(
        f"127.0.0.1:{server.port}", reconnect=Reconnect(attempts=0), resume=True
    ) as txs:
        received = [m for _, m in zip(range(len(lines)), txs, strict=False)]  # after the answer timeout
    assert [m["transactionID"] for m in received] == [json.loads(line)["transactionID"] for line in lines]
    assert txs.welcome is not None and txs.reader.position is None  # no offsets from this server
    assert json.loads(server.received[0])["offsets"] is True


def test_an_answer_without_a_valid_next_offset_streams_on_without_offsets(caplog) -> None:
    from fraudstream.stream.offsets import StreamOffsets

    offsets = StreamOffsets("tcp://h:1")
    offsets.subscribe(labels=False, after=41)
    numbered = offsets.number([b'{"amount": 1}', b'{"type": "resume", "after": 41, "next": "42"}', b'{"amount": 2}'])
    assert numbered == [(b'{"amount": 1}', None), (b'{"amount": 2}', None)]  # nothing lost, no offsets
    assert offsets.position is None and offsets.answer_wait_s() is None
    assert any('no valid "next" offset' in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
