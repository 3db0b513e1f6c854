"""fraudstream watch / stream-client / stream-client-visual against a real `fraudstream serve`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

import fraudstream
from fraudstream.cli import cli
from fraudstream.cli.visual import HISTOGRAM_BINS, VisualBuffers, render_png, run_visual
from fraudstream.stream.connection import Reconnect
from fraudstream.stream.testing import free_port, serve_subprocess

BIN = Path(sys.executable).parent
NO_DISPLAY = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


@pytest.fixture(scope="module")
def server_process():
    with serve_subprocess("--rate", "40", "--seed", "3") as (port, process):
        yield port, int(process.args[process.args.index("--http-port") + 1])


@pytest.fixture(scope="module")
def server_port(server_process):
    return server_process[0]


def wait_for_new_client(http_port: int, baseline: int, process: subprocess.Popen,
                        limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while process.poll() is None and time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=5) as response:
            if json.loads(response.read())["clients"] > baseline:
                return
        time.sleep(0.1)


def run(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env or NO_DISPLAY)


def test_watch_shows_transactions_and_statistics(server_port):
    result = CliRunner().invoke(cli, ["watch", "--host", "127.0.0.1", "--port", str(server_port),
                                      "--id", "Tester", "--duration", "1.5", "--rows", "5"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Last 5 of" in out and "Statistics" in out and "Total Transactions" in out
    assert f"Tester @ 127.0.0.1:{server_port}" in out
    assert "Tester:" in out and " transactions, " in out  # the summary line (stderr, mixed by CliRunner)


def test_watch_resume_streams_with_offsets(server_process):
    server_port, http_port = server_process
    result = CliRunner().invoke(cli, ["watch", "--host", "127.0.0.1", "--port", str(server_port), "--resume",
                                      "--duration", "2.5", "--rows", "5"])
    assert result.exit_code == 0, result.output
    summary = re.search(r"(\d+) transactions, ", result.output)
    assert summary is not None and int(summary[1]) > 0, result.output
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=5) as response:
        assert json.loads(response.read())["retention"]["resumed"] >= 1  # the server answered with offsets


def test_watch_connection_refused_is_one_line_and_exit_1():
    port = free_port()
    result = run(sys.executable, "-m", "fraudstream", "watch", "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr == (f"Error: no server at 127.0.0.1:{port}: start one with `fraudstream serve` "
                             "or check --host/--port\n")


def test_stream_client_refused_is_one_line_and_exit_1():
    port = free_port()
    result = run(str(BIN / "stream-client"), "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: no server at 127.0.0.1:{port}: start one with `fraudstream serve` or check --host/--port"]


def test_watch_labels_marks_delayed_labels():
    with serve_subprocess("--rate", "40", "--seed", "5", "--labels", "delayed:0.2") as (port, _):
        result = CliRunner().invoke(cli, ["watch", "--host", "127.0.0.1", "--port", str(port), "--labels",
                                          "--duration", "2"])
    assert result.exit_code == 0, result.output
    summary = re.search(r"(\d+) transactions, 0 flagged fraud inline, (\d+) labels \((\d+) fraud\)",
                        result.output)
    assert summary is not None, result.output
    transactions, labels, _ = map(int, summary.groups())
    assert 0 < labels <= transactions  # hidden stream: fraud only from the delayed labels


def test_stream_client_prints_the_seed_output(server_process):
    server_port, http_port = server_process
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=5) as response:
        baseline = json.loads(response.read())["clients"]
    process = subprocess.Popen([str(BIN / "stream-client"), "--host", "127.0.0.1", "--port", str(server_port),
                                "--id", "Seed"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_new_client(http_port, baseline, process)
    time.sleep(1.5)  # 40 tx/s: some transactions arrive
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.startswith("=" * 50 + "\nDATA STREAM CLIENT\n" + "=" * 50 + "\nClient ID: Seed\n")
    assert "[Seed] Connected to fraud detection training stream" in out
    assert "Seed - New Transaction:\nTransaction #" in out and "📊 STATISTICS:" in out
    assert "Seed disconnected." in out and "🏁 FINAL STATISTICS:" in out
    assert "Traceback" not in err


def test_stream_client_visual_runs_headless_with_the_seed_flags(server_port, tmp_path):
    result = run(str(BIN / "stream-client-visual"), "--host", "127.0.0.1", "--port", str(server_port),
                 "--id", "Vis", "--max-records", "50", "--duration", "1.5")
    assert result.returncode == 0, result.stderr
    assert "VISUAL DATA STREAM CLIENT" in result.stdout and "Max Records: 50" in result.stdout
    assert "No display found" in result.stdout and "Vis disconnected." in result.stdout


def test_watch_visual_writes_the_four_panels_png(server_port, tmp_path):
    png = tmp_path / "panels.png"
    result = run(sys.executable, "-m", "fraudstream", "watch", "--visual", "--host", "127.0.0.1", "--port",
                 str(server_port), "--duration", "1.5", "--png", str(png))
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_panels_from_real_received_data(server_port, tmp_path):
    buffers = VisualBuffers(max_records=25)
    received = []
    with fraudstream.stream(("127.0.0.1", server_port), reconnect=Reconnect(attempts=0)) as txs:
        for tx in txs:
            buffers.add(tx)
            received.append(tx)
            if len(received) == 30:
                break
    axes = render_png(buffers, tmp_path / "panels.png", "PanelTest")
    assert (tmp_path / "panels.png").stat().st_size > 10_000
    assert axes["table"].get_title() == "Transaction Stream (Last 20 of 30 transactions)"
    cells = axes["table"].fraudstream_table.get_celld()
    assert max(row for row, _ in cells) == 20  # header row 0 + 20 transactions
    assert cells[(20, 0)].get_text().get_text() == str(received[-1]["transactionID"])
    assert cells[(0, 2)].get_text().get_text() == "Amount"
    last_25 = [tx["amount"] for tx in received[-25:]]
    legend = [t.get_text() for t in axes["timeseries"].get_legend().get_texts()]
    assert legend == [f"Mean: ${sum(last_25) / 25:.2f}"]
    assert axes["timeseries"].get_title() == "Amount Time Series"
    assert axes["histogram"].get_title() == "Amount Distribution"
    assert len(axes["histogram"].patches) == HISTOGRAM_BINS
    texts = [t.get_text() for t in axes["stats"].texts]
    assert texts[0] == "STATISTICS" and "Total Transactions: 30" in texts
    assert f"Max Amount: ${max(last_25):.2f}" in texts


def test_browser_page_is_self_contained_and_live(server_port):
    view_port = free_port()
    thread = threading.Thread(target=run_visual, args=("127.0.0.1", server_port, "Web"),
                              kwargs={"browser": True, "duration_s": 3.0, "view_port": view_port},
                              daemon=True)
    thread.start()
    page = data = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            page = urllib.request.urlopen(f"http://127.0.0.1:{view_port}/", timeout=2).read().decode()
            reply = urllib.request.urlopen(f"http://127.0.0.1:{view_port}/data.json", timeout=2)
            data = json.loads(reply.read())
            if data["count"] > 0:
                break
        except OSError:
            pass
        time.sleep(0.1)
    thread.join(15)
    assert page is not None and "<canvas" in page and "Amount Distribution" in page
    assert "http://" not in page and "https://" not in page  # no CDN, nothing external
    assert data is not None and data["count"] > 0 and data["client_id"] == "Web"
    assert len(data["rows"]) == min(20, data["count"]) and len(data["rows"][0]) == 5


def test_watch_view_highlights_inline_fraud_and_delayed_labels():
    from rich.console import Console

    from fraudstream.cli.watch_view import WatchState

    state = WatchState("V", "127.0.0.1:1", rows=3)
    state.add({"type": "connection", "message": "hi"})
    for i in range(1, 5):
        pattern = {"fraudPattern": "round_numbers"} if i == 3 else {}
        state.add({"transactionID": i, "userID": i, "amount": 10.0 * i, "itemID": f"B{i}",
                   "timestamp": "2024-01-01T00:00:00", "isFraud": i == 3, **pattern}, now=float(i))
    state.add({"type": "label", "transactionID": 4, "isFraud": True, "fraudPattern": "sudden_spike"})
    state.add({"type": "label", "transactionID": 1, "isFraud": False})  # no longer shown: not in the table
    assert [row["id"] for row in state.rows] == [2, 3, 4]
    assert [row["fraud"] for row in state.rows] == [False, True, True]
    assert (state.count, state.frauds, state.labels, state.labelled_fraud) == (4, 1, 2, 1)
    assert state.stats.get_statistics()["total_amount"] == 100.0
    console = Console(record=True, width=120, force_terminal=True, color_system="truecolor")
    console.print(state.render())
    html = console.export_html(inline_styles=True)
    assert "FRAUD round_numbers" in html and "FRAUD sudden_spike" in html
    assert html.count("background-color: #800000") >= 2  # the two fraud rows, white on red
