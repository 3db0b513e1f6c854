"""fraudstream demo: works with no server running, stops after --duration or on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time


def test_demo_duration_exits_0_and_shows_transactions():
    result = subprocess.run([sys.executable, "-m", "fraudstream", "demo", "--duration", "3"],
                            capture_output=True, text=True, timeout=60)
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


def test_demo_ctrl_c_is_clean():
    process = subprocess.Popen([sys.executable, "-m", "fraudstream", "demo"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # imports, server start, a few transactions (generous: the machine may be loaded)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert re.search(r"Last \d+ of [1-9][\d,]* transactions", out), out
