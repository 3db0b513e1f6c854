"""The stream server in-process: protocol bytes, fan-out, slow clients, junk, labels, HTTP, WebSocket."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import pytest
from websockets.sync.client import connect as ws_connect

from fraudstream.adapters.classroom import WIRE_FIELDS, encode_lines
from fraudstream.errors import TransportError
from fraudstream.stream.feed import LabelPolicy
from fraudstream.stream.protocol import SUBSCRIBE_LABELS
from fraudstream.stream.server import MAX_INPUT_BYTES, StreamServer
from tests.stream.server_harness import WELCOME, LineReader, running, scripted_frame
from tests.support import wait_until


def tx_id(line: bytes) -> int:
    return json.loads(line)["transactionID"]


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def expected_line(tx: int, labels: str = "inline") -> bytes:
    return encode_lines(scripted_frame(tx, 1), labels=labels)[0]


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request: pytest.FixtureRequest) -> str:
    """Each behaviour test runs on asyncio's own loop and on uvloop (the CLI's default)."""
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    return request.param


def test_welcome_first_then_the_exact_wire_lines(loop: str) -> None:
    with running(loop=loop) as srv:
        client = LineReader(srv.server.port)
        assert client.line() == WELCOME
        lines = client.lines(30)
        client.close()
    first = tx_id(lines[0])
    assert [tx_id(line) for line in lines] == list(range(first, first + 30))
    assert lines == [expected_line(t) for t in range(first, first + 30)]
    for line in lines:
        message = json.loads(line)
        keys = list(message)
        assert tuple(keys[:len(WIRE_FIELDS)]) == WIRE_FIELDS
        assert ("fraudPattern" in message) == message["isFraud"] == (message["transactionID"] % 7 == 0)
        assert isinstance(message["amount"], float) and isinstance(message["userID"], int)
        assert time.strptime(message["timestamp"], "%Y-%m-%dT%H:%M:%S")
        assert line == (json.dumps(message) + "\n").encode()  # json.dumps formatting, to the byte


def test_every_client_sees_the_same_consecutive_ids_from_its_join(loop: str) -> None:
    with running(rate=500, loop=loop) as srv:
        early = [LineReader(srv.server.port) for _ in range(5)]
        for c in early:
            assert c.line() == WELCOME
        got = {i: [tx_id(line) for line in c.lines(100)] for i, c in enumerate(early)}
        late = LineReader(srv.server.port)
        assert late.line() == WELCOME
        late_ids = [tx_id(line) for line in late.lines(100)]
        more = [tx_id(line) for line in early[0].lines(300)]
        for c in [*early, late]:
            c.close()
    for ids in got.values():
        assert ids == list(range(ids[0], ids[0] + 100))
    stream = got[0] + more
    assert stream == list(range(stream[0], stream[0] + 400))
    assert late_ids == list(range(late_ids[0], late_ids[0] + 100))
    assert late_ids[0] > got[0][0]  # no replay for late joiners
    assert set(late_ids) <= set(stream)


def test_a_stalled_client_is_dropped_and_the_others_miss_nothing(loop: str) -> None:
    limit = 64 << 10
    with running(rate=None, max_buffer_bytes=limit, loop=loop) as srv:  # as fast as possible
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", srv.server.port))   # connects, never reads
        reader = LineReader(srv.server.port)
        assert reader.line() == WELCOME
        assert wait_until(lambda: srv.server.hub.stats.dropped_total >= 1)
        ids = [tx_id(line) for line in reader.lines(20_000)]
        stats = srv.server.hub.stats
        reader.close()
        stalled.close()
    assert ids == list(range(ids[0], ids[0] + 20_000))
    assert stats.dropped_total == 1
    assert 0 < stats.max_buffered_bytes <= limit


def test_junk_and_floods_from_clients_are_ignored_and_bounded(loop: str) -> None:
    with running(rate=1000, loop=loop) as srv:
        junk = LineReader(srv.server.port)
        junk.send(b"\x00\xff garbage {not json}\n" + b"[1, 2]\n" + b'{"type": "subscribe", "labels": 1}\n')
        flood = LineReader(srv.server.port)
        flood.sock.setblocking(False)
        sent = 0
        try:
            for _ in range(2000):  # ~16 MiB offered; the server stops reading after MAX_INPUT_BYTES
                sent += flood.sock.send(b"x" * 8192)
        except BlockingIOError:
            pass
        flood.sock.settimeout(10)
        assert sent > MAX_INPUT_BYTES
        calm = LineReader(srv.server.port)
        for c in (junk, flood, calm):
            assert c.line() == WELCOME
            ids = [tx_id(line) for line in c.lines(200)]
            assert ids == list(range(ids[0], ids[0] + 200))
        assert srv.server.hub.clients == 3
        assert not any(s.wants_labels for s in srv.server.hub.subscribers())
        for c in (junk, flood, calm):
            c.close()
    assert sent < 64 << 20  # the flood was held back by TCP once the server stopped reading


def test_labels_hidden_removes_the_label_fields() -> None:
    with running(labels="hidden") as srv:
        client = LineReader(srv.server.port)
        client.line()
        lines = client.lines(20)
        client.close()
    for line in lines:
        message = json.loads(line)
        assert not {"isFraud", "fraudPattern", "userProfile"} & set(message)
        assert line == expected_line(message["transactionID"], labels="hidden")


def test_labels_delayed_reach_subscribers_only_after_the_delay(loop: str) -> None:
    delay = 0.5
    with running(rate=50, labels=f"delayed:{delay}", loop=loop) as srv:
        subscriber = LineReader(srv.server.port)
        subscriber.send(b"hello\n" + SUBSCRIBE_LABELS)
        plain = LineReader(srv.server.port)
        assert wait_until(lambda: any(s.wants_labels for s in srv.server.hub.subscribers()))
        seen: dict[int, float] = {}
        labels: dict[int, tuple[float, dict]] = {}
        subscriber.line()
        while len(labels) < 20:
            message = json.loads(subscriber.line())
            if message.get("type") == "label":
                labels[message["transactionID"]] = (time.monotonic(), message)
            else:
                assert "isFraud" not in message
                seen[message["transactionID"]] = time.monotonic()
        plain_lines = plain.lines(60)
        subscriber.close()
        plain.close()
    assert all(b'"type": "label"' not in line for line in plain_lines)
    for tx, (at, message) in labels.items():
        if tx in seen:
            assert at - seen[tx] >= delay * 0.8
        assert message["isFraud"] == (tx % 7 == 0)
        assert ("fraudPattern" in message) == message["isFraud"]


def test_websocket_health_and_metrics(loop: str) -> None:
    with running(rate=200, http=True, loop=loop) as srv:
        port = srv.server.http_port
        with ws_connect(f"ws://127.0.0.1:{port}/ws", open_timeout=5) as ws:
            assert ws.recv(timeout=5) == WELCOME.decode().rstrip("\n")
            messages = [ws.recv(timeout=5) for _ in range(30)]
            tcp = LineReader(srv.server.port)
            tcp.line()
            tcp.lines(5)
            health = json.loads(fetch(f"http://127.0.0.1:{port}/health"))
            metrics = fetch(f"http://127.0.0.1:{port}/metrics").decode()
            tcp.close()
        with pytest.raises(urllib.error.HTTPError) as missing:
            fetch(f"http://127.0.0.1:{port}/nope")
    ids = [json.loads(m)["transactionID"] for m in messages]
    assert ids == list(range(ids[0], ids[0] + 30))
    assert all((m + "\n").encode() == expected_line(json.loads(m)["transactionID"]) for m in messages)
    assert health["status"] == "healthy" and health["clients"] == 2
    assert health["event_loop"] == loop
    assert health["transactions_sent"] >= 35 and health["uptime"] > 0
    values = {}
    for line in metrics.splitlines():
        if line and not line.startswith("#"):
            name, value = line.split(" ")
            values[name] = float(value)
    assert "# TYPE fraudstream_transactions_sent_total counter" in metrics
    assert values["fraudstream_clients_connected"] == 2
    assert values["fraudstream_websocket_clients_connected"] == 1
    assert values["fraudstream_transactions_generated_total"] >= max(ids)
    assert values["fraudstream_transactions_sent_total"] >= 35
    assert values["fraudstream_dropped_total"] == 0
    assert missing.value.code == 404


def test_a_taken_port_is_one_clear_error() -> None:
    with running() as srv:
        port = srv.server.port
        from tests.stream.server_harness import make_server

        clash: StreamServer = make_server()
        clash.port = port
        import asyncio

        with pytest.raises(TransportError, match=f"port {port} on 127.0.0.1 is in use .*pass --port"):
            asyncio.run(clash.serve())


@pytest.mark.parametrize("text", ["sometimes", "delayed:", "delayed:-1", "hidden:3"])
def test_bad_label_modes_are_config_errors(text: str) -> None:
    from fraudstream.errors import ConfigError

    with pytest.raises(ConfigError, match="--labels must be inline, hidden or delayed:SECONDS"):
        LabelPolicy.parse(text)
