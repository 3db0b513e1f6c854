"""Shared by the detection benchmarks: the machine line, one core, and result rows as a Markdown table."""

from __future__ import annotations

import datetime
import os
import platform
import time
from collections.abc import Callable
from typing import Any


def one_core() -> None:
    """Pin this process to one core (the figures say "one core")."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def print_machine() -> None:
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores (this run pinned to one), "
        f"python {platform.python_version()}; date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    )
    print("All results below are on SIMULATED data.")


COLUMNS = (
    "ap",
    "roc_auc",
    "cp_at_k",
    "cp_at_k_oracle",
    "recall_at_1pct_fpr",
    "precision",
    "recall",
    "f1",
    "accuracy",
)


def header() -> None:
    print("| model | " + " | ".join(COLUMNS) + " | seconds |")
    print("|---|" + "---|" * (len(COLUMNS) + 1))


def row(name: str, metrics: dict[str, Any], seconds: float) -> None:
    cells = [
        f"{metrics[c]:.3f}" if isinstance(metrics.get(c), float) else str(metrics.get(c, "-"))
        for c in COLUMNS
    ]
    print(f"| {name} | " + " | ".join(cells) + f" | {seconds:.0f} |", flush=True)


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start
