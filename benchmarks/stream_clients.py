"""Benchmark clients for the stream benchmarks: many connections in separate, cheap processes.

Run by ``stream_throughput.py``, ``stream_latency.py`` and ``stream_stalled.py`` (not by hand,
though it works: ``python benchmarks/stream_clients.py count --port 5555 --clients 100``).
Prints one JSON object on stdout.

A measuring client must cost little, or it measures itself: the clients are spread over
``--procs`` worker processes (default 2), each a plain ``epoll`` loop over non-blocking sockets
(no asyncio, no JSON parsing). Every byte is received. Per ``recv`` a client does O(1) Python
work plus two C scans of the data: it counts the newlines, reads the id of the first and of the
last complete line with a bytes search (lines start with ``{"transactionID": N,``), and checks
that the count equals ``last_id - first_id + 1`` and that the first id follows the previous
chunk's last id. So a lost, repeated or reordered line is an id error.

- ``count``: per-client lines received during ``--seconds`` after ``--warmup``, id errors, drops.
- ``latency``: receipt time minus due time of every transaction; the due time of id ``i`` is
  ``start_unix + (i - first_tx_id) / rate`` (read from the server's ``/health``, or from the
  baseline's ``--pacing-file``; all processes use the same wall clock). Each ``recv`` is
  stamped with ``time.time()`` right after it returns, once for all the transactions in it.
- ``stall``: connections with a tiny receive buffer that never read.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import select
import socket
import sys
import time
import urllib.request
from array import array
from multiprocessing.connection import Connection

import numpy as np

PREFIX = len(b'{"transactionID": ')
READ_BYTES = 1 << 18


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def health(http_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=5) as response:
        return json.loads(response.read())


class _Client:
    __slots__ = ("closed", "errors", "lines", "measured", "next_id", "sock", "tail", "welcomed")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.tail = b""
        self.welcomed = False
        self.next_id = -1
        self.lines = 0
        self.measured = 0
        self.errors = 0
        self.closed = False


def _connect(port: int, n: int) -> list[_Client]:
    clients = []
    for _ in range(n):  # one at a time: never more than one connection in the listen backlog
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.setblocking(False)
        clients.append(_Client(sock))
    return clients


def _worker(port: int, n: int, record: bool, conn: Connection) -> None:
    """Connect ``n`` clients, report, wait for the window ``(t0, t1)``, read until ``t1``."""
    raise_fd_limit(n + 100)
    clients = _connect(port, n)
    by_fd = {c.sock.fileno(): c for c in clients}
    poller = select.epoll(len(clients) + 1)
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    control = conn.fileno()
    poller.register(control, select.EPOLLIN)
    conn.send("connected")
    buf = bytearray(READ_BYTES + 65536)
    view = memoryview(buf)
    receipts = array("d")
    t0 = t1 = float("inf")
    cpu0 = 0.0
    now = time.time()
    while now < t1:
        events = poller.poll(0.05)
        now = time.time()
        measuring = t0 <= now < t1
        keep = measuring and record
        for fd, _ in events:
            client = by_fd.get(fd)
            if client is None:
                t0, t1 = conn.recv()
                continue
            tail = client.tail
            k = len(tail)
            if k:
                buf[:k] = tail
            try:
                got = client.sock.recv_into(view[k:k + READ_BYTES])
            except BlockingIOError:
                continue
            except OSError:
                got = 0
            if not got:
                client.closed = True
                poller.unregister(fd)
                del by_fd[fd]
                continue
            end = k + got
            last = buf.rfind(b"\n", 0, end)
            if last < 0:
                client.tail = bytes(buf[:end])
                continue
            client.tail = bytes(buf[last + 1:end])
            count = buf.count(b"\n", 0, last + 1)
            start = 0
            if not client.welcomed:
                client.welcomed = True
                start = buf.index(b"\n") + 1
                count -= 1
                if not count:
                    continue
            first = int(buf[start + PREFIX:buf.index(b",", start)])
            last_start = buf.rfind(b"\n", 0, last) + 1
            last_id = first
            if last_start > start:
                last_id = int(buf[last_start + PREFIX:buf.index(b",", last_start)])
            if last_id - first + 1 != count or (client.next_id >= 0 and first != client.next_id):
                client.errors += 1
            client.next_id = last_id + 1
            client.lines += count
            if measuring:
                client.measured += count
                if keep:  # stamped after this recv, not at the poll: the later, honest time
                    receipts.extend((time.time(), first, last_id))
        if t0 <= now and not cpu0:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu0 = usage.ru_utime + usage.ru_stime
    usage = resource.getrusage(resource.RUSAGE_SELF)
    conn.send({
        "measured": [c.measured for c in clients], "errors": sum(c.errors for c in clients),
        "closed": sum(c.closed for c in clients),
        "next_ids": [c.next_id for c in clients if not c.closed and c.next_id >= 0],
        "cpu_s": usage.ru_utime + usage.ru_stime - cpu0,
        "receipts": np.frombuffer(receipts, dtype=np.float64).reshape(-1, 3),
    })
    for client in clients:
        client.sock.close()


def latency_ms(receipts: np.ndarray, start_unix: float, first_tx: int, rate: float) -> dict:
    """Per-transaction ``receipt - due`` of rows ``(time, first_id, last_id)``, in ms."""
    counts = (receipts[:, 2] - receipts[:, 1] + 1).astype(np.int64)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    ids = np.repeat(receipts[:, 1], counts) + offsets
    lat = (np.repeat(receipts[:, 0], counts) - (start_unix + (ids - first_tx) / rate)) * 1000
    return {"n": int(lat.size), "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
            "max": float(lat.max()), "mean": float(lat.mean())}


def _read_json(path: str, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def run(args: argparse.Namespace) -> dict:
    context = multiprocessing.get_context("fork")
    procs = max(1, min(args.procs, args.clients))
    shares = [args.clients // procs + (i < args.clients % procs) for i in range(procs)]
    workers = []
    for share in shares:
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(args.port, share, args.mode == "latency", child),
                                  daemon=True)
        process.start()
        workers.append((process, parent))
    for _, pipe in workers:
        if pipe.recv() != "connected":
            raise RuntimeError("a client worker failed to connect")
    pacing = None
    if args.mode == "latency":
        pacing = health(args.http_port)["pacing"] if args.http_port else _read_json(args.pacing_file)
    t0 = time.time() + args.warmup
    for _, pipe in workers:
        pipe.send((t0, t0 + args.seconds))
    results = [pipe.recv() for _, pipe in workers]
    for process, _ in workers:
        process.join(10)
    per_client = [m for r in results for m in r["measured"]]
    out = {
        "clients": args.clients, "procs": procs, "seconds": args.seconds,
        "lines_total": sum(per_client), "lines_per_s_total": sum(per_client) / args.seconds,
        "min_client_lines": min(per_client), "max_client_lines": max(per_client),
        "id_errors": sum(r["errors"] for r in results), "disconnected": sum(r["closed"] for r in results),
        "tail_ids": sorted({i for r in results for i in r["next_ids"]})[-3:],
        "client_cpu_s": sum(r["cpu_s"] for r in results),
    }
    if pacing is not None:
        receipts = np.concatenate([r["receipts"] for r in results])
        out["latency_ms"] = latency_ms(receipts, pacing["start_unix"], pacing["first_tx_id"], pacing["rate"])
    return out


def stall(args: argparse.Namespace) -> None:
    socks = []
    for _ in range(args.clients):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", args.port))
        socks.append(sock)
    print(json.dumps({"stalled": len(socks)}), flush=True)
    time.sleep(args.seconds)
    for sock in socks:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["count", "latency", "stall"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http-port", type=int)
    parser.add_argument("--pacing-file", help="latency against the baseline: its --pacing-file")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--procs", type=int, default=2, help="worker processes sharing the clients")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.mode == "latency" and not (args.http_port or args.pacing_file):
        parser.error("latency needs --http-port (the server's /health) or --pacing-file (the baseline's)")
    if args.mode == "stall":
        stall(args)
        return
    print(json.dumps(run(args)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
