"""Lag between storing transactions and the Live page counting them, at 5,000 transactions/s,
in real headless Chromium (target < 2 s).

    .venv/bin/python benchmarks/dashboard_live_lag.py --rate 5000 --seconds 30

A writer stores simulated transactions (paced to ``--rate``) in batches of ``--batch`` rows
(default 2,500: two commits a second at 5,000/s) through ``Store.write_transactions``, as the
detection service does; a 2,500-row batch costs the writer about half the CPU per row of a
500-row one, which matters on a loaded 2-core machine. It writes
into a fresh SQLite store while ``fraudstream dashboard`` (a separate process) serves it and
Chromium shows /live. After each write commits, the writer notes (time, running total); the page
notes each pushed summary (time received, total). The lag of a batch is the time from its commit
to the first push whose total includes it. Prints the achieved rate and lag percentiles.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fraudstream.dashboard.sample import sample_frame
from fraudstream.dashboard.users import add_user
from fraudstream.store import open_store
from fraudstream.stream.testing import free_port

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--batch", type=int, default=2500)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fs-live-lag-"))
    url = f"sqlite:///{folder / 'store.db'}"
    total_rows = int(args.rate * args.seconds)
    frame = sample_frame(total_rows, seed=4)
    with open_store(url) as store:
        add_user(store, "bench", "bench-password", "viewer")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fraudstream", "dashboard", "--store", url, "--port", str(port)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        server.stderr.readline()  # "dashboard on http://..."
        time.sleep(1.0)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=FLAGS, headless=True)
            page = browser.new_page(base_url=f"http://127.0.0.1:{port}")
            page.goto("/login")
            page.fill("#name", "bench")
            page.fill("#password", "bench-password")
            page.click("#login")
            page.wait_for_url("**/live")
            page.wait_for_function("window.__pushes && window.__pushes.length > 0")
            commits: list[tuple[float, int]] = []
            written = 0
            with open_store(url) as store:
                load_before = os.getloadavg()
                cpu_started = time.process_time()
                started = time.time()
                for begin in range(0, total_rows, args.batch):
                    due = started + begin / args.rate
                    delay = due - time.time()
                    if delay > 0:
                        page.wait_for_timeout(delay * 1000)  # lets Playwright's loop run meanwhile
                    part = frame.iloc[begin : begin + args.batch]
                    store.write_transactions(part)
                    written += len(part)
                    commits.append((time.time(), written))
                elapsed = time.time() - started
                writer_cpu = time.process_time() - cpu_started
            page.wait_for_function(f"window.__pushes.at(-1).total >= {written}", timeout=30_000)
            pushes = page.evaluate("window.__pushes")
            page.screenshot(path=str(folder / "live.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    received = np.array([p["received"] for p in pushes])
    totals = np.array([p["total"] for p in pushes])
    lags = []
    for committed_at, count in commits:
        seen = np.flatnonzero((totals >= count) & (received >= committed_at - 5))
        if len(seen):
            lags.append(received[seen[0]] - committed_at)
    lags_arr = np.maximum(np.array(lags), 0.0)
    print(
        f"wrote {written:,} transactions in {elapsed:.1f} s = {written / elapsed:,.0f}/s "
        f"(target {args.rate:,.0f}/s, batches of {args.batch})"
    )
    print(f"writer CPU: {writer_cpu:.1f} s for {written:,} rows; load average {load_before[0]:.2f} before")
    print(f"pushes received by the page: {len(pushes)}; batches matched: {len(lags)}/{len(commits)}")
    print(
        f"lag store -> page counted: median {np.median(lags_arr):.2f} s, "
        f"p95 {np.quantile(lags_arr, 0.95):.2f} s, "
        f"max {lags_arr.max():.2f} s (target < 2 s)"
    )
    print(f"screenshot: {folder / 'live.png'}")


if __name__ == "__main__":
    main()
