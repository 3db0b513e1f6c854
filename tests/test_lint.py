"""Ruff stays clean where it is clean: every path in :data:`CLEAN` passes ``ruff check``.

The configuration is ``[tool.ruff]`` in pyproject.toml; ruff itself comes with the ``test`` extra.
Add a folder or file here once ``ruff check PATH`` passes on it, so that it stays that way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CLEAN = (
    # library
    "src/fraudstream/__init__.py",
    "src/fraudstream/__main__.py",
    "src/fraudstream/errors.py",
    "src/fraudstream/files.py",
    "src/fraudstream/records.py",
    "src/fraudstream/registry.py",
    "src/fraudstream/adapters",
    "src/fraudstream/worlds",
    "src/fraudstream/service",
    "src/fraudstream/store/buffered.py",
    "src/fraudstream/cli/main.py",
    "src/fraudstream/cli/generate.py",
    "src/fraudstream/cli/import_.py",
    "src/fraudstream/cli/serve.py",
    "src/fraudstream/cli/watch.py",
    "src/fraudstream/cli/watch_view.py",
    "src/fraudstream/cli/visual.py",
    "src/fraudstream/cli/visual_page.py",
    "src/fraudstream/stream/client.py",
    "src/fraudstream/stream/connection.py",
    "src/fraudstream/stream/framing.py",
    "src/fraudstream/stream/messages.py",
    "src/fraudstream/stream/protocol.py",
    "src/fraudstream/stream/reader.py",
    "src/fraudstream/stream/reader_async.py",
    "src/fraudstream/stream/replay.py",
    "src/fraudstream/stream/statistics.py",
    "src/fraudstream/stream/testing.py",
    # tests
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/support.py",
    "tests/test_clock.py",
    "tests/test_files.py",
    "tests/test_lint.py",
    "tests/test_package.py",
    "tests/test_records.py",
    "tests/test_registry.py",
    "tests/adapters",
    "tests/worlds",
    "tests/stream",
    "tests/docs",
    "tests/cli/test_watch.py",
    # benchmarks
    "benchmarks/baseline_threaded_server.py",
    "benchmarks/client_throughput.py",
    "benchmarks/e2e_detect.py",
    "benchmarks/stream_bench.py",
    "benchmarks/stream_clients.py",
    "benchmarks/stream_latency.py",
    "benchmarks/stream_stalled.py",
    "benchmarks/stream_throughput.py",
)
"""Paths (relative to the repository root) that ``ruff check`` passes: keep them so."""


def test_every_clean_path_exists():
    missing = [path for path in CLEAN if not (ROOT / path).exists()]
    assert missing == [], f"moved or removed; update CLEAN in tests/test_lint.py: {missing}"


def test_ruff_check_passes_on_the_clean_paths():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *CLEAN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"ruff check found problems (fix them, or `ruff check --fix` the safe ones):\n"
        f"{result.stdout}{result.stderr}"
    )
