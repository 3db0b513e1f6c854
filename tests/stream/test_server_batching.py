"""The stream server's fast path: event loop choice, adaptive batching, batched WebSocket frames."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import sys
import time

import pytest
from click.testing import CliRunner
from websockets.frames import Frame, Opcode
from websockets.sync.client import connect as ws_connect

from fraudstream.adapters.classroom import encode_lines
from fraudstream.cli.serve import serve_command
from fraudstream.errors import ConfigError
from fraudstream.stream import web
from fraudstream.stream.eventloop import loop_factory, loop_name, run
from tests.stream.server_harness import WELCOME, running, scripted_frame
from tests.support import wait_until


async def _current_loop_name() -> str:
    return loop_name(asyncio.get_running_loop())


def test_without_uvloop_auto_falls_back_to_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert loop_factory("auto") is None
    assert run(_current_loop_name(), loop="auto") == "asyncio"
    with pytest.raises(ConfigError, match="uvloop is not installed"):
        loop_factory("uvloop")


def test_auto_runs_on_uvloop_when_installed() -> None:
    pytest.importorskip("uvloop")
    assert run(_current_loop_name(), loop="auto") == "uvloop"
    assert run(_current_loop_name(), loop="asyncio") == "asyncio"


def test_serve_rejects_an_unknown_loop_as_a_usage_error() -> None:
    result = CliRunner().invoke(serve_command, ["--loop", "tokio", "--port", "0"])
    assert result.exit_code == 2
    assert "tokio" in result.output


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frames_match_the_websockets_library(size: int) -> None:
    lines = [b"x" * size, b'{"transactionID": 1}']
    expected = b"".join(Frame(Opcode.TEXT, line).serialize(mask=False, extensions=[]) for line in lines)
    assert web.text_frames(b"".join(line + b"\n" for line in lines)) == expected


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_websocket_batches_arrive_as_one_message_per_line(loop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    framed: list[int] = []
    original = web.text_frames

    def counting(data: bytes) -> bytes:
        if data != WELCOME:  # the welcome is framed once or twice, as the two joins fall between batches
            framed.append(data.count(b"\n"))
        return original(data)

    monkeypatch.setattr(web, "text_frames", counting)
    with running(rate=5000, http=True, loop=loop) as srv:
        url = f"ws://127.0.0.1:{srv.server.http_port}/ws"
        # max_queue=None: the clients keep reading while they close, so the close handshake is quick
        with ws_connect(url, open_timeout=5, max_queue=None) as first, \
                ws_connect(url, open_timeout=5, max_queue=None) as second:
            assert first.recv(timeout=5) == second.recv(timeout=5) == WELCOME.decode().rstrip("\n")
            a, b = [], []
            for _ in range(600):
                a.append(first.recv(timeout=5))
                b.append(second.recv(timeout=5))
        generated = srv.call(lambda: srv.server.feed.generated)
    for messages in (a, b):
        ids = [json.loads(m)["transactionID"] for m in messages]
        assert ids == list(range(ids[0], ids[0] + 600))
        assert all("\n" not in m for m in messages)
    common = sorted(set(a) & set(b))
    assert len(common) > 400  # both joined at about the same time and saw the same messages
    assert all((m + "\n").encode() == encode_lines(scripted_frame(json.loads(m)["transactionID"], 1))[0]
               for m in a[:50])
    assert max(framed) > 1  # several lines framed in one piece: one write per batch, not per line
    assert 600 <= sum(framed) <= generated  # each batch framed once for both clients


def _ws_handshake(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    sock.sendall(request.encode())
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock  # and never reads again


def test_a_stalled_websocket_client_is_dropped() -> None:
    with running(rate=None, http=True, max_buffer_bytes=64 << 10, loop="uvloop") as srv:
        stalled = _ws_handshake(srv.server.http_port)
        assert wait_until(lambda: srv.server.hub.stats.dropped_total >= 1)
        stats = srv.server.hub.stats
        stalled.close()
    assert 0 < stats.max_buffered_bytes <= 64 << 10


class _SlowSink:
    """A subscriber whose every write takes at least 20 ms (a stand-in for an expensive fan-out)."""

    peer, kind, wants_labels = "slow", "tcp", False

    def buffered(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        time.sleep(0.02)

    def abort(self) -> None:
        pass


def test_batches_grow_rarer_when_the_fan_out_is_slow_and_return_when_it_is_cheap() -> None:
    with running(rate=1000, loop="asyncio") as srv:
        server, feed = srv.server, srv.server.feed
        base = feed.min_interval_s
        sink = _SlowSink()
        srv.call(server.hub.join, sink, b"")
        # 20 ms per fan-out with fanout_share 0.5 asks for >= 40 ms: capped at max_interval_s
        assert wait_until(lambda: feed.min_interval_s == server.max_interval_s)
        assert server.fanout_s >= 0.0125
        srv.call(server.hub.leave, sink)
        assert wait_until(lambda: feed.min_interval_s < 2 * base)
    assert base == pytest.approx(0.005)


class _Sink:
    kind, wants_labels = "tcp", True

    def __init__(self, peer: str) -> None:
        self.peer, self.data = peer, b""

    def buffered(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.data += data

    def abort(self) -> None:
        pass


def test_a_subscriber_gets_labels_only_of_transactions_it_received() -> None:
    from fraudstream.stream.broadcast import Hub

    hub = Hub()
    early, late = _Sink("early"), _Sink("late")
    hub.join(early, b"")
    before_first = hub.published
    hub.publish(b"tx1\ntx2\n", 2)
    hub.join(late, b"")  # joins after tx1, tx2 went out
    before_second = hub.published
    hub.publish(b"tx3\n", 1)
    hub.publish_labels(b"label1\nlabel2\n", 2, before_first)
    hub.publish_labels(b"label3\n", 1, before_second)
    assert early.data == b"tx1\ntx2\ntx3\nlabel1\nlabel2\nlabel3\n"
    assert late.data == b"tx3\nlabel3\n"
    assert hub.stats.labels_sent_total == 3 + 1
