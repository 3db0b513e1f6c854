"""Latency from generation to receipt: 1,000 concurrent clients at 100 transactions/s.

``fraudstream serve --rate 100`` releases transaction ``i`` (0-based) at its due time
``start_unix + i / rate``; ``/health`` reports ``pacing.start_unix`` and ``pacing.first_tx_id``.
The clients (one separate process, ``stream_clients.py latency``) stamp each received chunk with
``time.time()`` and record ``receipt - due`` for every transaction id in it, so the figure
includes the server's own lateness, the fan-out to 1,000 sockets and the client's reading.
Same machine, same wall clock. Target: p99 < 50 ms.

    python benchmarks/stream_latency.py                   # 1000 clients, 100 tx/s, 10 s
    python benchmarks/stream_latency.py --clients 200 --seconds 5
"""

from __future__ import annotations

import argparse

from stream_bench import clients, cpu_s, free_port_pair, machine, server
from stream_clients import raise_fd_limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(machine())
    print(f"open files limit (soft) raised to {raise_fd_limit(args.clients + 100)} for {args.clients} clients")
    port = free_port_pair()
    with server("fraudstream", port, args.rate) as process:
        cpu0 = cpu_s(process.pid)
        result = clients("latency", port, args.clients, args.seconds, warmup=3.0, http_port=port + 1)
        cpu = cpu_s(process.pid) - cpu0
    lat = result["latency_ms"]
    print(f"fraudstream serve --rate {args.rate:g}, {args.clients} clients, {result['seconds']:.1f} s: "
          f"{lat['n']:,} receipts, latency p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, "
          f"max {lat['max']:.1f} ms; id errors {result['id_errors']}, dropped {result['disconnected']}, "
          f"server CPU {cpu:.1f} s")


if __name__ == "__main__":
    main()
