"""Ruff stays clean: every path in :data:`CLEAN` passes ``ruff check``.

The configuration is ``[tool.ruff]`` in pyproject.toml; ruff itself comes with the ``test`` extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CLEAN = ("src", "tests", "benchmarks")
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
