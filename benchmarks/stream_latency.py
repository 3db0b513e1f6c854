"""Latency from generation to receipt: 1,000 concurrent clients at 100 transactions/s.

``fraudstream serve --rate 100`` releases transaction ``i`` (0-based) at its due time
``start_unix + i / rate``; ``/health`` reports ``pacing.start_unix`` and ``pacing.first_tx_id``
(the threaded baseline writes the same facts to its ``--pacing-file``). The clients (separate
processes, ``stream_clients.py latency``) stamp each received chunk with ``time.time()`` and
record ``receipt - due`` for every transaction id in it, so the figure includes the server's own
lateness, batching, the fan-out to 1,000 sockets and the clients' reading. Same machine, same
wall clock. Target: p99 < 50 ms. Server and client CPU are reported too (CPU seconds per
second of the run), as the machine's load matters.

    python benchmarks/stream_latency.py                   # 1000 clients, 100 tx/s, 10 s, + baseline
    python benchmarks/stream_latency.py --clients 200 --seconds 5 --skip-baseline
"""

from __future__ import annotations

import argparse
import os
import tempfile

from fraudstream.stream.testing import free_port_pair
from stream_bench import clients, cpu_s, machine, server
from stream_clients import raise_fd_limit


def measure(kind: str, args: argparse.Namespace) -> dict:
    port = free_port_pair()
    with tempfile.TemporaryDirectory() as tmp:
        pacing = os.path.join(tmp, "pacing.json")
        # + 1: the probe connection that found the port open is in its client list until a send fails
        extra = (["--pacing-file", pacing, "--wait-clients", str(args.clients + 1)] if kind == "baseline" else
                 ["--loop", args.loop] if args.loop else [])
        with server(kind, port, args.rate, *extra) as process:
            cpu0 = cpu_s(process.pid)
            result = clients("latency", port, args.clients, args.seconds, warmup=3.0, procs=args.procs,
                             **({"pacing_file": pacing} if kind == "baseline" else {"http_port": port + 1}))
            cpu = cpu_s(process.pid) - cpu0
    lat = result["latency_ms"]
    run_s = result["seconds"] + 3.0
    print(f"{kind:11s} --rate {args.rate:g}, {args.clients} clients, {result['seconds']:.1f} s: "
          f"{lat['n']:,} receipts, latency p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, "
          f"max {lat['max']:.1f} ms; delivered {result['lines_per_s_total']:,.0f} lines/s; "
          f"id errors {result['id_errors']}, dropped {result['disconnected']}; "
          f"server CPU {cpu / run_s:.2f} s/s, "
          f"clients CPU {result['client_cpu_s'] / result['seconds']:.2f} s/s; load {os.getloadavg()[0]:.2f}",
          flush=True)
    return lat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"],
                        help="fraudstream serve --loop (default: auto)")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    print(machine())
    limit = raise_fd_limit(args.clients + 100)
    print(f"open files limit (soft) raised to {limit} for {args.clients} clients")
    ours = measure("fraudstream", args)
    if not args.skip_baseline:
        base = measure("baseline", args)
        print(f"p99 fraudstream {ours['p99']:.1f} ms vs baseline {base['p99']:.1f} ms: "
              f"{base['p99'] / ours['p99']:.1f}x lower; p50 {base['p50'] / ours['p50']:.1f}x lower")


if __name__ == "__main__":
    main()
