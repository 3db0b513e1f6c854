"""Shared helpers of the stream benchmarks: machine line, free ports, server and client processes."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.node()}; {os.cpu_count()} cores "
            f"({cpu}); Python {platform.python_version()}; load {os.getloadavg()[0]:.2f}")


def free_port_pair() -> int:
    while True:
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port


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
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not start: {process.stderr.read().decode()}") from None
                time.sleep(0.1)
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
