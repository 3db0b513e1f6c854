"""10 stalled clients: does anyone else notice? fraudstream serve vs the threaded baseline.

For each server (same offered rate): 50 reading clients measure their throughput for
``--seconds`` (phase A); then 10 clients connect that never read (tiny receive buffers, separate
process) and the 50 readers measure again (phase B). Reported: the readers' throughput change
(target: < 5 % for fraudstream), the server's RSS before/after, and clients dropped. In the
baseline (seed-000 structure: one lock, blocking send to every client in turn) one stalled
client freezes everyone once its socket buffers are full.

    python benchmarks/stream_stalled.py                      # 2000 tx/s, 50 readers, 5 s phases
    python benchmarks/stream_stalled.py --rate 1000 --seconds 3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from fraudstream.stream.testing import free_port_pair
from stream_bench import HERE, clients, machine, rss_kib, server
from stream_clients import health


def phase(kind: str, rate: float, readers: int, stalled: int, seconds: float) -> None:
    port = free_port_pair()
    with server(kind, port, rate) as process:
        a = clients("count", port, readers, seconds)
        rss_a = rss_kib(process.pid)
        staller = subprocess.Popen([sys.executable, str(HERE / "stream_clients.py"), "stall",
                                    "--port", str(port), "--clients", str(stalled),
                                    "--seconds", str(seconds * 3 + 30)],
                                   stdout=subprocess.PIPE, text=True)
        try:
            staller.stdout.readline()  # connected
            time.sleep(1.0)
            try:
                b = clients("count", port, readers, seconds)
            except subprocess.TimeoutExpired:
                b = {"lines_per_s_total": 0.0, "id_errors": 0, "disconnected": readers}
            rss_b = rss_kib(process.pid)
            dropped = health(port + 1)["clients_dropped"] if kind == "fraudstream" else "n/a"
        finally:
            staller.kill()
            staller.wait(10)
    change = (b["lines_per_s_total"] - a["lines_per_s_total"]) / a["lines_per_s_total"] * 100
    print(f"{kind:11s} {rate:g} tx/s, {readers} readers: {a['lines_per_s_total']:,.0f} lines/s "
          f"-> with {stalled} stalled "
          f"{b['lines_per_s_total']:,.0f} lines/s ({change:+.1f} %); readers' id errors {b['id_errors']}, "
          f"readers disconnected {b['disconnected']}, stalled dropped by the server {dropped}; "
          f"server RSS {rss_a / 1024:.0f} -> {rss_b / 1024:.0f} MiB",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--stalled", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(machine())
    for kind in ("fraudstream", "baseline"):
        phase(kind, args.rate, args.readers, args.stalled, args.seconds)


if __name__ == "__main__":
    main()
