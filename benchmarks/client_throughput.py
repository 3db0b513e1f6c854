"""How fast the client library reads a classroom stream: lines/s for each API vs the seed's loop.

A separate process serves ``--lines`` pre-encoded classroom transaction lines (simulated data,
the classroom world) as fast as loopback allows, then closes; the client reads until the end and
counts. Modes: the seed client's reading loop (``recv(4096)``, ``str`` split, ``json.loads``,
stats update — as ``stream_client.py`` does, without printing), ``DataStreamClient`` with a
silent ``process_transaction`` (stats update), ``fraudstream.stream`` raw dicts, canonical
dicts, canonical DataFrame batches of 1,000, and ``fraudstream.stream_async`` raw dicts.

    python benchmarks/client_throughput.py                  # 200,000 lines, best of 3 per mode
    python benchmarks/client_throughput.py --lines 50000 --repeat 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import time

import fraudstream
from fraudstream.adapters.classroom import encode_lines
from fraudstream.stream.client import DataStreamClient
from fraudstream.stream.connection import Reconnect
from fraudstream.stream.protocol import welcome_message
from fraudstream.stream.statistics import StreamStatistics
from stream_bench import machine

ONCE = Reconnect(attempts=0)


def payload(lines: int) -> bytes:
    frame = fraudstream.simulate("classroom", rows=lines, seed=1)
    return welcome_message(frame["ts"].iloc[0].to_pydatetime()) + b"".join(encode_lines(frame))


def blast(listener: socket.socket, data: bytes) -> None:
    connection, _ = listener.accept()
    with connection:
        connection.sendall(data)


def seed_loop(port: int) -> int:
    """The seed client's loop (stream_client.py), minus the printing."""
    stats = StreamStatistics()
    sock = socket.create_connection(("127.0.0.1", port))
    buffer, count = "", 0
    while True:
        data = sock.recv(4096).decode("utf-8")
        if not data:
            break
        buffer += data
        lines = buffer.split("\n")
        buffer = lines[-1]
        for line in lines[:-1]:
            if line.strip():
                message = json.loads(line)
                if message.get("type") != "connection":
                    stats.update(message)
                    count += 1
    sock.close()
    return count


class Silent(DataStreamClient):
    def process_welcome(self, message):
        pass

    def process_transaction(self, transaction):
        self.stats.update(transaction)


def client_loop(port: int) -> int:
    client = Silent("127.0.0.1", port, reconnect=ONCE, output=open("/dev/null", "w"))  # noqa: SIM115
    client.connect_and_stream()
    return client.transactions_received


def iterate(port: int, **kwargs) -> int:
    count = 0
    for item in fraudstream.stream(("127.0.0.1", port), reconnect=ONCE, **kwargs):
        count += len(item) if "batches" in kwargs else 1
    return count


def iterate_async(port: int) -> int:
    async def run() -> int:
        count = 0
        async for _ in fraudstream.stream_async(("127.0.0.1", port), reconnect=ONCE):
            count += 1
        return count

    return asyncio.run(run())


MODES = {
    "seed loop (recv 4096, json.loads)": seed_loop,
    "DataStreamClient (stats hook)": client_loop,
    "stream() raw dicts": iterate,
    "stream(canonical=True)": lambda port: iterate(port, canonical=True),
    "stream(batches=1000) DataFrames": lambda port: iterate(port, batches=1000),
    "stream_async() raw dicts": iterate_async,
}


def measure(mode, data: bytes, lines: int) -> float:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = multiprocessing.Process(target=blast, args=(listener, data), daemon=True)
    server.start()
    started = time.perf_counter()
    count = mode(port)
    elapsed = time.perf_counter() - started
    server.join(10)
    listener.close()
    if count != lines:
        raise RuntimeError(f"read {count} transactions, expected {lines}")
    return lines / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    data = payload(args.lines)
    print(f"{args.lines:,} classroom lines, {len(data) / args.lines:.0f} bytes each on average")
    baseline = None
    for name, mode in MODES.items():
        rates = [measure(mode, data, args.lines) for _ in range(args.repeat)]
        best = max(rates)
        baseline = baseline or best
        print(f"{name:36s} best {best:>10,.0f} lines/s  median {statistics.median(rates):>10,.0f}  "
              f"x{best / baseline:.2f} vs the seed loop", flush=True)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()
