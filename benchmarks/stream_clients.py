"""Benchmark clients for the stream benchmarks: many connections in ONE separate process.

Run by ``stream_throughput.py``, ``stream_latency.py`` and ``stream_stalled.py`` (not by hand,
though it works: ``python benchmarks/stream_clients.py count --port 5555 --clients 100``).
Prints one JSON object on stdout.

Each client counts lines and checks that transaction ids are consecutive with O(1) Python work
per received chunk: the chunk's newline count must equal ``last_id - first_id + 1`` and its first
id must follow the previous chunk's last id (lines start with ``{"transactionID": N,``).

- ``count``: per-client lines received during ``--seconds`` after ``--warmup``, gaps, drops.
- ``latency``: receipt time minus due time of every transaction; the due time of id ``i`` is
  ``start_unix + (i - first_tx_id) / rate`` (read from the server's ``/health``; both processes
  use the same wall clock).
- ``stall``: connections with a tiny receive buffer that never read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import sys
import time
import urllib.request

import numpy as np

PREFIX = len(b'{"transactionID": ')


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def _id_at(buf: bytes, start: int) -> int:
    return int(buf[start + PREFIX:buf.index(b",", start)])


class Counter(asyncio.Protocol):
    def __init__(self, app: Clients) -> None:
        self.app = app
        self.tail = b""
        self.welcomed = False
        self.next_id: int | None = None
        self.lines = 0
        self.measured = 0
        self.errors = 0
        self.closed = False
        self.receipts: list[tuple[float, int, int]] = []

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.tail + data if self.tail else data
        last = buf.rfind(b"\n")
        if last < 0:
            self.tail = buf
            return
        self.tail = buf[last + 1:]
        start = 0
        count = buf.count(b"\n", 0, last + 1)
        if not self.welcomed:
            start = buf.index(b"\n") + 1
            count -= 1
            self.welcomed = True
            if count == 0:
                return
        first = _id_at(buf, start)
        last_start = buf.rfind(b"\n", 0, last) + 1
        last_id = _id_at(buf, last_start) if last_start > start else first
        if last_id - first + 1 != count or (self.next_id is not None and first != self.next_id):
            self.errors += 1
        self.next_id = last_id + 1
        self.lines += count
        if self.app.measuring:
            self.measured += count
            if self.app.record:
                self.receipts.append((now, first, last_id))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


class Clients:
    def __init__(self) -> None:
        self.measuring = False
        self.record = False
        self.due: tuple[float, int, float] | None = None


async def connect_many(port: int, n: int, app: Clients, rcvbuf: int | None = None) -> list[Counter]:
    loop = asyncio.get_running_loop()

    async def one() -> Counter:
        sock = socket.socket()
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        _, protocol = await loop.create_connection(lambda: Counter(app), sock=sock)
        return protocol

    clients: list[Counter] = []
    while len(clients) < n:  # 50 at a time: within the server's listen backlog
        clients += await asyncio.gather(*(one() for _ in range(min(50, n - len(clients)))))
    return clients


def health(http_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=5) as response:
        return json.loads(response.read())


async def run(args: argparse.Namespace) -> dict:
    raise_fd_limit(args.clients + 100)
    app = Clients()
    clients = await connect_many(args.port, args.clients, app)
    await asyncio.sleep(args.warmup)
    if args.mode == "latency":
        info = (await asyncio.to_thread(health, args.http_port))["pacing"]
        app.due = (info["start_unix"], info["first_tx_id"], info["rate"])
        app.record = True
    before = [c.lines for c in clients]
    app.measuring = True
    t0 = time.perf_counter()
    await asyncio.sleep(args.seconds)
    app.measuring = False
    elapsed = time.perf_counter() - t0
    per_client = [c.lines - b for c, b in zip(clients, before, strict=True)]
    out = {
        "clients": args.clients, "seconds": elapsed,
        "lines_total": sum(per_client), "lines_per_s_total": sum(per_client) / elapsed,
        "min_client_lines": min(per_client), "max_client_lines": max(per_client),
        "id_errors": sum(c.errors for c in clients), "disconnected": sum(c.closed for c in clients),
        "tail_ids": sorted({c.next_id for c in clients if not c.closed and c.next_id})[-3:],
    }
    if args.mode == "latency":
        assert app.due is not None
        start_unix, first_tx, rate = app.due
        receipts = np.array([r for c in clients for r in c.receipts], dtype=np.float64).reshape(-1, 3)
        counts = (receipts[:, 2] - receipts[:, 1] + 1).astype(np.int64)
        ids = np.repeat(receipts[:, 1], counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        lat = (np.repeat(receipts[:, 0], counts) - (start_unix + (ids - first_tx) / rate)) * 1000
        out["latency_ms"] = {"n": int(lat.size), "p50": float(np.percentile(lat, 50)),
                             "p99": float(np.percentile(lat, 99)), "max": float(lat.max()),
                             "mean": float(lat.mean())}
    return out


async def stall(args: argparse.Namespace) -> None:
    socks = []
    for _ in range(args.clients):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", args.port))
        socks.append(sock)
    print(json.dumps({"stalled": len(socks)}), flush=True)
    await asyncio.sleep(args.seconds)
    for sock in socks:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["count", "latency", "stall"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http-port", type=int)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.mode == "stall":
        asyncio.run(stall(args))
        return
    print(json.dumps(asyncio.run(run(args))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
