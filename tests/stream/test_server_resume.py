"""Offsets and resuming after an offset, over real sockets: exact lines after the offset (a batch
cut inside), the seam between retained and live data, gaps beyond the ring, labels again on
resume, bad requests, and seed-format clients that see nothing new."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from fraudstream.stream.protocol import subscribe_message
from fraudstream.stream.retention import Retention
from tests.stream.server_harness import WELCOME, LineReader, RunningServer, running
from tests.stream.test_server import expected_line
from tests.support import wait_until


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request: pytest.FixtureRequest) -> str:
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    return request.param


def tx_id(line: bytes) -> int:
    return int(json.loads(line)["transactionID"])


def resume(port: int, after: int, *, labels: bool = False) -> tuple[dict[str, Any], LineReader]:
    """Connect, ask to resume after ``after``; the server's answer and the reader after it."""
    client = LineReader(port)
    assert client.line() == WELCOME  # the welcome is the seed's, resume or not
    client.send(subscribe_message(labels=labels, resume_after=after))
    while True:  # what came before the answer is sent again after it
        message = json.loads(client.line())
        if message.get("type") in ("resume", "gap", "error"):
            return message, client


def ring_batches(srv: RunningServer) -> list[tuple[int, int]]:
    """(first offset, line count) of the transaction batches in the server's ring."""
    ring = srv.server.hub.retention
    return srv.call(lambda: [(e.first, e.count) for e in list(ring._ring) if not e.labels])


def test_resume_sends_exactly_the_lines_after_the_offset_cutting_a_batch(loop: str) -> None:
    with running(rate=4000, retain_bytes=32 << 20, loop=loop) as srv:
        assert wait_until(lambda: srv.server.hub.published > 2000)
        first, _count = next(b for b in ring_batches(srv) if b[1] >= 3 and b[0] > 100)
        after = first  # that batch starts before offset after + 1: it is cut
        answer, client = resume(srv.server.port, after)
        lines = client.lines(4000)  # retained lines, then live ones: the seam is inside
        client.close()
    assert {k: answer[k] for k in ("type", "after", "next")} == {"type": "resume", "after": after, "next": after + 1}
    assert [tx_id(line) for line in lines] == list(range(after + 1, after + 4001))
    assert lines[:5] == [expected_line(t) for t in range(after + 1, after + 6)]  # the ring's bytes, unchanged


def test_a_client_asking_for_offsets_gets_them_from_where_it_joined(loop: str) -> None:
    with running(rate=2000, retain_bytes=8 << 20, loop=loop) as srv:
        assert wait_until(lambda: srv.server.hub.published > 500)
        client = LineReader(srv.server.port)
        joined = srv.server.hub.published
        client.line()
        client.send(subscribe_message(labels=False, offsets=True))
        messages = [json.loads(client.line())]
        while messages[-1].get("type") != "resume":
            messages.append(json.loads(client.line()))
        answer = messages[-1]
        lines = client.lines(100)
        client.close()
    assert joined <= answer["after"] == answer["next"] - 1 < joined + 100
    assert isinstance(answer["stream"], str) and answer["retained"][0] == 1
    assert answer["retained"][1] >= answer["after"]
    assert [tx_id(line) for line in lines] == list(range(answer["next"], answer["next"] + 100))
    before = [m["transactionID"] for m in messages if "type" not in m]  # sent again after the answer
    assert before == list(range(answer["next"], answer["next"] + len(before)))


def test_offsets_older_than_the_ring_are_an_explicit_gap(loop: str) -> None:
    with running(rate=4000, retain_bytes=60_000, loop=loop) as srv:  # ~200 lines retained
        assert wait_until(lambda: srv.server.hub.retention.evicted_through > 1000)
        answer, client = resume(srv.server.port, 10)
        lines = client.lines(300)
        client.close()
        stats = srv.server.hub.stats
    assert answer["type"] == "gap" and answer["after"] == 10 and answer["from"] == 11
    assert answer["lost"] == answer["to"] - 10 and answer["next"] == answer["to"] + 1
    assert [tx_id(line) for line in lines] == list(range(answer["next"], answer["next"] + 300))
    assert stats.gaps_total == 1 and stats.resumed_total == 1


def test_health_reports_the_ring_and_the_resumes() -> None:
    with running(rate=2000, retain_bytes=1 << 20, http=True) as srv:
        assert wait_until(lambda: srv.server.hub.published > 300)
        answer, client = resume(srv.server.port, 100)
        client.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.server.http_port}/health", timeout=5) as response:
            retention = json.loads(response.read())["retention"]
    assert answer["type"] == "resume" and retention["resumed"] == 1 and retention["gaps"] == 0
    assert retention["max_bytes"] == 1 << 20 and 0 < retention["bytes"] <= 1 << 20
    assert retention["offsets"][0] == 1 and retention["stream"] == answer["stream"]


def test_a_resume_beyond_the_stream_is_a_reset_then_the_stream_from_the_join(loop: str) -> None:
    with running(rate=2000, retain_bytes=8 << 20, loop=loop) as srv:
        client = LineReader(srv.server.port)
        client.line()
        client.send(subscribe_message(labels=False, resume_after=10**9))
        messages = []
        while not messages or messages[-1].get("type") != "resume":
            messages.append(json.loads(client.line()))
        reset = next(m for m in messages if m.get("type") == "reset")
        lines = client.lines(50)
        client.close()
    assert reset["after"] == 10**9 and reset["last"] < 10**9
    assert messages[-1]["after"] <= reset["last"]  # from the offset the client joined at
    assert [tx_id(line) for line in lines] == list(range(messages[-1]["next"], messages[-1]["next"] + 50))


