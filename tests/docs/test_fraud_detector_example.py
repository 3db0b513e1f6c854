"""docs/examples/fraud_detector_client.py runs against `fraudstream serve` and reports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from fraudstream.stream.testing import serve_subprocess

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "fraud_detector_client.py"


def test_template_scores_a_few_hundred_transactions():
    with serve_subprocess("--rate", "300", "--seed", "21") as (port, _):
        result = subprocess.run([sys.executable, str(EXAMPLE), "--host", "127.0.0.1", "--port", str(port),
                                 "--id", "Student", "--max-transactions", "200"],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = re.search(r"Student: (\d+) transactions, (\d+) flagged, (\d+) frauds caught, (\d+) missed, "
                       r"precision ([\d.]+), recall ([\d.]+)", result.stdout)
    assert report is not None, result.stdout
    seen, flagged, caught, _missed = map(int, report.groups()[:4])
    assert seen == 200 and caught <= flagged
    alerts = result.stdout.count("🚨 FRAUD ALERT: Transaction ")
    assert alerts == flagged


def test_template_refused_is_one_line():
    from fraudstream.stream.testing import free_port

    port = free_port()
    result = subprocess.run([sys.executable, str(EXAMPLE), "--host", "127.0.0.1", "--port", str(port)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: no server at 127.0.0.1:{port}: start one with `fraudstream serve` or check --host/--port"
    )
