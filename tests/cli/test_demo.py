"""fraudstream demo as a user runs it: a subprocess, its printed URL and login, a real headless
Chromium that logs in and sees an alert and live numbers, then Ctrl-C; --duration; a taken port;
and the terminal view of the classroom guide (--terminal)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

FAST = ["--history-days", "30", "--rate", "200", "--label-delay", "1"]
"""A shorter history (faster training) and a livelier stream: the test sees alerts sooner."""


@dataclass
class Running:
    """A ``fraudstream demo`` subprocess whose stdout and stderr are read line by line in threads."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        return "\n".join(self.errors)

    def wait_for(self, pattern: str, timeout_s: float = 120) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            assert self.process.poll() is None, f"the demo ended: {self.output()}"
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} within {timeout_s} s: {self.output()}")

    def output(self) -> str:
        return "\n".join(self.lines)[-3000:] + "\nSTDERR:\n" + self.stderr[-3000:]


def start_demo(*arguments: str) -> Running:
    process = subprocess.Popen(
        [sys.executable, "-m", "fraudstream", "demo", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = Running(process)
    for stream, lines in ((process.stdout, running.lines), (process.stderr, running.errors)):
        reader = threading.Thread(target=_read, args=(stream, lines), daemon=True)
        reader.start()
        running.readers.append(reader)
    return running


def _read(stream: Any, lines: list[str]) -> None:
    with stream:
        lines.extend(line.rstrip("\n") for line in stream)


def finish(running: Running, timeout_s: float = 60) -> int:
    running.process.wait(timeout=timeout_s)
    for reader in running.readers:
        reader.join(10)
    return running.process.returncode


@pytest.fixture
def demo() -> Iterator[Running]:
    running = start_demo("--port", "0", *FAST)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=30)


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _log_in(page: Any, name: str, password: str) -> None:
    page.goto("/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url("**/live")


def test_demo_in_the_browser_then_ctrl_c(demo, browser):
    url = demo.wait_for(r"dashboard\s+(http://127\.0\.0\.1:(\d+)/)")
    login = demo.wait_for(r"login\s+user (\S+)\s+password (\S+)\s+\(created for this run only\)")
    demo.wait_for(r"held-out AP \d\.\d{3}.*simulated data")
    demo.wait_for(r"Ctrl-C to stop")
    port = int(url.group(2))
    context = browser.new_context(base_url=url.group(1).rstrip("/"), viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto("/alerts")
        page.wait_for_url("**/login?next=/alerts")
        _log_in(page, login.group(1), login.group(2))
        deadline = time.monotonic() + 60
        page.goto("/alerts")
        while page.locator("#alerts-table tbody tr").count() == 0:  # the page is not live: reload
            assert time.monotonic() < deadline, f"no alert on the Alerts page in 60 s: {demo.output()}"
            time.sleep(0.5)
            page.reload()
        row = page.locator("#alerts-table tbody tr").first
        assert int(row.get_attribute("data-tx")) > 0
        assert "FRAUD ALERT" in row.inner_text()
        page.goto("/live")
        page.wait_for_function("document.getElementById('live-status').textContent === 'connected'")
        page.wait_for_function(
            "parseInt(document.getElementById('kpi-total').textContent.replace(/,/g, '')) > 0"
        )
        page.wait_for_function("parseFloat(document.getElementById('kpi-tx-per-s').textContent) > 0")
        page.wait_for_function("document.querySelectorAll('#live-table tbody tr').length > 0")
    finally:
        context.close()
    demo.wait_for(r"\d+ alerts │ live AP")
    demo.process.send_signal(signal.SIGINT)
    assert finish(demo) == 0, demo.output()
    assert "Traceback" not in demo.stderr, demo.stderr
    assert re.search(r"demo stopped: [\d,]+ transactions scored, [1-9][\d,]* alerts", demo.stderr), (
        demo.stderr
    )
    assert _closed(port)
    assert any("🚨 FRAUD ALERT 🚨" in line for line in demo.lines)


def test_duration_stops_it_a_taken_port_falls_back_and_a_given_store_is_kept(tmp_path):
    from fraudstream.store import open_store

    path = tmp_path / "kept.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        running = start_demo("--port", str(port), "--duration", "2", "--store", str(path), *FAST)
        assert finish(running, timeout_s=180) == 0, running.output()
    fallback = [line for line in running.lines if "is taken" in line]
    assert fallback, running.output()
    other = re.search(rf"port {port} is taken: the dashboard uses port (\d+) instead", fallback[0])
    assert other is not None and int(other.group(1)) != port
    assert f"http://127.0.0.1:{other.group(1)}/" in "\n".join(running.lines)
    assert "Traceback" not in running.stderr
    assert re.search(r"demo stopped: [1-9][\d,]* transactions scored", running.stderr), running.stderr
    assert f"kept in {path}" in running.stderr
    with open_store(f"sqlite:///{path}") as store:
        assert store.count("transactions") > 0
        assert store.count("decisions") == store.count("transactions")
        assert store._query("SELECT count(*) FROM users")[0][0] == 0  # the demo user was for that run
    again = start_demo("--port", "0", "--duration", "1", "--store", str(path), *FAST)
    assert finish(again, timeout_s=180) == 2  # a usage error, before anything starts
    assert "already holds" in again.stderr and "Traceback" not in again.stderr


def test_terminal_view_duration_exits_0_and_shows_transactions():
    result = subprocess.run(
        [sys.executable, "-m", "fraudstream", "demo", "--terminal", "--duration", "3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    shown = re.search(r"Last (\d+) of (\d+) transactions", result.stdout)
    assert shown is not None, result.stdout
    assert int(shown.group(2)) > 0
    assert "Statistics" in result.stdout and "fraudstream demo classroom @ 127.0.0.1:" in result.stdout
    rows = re.findall(r"│\s+(\d+) │\s+(\d+) │\s+\$[\d,]+\.\d\d │", result.stdout)
    assert len(rows) == int(shown.group(1))
    ids = [int(tx_id) for tx_id, _ in rows]
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # consecutive, in order
    summary = re.search(r"demo: ([\d,]+) transactions of the simulated classroom world", result.stderr)
    assert summary is not None and int(summary.group(1).replace(",", "")) == int(shown.group(2))
    assert "Traceback" not in result.stderr