def test_offsets_of_another_run_of_the_server_are_a_reset_even_within_this_ones() -> None:
    with running(rate=2000, retain_bytes=8 << 20) as srv:
        assert wait_until(lambda: srv.server.hub.published > 300)
        client = LineReader(srv.server.port)
        client.line()
        client.send(subscribe_message(labels=False, resume_after=100, stream="an-earlier-run"))
        messages = []
        while not messages or messages[-1].get("type") != "resume":
            messages.append(json.loads(client.line()))
        client.close()
    reset = next(m for m in messages if m.get("type") == "reset")
    assert reset["after"] == 100 and reset["stream"] == messages[-1]["stream"] == srv.server.stream_id
    assert messages[-1]["after"] > 300  # from the offset the client joined at, not after 100


def test_offsets_of_this_run_resume_when_the_client_names_it() -> None:
    with running(rate=2000, retain_bytes=8 << 20) as srv:
        assert wait_until(lambda: srv.server.hub.published > 300)
        client = LineReader(srv.server.port)
        client.line()
        client.send(subscribe_message(labels=False, resume_after=100, stream=srv.server.stream_id))
        answer = next(m for m in (json.loads(client.line()) for _ in range(2000)) if m.get("type") == "resume")
        lines = client.lines(10)
        client.close()
    assert answer["after"] == 100 and [tx_id(line) for line in lines] == list(range(101, 111))


def test_a_stream_id_that_is_not_text_gets_an_error_naming_the_field() -> None:
    with running(rate=500, retain_bytes=1 << 20) as srv:
        client = LineReader(srv.server.port)
        client.line()
        client.send(json.dumps({"type": "subscribe", "resume_after": 5, "stream": 7}).encode() + b"\n")
        error = next(m for m in (json.loads(client.line()) for _ in range(200)) if m.get("type") == "error")
        client.close()
    assert error["field"] == "stream" and "got 7" in error["message"]


@pytest.mark.parametrize("bad", [-1, "12", 1.5, True])
def test_a_bad_resume_after_gets_an_error_naming_the_field(bad: object) -> None:
    with running(rate=500, retain_bytes=1 << 20) as srv:
        client = LineReader(srv.server.port)
        client.line()
        client.send(json.dumps({"type": "subscribe", "resume_after": bad}).encode() + b"\n")
        error = next(m for m in (json.loads(client.line()) for _ in range(200)) if m.get("type") == "error")
        after = [tx_id(line) for line in client.lines(20)]
        client.close()
    assert error["field"] == "resume_after" and repr(bad) in error["message"] and ">= 0" in error["message"]
    assert after == list(range(after[0], after[0] + 20))  # still streaming live


def test_labels_broadcast_after_the_offset_are_sent_again() -> None:
    with running(rate=2000, labels="delayed:0.2", retain_bytes=16 << 20) as srv:
        assert wait_until(lambda: srv.server.hub.published > 1500)
        after = srv.server.hub.published - 1000
        answer, client = resume(srv.server.port, after, labels=True)
        messages = [json.loads(client.line()) for _ in range(3000)]
        client.close()
    assert answer["type"] == "resume"
    tx = [m["transactionID"] for m in messages if "type" not in m]
    labels = [m["transactionID"] for m in messages if m.get("type") == "label"]
    assert tx == list(range(after + 1, after + 1 + len(tx)))
    # at-least-once: every transaction read, whose label is due by the end, has it
    assert set(range(after + 1, max(labels) + 1)) <= set(labels)
    assert min(labels) <= after  # labels of earlier transactions, broadcast after `after`, again


def test_seed_clients_get_the_same_bytes_with_retention_or_without(loop: str) -> None:
    seen = {}
    for retain in (0, 8 << 20):
        with running(rate=2000, retain_bytes=retain, loop=loop) as srv:
            client = LineReader(srv.server.port)
            welcome = client.line()
            lines = client.lines(200)
            client.close()
        seen[retain] = (welcome, lines)
    for welcome, lines in seen.values():
        assert welcome == WELCOME  # the seed's welcome, to the byte
        first = tx_id(lines[0])
        assert lines == [expected_line(t) for t in range(first, first + 200)]


def test_the_ring_counts_the_label_lines_a_gap_loses() -> None:
    ring = Retention(max_bytes=32)
    ring.add(b"1\n2\n", first=1, count=2)
    ring.add(b"L0\n", first=2, count=1, labels=True)   # broadcast after offset 2
    ring.add(b"3\n4\n", first=3, count=2)
    ring.add(b"L1\nL2\n", first=4, count=2, labels=True)
    ring.add(b"x" * 30 + b"\n", first=5, count=1)     # evicts all but itself
    assert ring.evicted_through == 4 and ring.evicted_labels == 3
    gap = ring.plan(after=2, published=5, labels=True)
    assert (gap.lost, gap.labels_lost) == (2, 3)
    assert ring.plan(after=3, published=5, labels=True).labels_lost == 2
    late = ring.plan(after=4, published=5, labels=True)
    assert (late.lost, late.labels_lost) == (0, 2) and b'"next": 5' in late.reply
    assert ring.plan(after=4, published=5, labels=False).reply.startswith(b'{"type": "resume"')
