"""Total transactions/s delivered to 100 clients: fraudstream serve vs the threaded baseline.

Server and clients are separate processes on loopback. For each offered rate (transactions/s
generated), 100 clients connect, read for ``--seconds`` and count lines, checking the ids are
consecutive (``stream_clients.py``). Delivered = lines received by all clients per second. A run
is *lossless* when no client saw a gap or was dropped. The baseline (seed-000-style threads and
one ``sendall`` per client per transaction) is run as fast as it can go (it blocks instead of
dropping). Target: >= 1,000,000 lines/s in total for fraudstream.

    python benchmarks/stream_throughput.py                       # default rates, 5 s each
    python benchmarks/stream_throughput.py --rates 5000 20000 --seconds 3
    python benchmarks/stream_throughput.py --rates 20000 --loop asyncio --skip-baseline
    python benchmarks/stream_throughput.py --rates 40000 --skip-baseline --retain-mb 0   # retention's cost
"""

from __future__ import annotations

import argparse
import os

from fraudstream.stream.testing import free_port_pair
from stream_bench import clients, cpu_s, machine, server


def measure(kind: str, rate: float, n: int, seconds: float, loop: str | None = None,
            retain_mb: float | None = None) -> dict:
    port = free_port_pair()
    extra = ["--loop", loop] if loop and kind == "fraudstream" else []
    if retain_mb is not None and kind == "fraudstream":
        extra += ["--retain-mb", f"{retain_mb:g}"]
    with server(kind, port, rate, *extra) as process:
        cpu0 = cpu_s(process.pid)
        result = clients("count", port, n, seconds)
        result["server_cpu_s"] = cpu_s(process.pid) - cpu0
    lossless = result["id_errors"] == 0 and result["disconnected"] == 0
    retained = f" retain {retain_mb:g} MiB" if retain_mb is not None and kind == "fraudstream" else ""
    print(f"{kind:11s}{retained} offered {rate or 'max':>8} tx/s x {n} clients: delivered "
          f"{result['lines_per_s_total']:>12,.0f} lines/s total "
          f"(per client {result['min_client_lines'] / result['seconds']:,.0f}.."
          f"{result['max_client_lines'] / result['seconds']:,.0f}/s), "
          f"id errors {result['id_errors']}, dropped {result['disconnected']}, "
          f"server CPU {result['server_cpu_s']:.1f} s, clients CPU {result['client_cpu_s']:.1f} s; "
          f"load {os.getloadavg()[0]:.2f} {'LOSSLESS' if lossless else 'LOSSY'}", flush=True)
    result["lossless"] = lossless
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[5000, 10000, 20000, 40000])
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"],
                        help="fraudstream serve --loop (default: auto)")
    parser.add_argument("--retain-mb", type=float,
                        help="fraudstream serve --retain-mb (default: the server's, 64; 0: no retention)")
    args = parser.parse_args()
    print(machine())
    best = 0.0
    for rate in args.rates:
        result = measure("fraudstream", rate, args.clients, args.seconds, args.loop, args.retain_mb)
        if result["lossless"]:
            best = max(best, result["lines_per_s_total"])
    base = 0.0
    if not args.skip_baseline:
        result = measure("baseline", 0, args.clients, args.seconds)
        base = result["lines_per_s_total"] if result["lossless"] else 0.0
    print(f"fraudstream best lossless: {best:,.0f} lines/s total; baseline: {base:,.0f} lines/s total"
          + (f"; ratio {best / base:.1f}x" if base else ""))


if __name__ == "__main__":
    main()
