"""Baseline for the stream benchmarks: a threaded broadcast server built like seed 000's.

Structure of the original ``fraud_stream_server.py`` (systems.md §000.1, §000.3): a blocking
accept loop in the main thread, one daemon generator thread, and for every transaction a
``send`` under one lock to every client in turn (here ``sendall``, so lines are never cut short;
the original's ``send`` may silently send part of a line). Clients are dropped only when a send
raises. The transactions are the same classroom-world lines as ``fraudstream serve`` sends
(generated and encoded a chunk at a time with :func:`fraudstream.adapters.classroom.encode_lines`),
so the comparison is about the serving architecture, not the generator.

    python benchmarks/baseline_threaded_server.py --port 6555 --rate 10000   # 0 = as fast as possible

With ``--pacing-file PATH`` it writes ``{"start_unix", "first_tx_id", "rate"}`` there when the
first transaction is due (transaction ``i``, 0-based, is due at ``start_unix + i / rate``), the
same pacing facts ``fraudstream serve`` reports on ``/health``, so the latency benchmark can
measure both the same way. With ``--wait-clients N`` streaming starts once N clients are
connected (its accept loop with ``listen(5)`` takes long to admit 1,000 clients, and the
latency benchmark measures the steady state, not that backlog).
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import threading
import time
from datetime import UTC, datetime

from fraudstream.adapters.classroom import encode_lines
from fraudstream.stream.protocol import welcome_message
from fraudstream.worlds import get_world


class ThreadedServer:
    def __init__(self, host: str, port: int, rate: float, pacing_file: str | None = None,
                 wait_clients: int = 0) -> None:
        self.host, self.port, self.rate, self.pacing_file = host, port, rate, pacing_file
        self.wait_clients = wait_clients
        self.clients: list[socket.socket] = []
        self.lock = threading.Lock()
        self.generated = 0

    def lines(self):
        world = get_world("classroom")(seed=1, start="now")
        step = min(4096, max(256, int(self.rate))) if self.rate else 4096  # ~1 s of stream per step
        for block in world.blocks():
            for start in range(0, len(block), step):
                yield from encode_lines(block.iloc[start:start + step])

    def generate(self) -> None:
        lines = self.lines()
        first = next(lines)
        while len(self.clients) < self.wait_clients:
            time.sleep(0.01)
        t0 = time.monotonic()
        if self.pacing_file:
            with open(self.pacing_file, "w") as f:
                json.dump({"start_unix": time.time(), "first_tx_id": 1, "rate": self.rate}, f)
        for i, line in enumerate(itertools.chain([first], lines)):
            if self.rate:
                delay = t0 + i / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self.generated += 1
            with self.lock:
                for client in self.clients[:]:
                    try:
                        client.sendall(line)
                    except OSError:
                        self.clients.remove(client)

    def handle(self, client: socket.socket) -> None:
        with self.lock:
            client.sendall(welcome_message(datetime.now(UTC)))
            self.clients.append(client)

    def serve(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((self.host, self.port))
        server.listen(5)
        threading.Thread(target=self.generate, daemon=True).start()
        print(f"baseline threaded server on {self.host}:{self.port}", flush=True)
        try:
            while True:
                client, _ = server.accept()
                threading.Thread(target=self.handle, args=(client,), daemon=True).start()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="seed-000-style threaded broadcast server (baseline)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6555)
    parser.add_argument("--rate", type=float, default=0.0, help="transactions/s (0 = as fast as possible)")
    parser.add_argument("--pacing-file", help="write the pacing facts (JSON) here when streaming starts")
    parser.add_argument("--wait-clients", type=int, default=0,
                        help="start streaming once this many are connected")
    args = parser.parse_args()
    ThreadedServer(args.host, args.port, args.rate, args.pacing_file, args.wait_clients).serve()


if __name__ == "__main__":
    main()
