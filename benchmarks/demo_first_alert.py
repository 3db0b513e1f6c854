"""Time from starting ``fraudstream demo`` to the first alert visible in a browser.

Each run starts ``fraudstream demo --port 0`` (default settings otherwise: 90 days of history,
100 transactions/s) as a subprocess, with a headless Chromium (Debian's ``/usr/bin/chromium``
driven by Playwright) already running — as a user's browser would be. As soon as the demo prints
its URL and login, the browser logs in and opens the Alerts page, reloading it every 0.5 s
until the first alert row is visible. Milestones are measured from the moment the subprocess is
started: URL printed, model trained, stream started, first FRAUD ALERT block on the console,
first alert row visible in the browser. Then Ctrl-C (SIGINT) and the time to exit. Simulated data.

    python benchmarks/demo_first_alert.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
MILESTONES = {
    "url_s": r"dashboard\s+http://",
    "model_s": r"held-out AP",
    "stream_s": r"Ctrl-C to stop",
    "console_alert_s": r"FRAUD ALERT",
}


def one_run(browser: Any, extra: list[str], timeout_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "fraudstream", "demo", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[tuple[float, str]] = []
    errors: list[str] = []

    def read(stream: Any, into: list[Any], stamp: bool) -> None:
        with stream:
            for line in stream:
                into.append((time.perf_counter() - started, line) if stamp else line)

    readers = [
        threading.Thread(target=read, args=(process.stdout, lines, True), daemon=True),
        threading.Thread(target=read, args=(process.stderr, errors, False), daemon=True),
    ]
    for reader in readers:
        reader.start()

    def first(pattern: str) -> tuple[float, re.Match[str]] | None:
        for at, line in list(lines):
            if found := re.search(pattern, line):
                return at, found
        return None

    result: dict[str, Any] = {}
    try:
        deadline = time.perf_counter() + timeout_s
        while (login := first(r"login\s+user (\S+)\s+password (\S+)")) is None:
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError("no login line: " + "".join(errors)[-2000:])
            time.sleep(0.01)
        url = first(r"dashboard\s+(http://\S+)")
        assert url is not None
        context = browser.new_context(base_url=url[1].group(1).rstrip("/"))
        page = context.new_page()
        page.set_default_timeout(timeout_s * 1000)
        page.goto("/login")
        page.fill("#name", login[1].group(1))
        page.fill("#password", login[1].group(2))
        page.click("#login")
        page.wait_for_url("**/live")
        result["logged_in_s"] = time.perf_counter() - started
        page.goto("/alerts")
        while page.locator("#alerts-table tbody tr").count() == 0:
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError("no alert in the browser: " + "".join(errors)[-2000:])
            time.sleep(0.5)
            page.reload()
        result["browser_alert_s"] = time.perf_counter() - started
        context.close()
        for name, pattern in MILESTONES.items():
            found = first(pattern)
            result[name] = found[0] if found else None
    finally:
        stopping = time.perf_counter()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        result["stop_s"] = time.perf_counter() - stopping
        result["exit_code"] = process.returncode
        for reader in readers:
            reader.join(10)
        result["traceback"] = "Traceback" in "".join(errors)
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout-s", type=float, default=120.0)
    parser.add_argument("extra", nargs="*", help="more fraudstream demo options (after --)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            results = []
            for number in range(1, args.runs + 1):
                result = one_run(browser, args.extra, args.timeout_s)
                results.append(result)
                print(json.dumps({"run": number, **result}), flush=True)
        finally:
            browser.close()
    alerts = [r["browser_alert_s"] for r in results]
    print(
        f"first alert visible in the browser: {', '.join(f'{a:.1f} s' for a in alerts)} "
        f"(target: within 15 s; simulated data)"
    )


if __name__ == "__main__":
    main()
