"""Shared helpers of the stream benchmarks: machine line, server and client processes (free ports:
:mod:`fraudstream.stream.testing`)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from fraudstream.stream.testing import wait_for_port

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}; {os.cpu_count()} cores "
            f"({cpu}); Python {platform.python_version()}; load {os.getloadavg()[0]:.2f}")


def steal_ticks() -> tuple[int, int]:
    """(ticks stolen by the hypervisor, all ticks) of the machine's CPUs since boot: on a shared
    VM the share stolen during a run says how much of "2 cores" the run really had."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    return values[7], sum(values)


def stolen_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Share of the machine's CPU time stolen between two :func:`steal_ticks` readings."""
    return (after[0] - before[0]) / max(after[1] - before[1], 1)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(kind: str, port: int, rate: float, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """``kind`` ``fraudstream`` (fraudstream serve, classroom world) or ``baseline``; ``extra``
    arguments go to either (``--loop asyncio``; ``--pacing-file PATH`` for the baseline)."""
    if kind == "fraudstream":
        args = [str(BIN / "fraudstream"), "serve", "--host", "127.0.0.1", "--port", str(port),
                "--seed", "1", *(["--rate", str(rate)] if rate else ["--interval", "0"]), *extra]
    else:
        args = [sys.executable, str(HERE / "baseline_threaded_server.py"), "--port", str(port),
                "--rate", str(rate), *extra]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, process, what=f"{kind} server", timeout_s=60)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def clients(mode: str, port: int, n: int, seconds: float, warmup: float = 1.0,
            http_port: int | None = None, procs: int = 2, pacing_file: str | None = None) -> dict:
    """Run ``stream_clients.py`` (``procs`` client processes) and return its JSON result."""
    args = [sys.executable, str(HERE / "stream_clients.py"), mode, "--port", str(port), "--clients", str(n),
            "--seconds", str(seconds), "--warmup", str(warmup), "--procs", str(procs)]
    if http_port:
        args += ["--http-port", str(http_port)]
    if pacing_file:
        args += ["--pacing-file", pacing_file]
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + warmup + 600)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout)
