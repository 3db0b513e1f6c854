"""Real headless Chromium for browser tests: Debian's package driven by Playwright.

The ``browser`` fixture (in ``tests/conftest.py``) is module-scoped: Playwright's sync API keeps
an event loop running in the main thread while it is open, so it must close before other modules
call ``asyncio.run``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
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


def find_chromium() -> str:
    """Debian's chromium, installed on demand in CI (root + FRAUDSTREAM_REQUIRE_SERVICES=1)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    in_ci = os.environ.get("FRAUDSTREAM_REQUIRE_SERVICES") == "1"
    if in_ci and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            timeout=900,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        return CHROMIUM
    if not in_ci:  # a developer machine without FRAUDSTREAM_REQUIRE_SERVICES=1: a missing browser skips
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (FRAUDSTREAM_REQUIRE_SERVICES=1 fails)")
    pytest.fail(f"{CHROMIUM} is missing and cannot be installed (needs root and apt-get)")
