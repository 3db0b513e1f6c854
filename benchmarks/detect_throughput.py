"""Detector scoring speed: score_many on micro-batches, and score_one latency.

Synthetic feature frames (4 numeric features, 5 % fraud), one core pinned where the OS allows.
Usage: .venv/bin/python benchmarks/detect_throughput.py --rows 20000 --batch 1000 [--only gbm,rules]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "detect"))
from detect_cases import FACTORIES, feature_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000, help="rows to score")
    parser.add_argument("--batch", type=int, default=1000, help="micro-batch size")
    parser.add_argument("--singles", type=int, default=300, help="score_one calls for the latency figure")
    parser.add_argument("--only", default="", help="comma-separated detector names")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    train, labels = feature_frame(n=5000, seed=0)
    data, _ = feature_frame(n=args.rows, seed=1)
    names = [n for n in FACTORIES if not args.only or n in args.only.split(",")]
    print(f"{'detector':<12} {'tx/s (batch ' + str(args.batch) + ')':>20} {'score_one p50 ms':>17} {'p99 ms':>8}")
    for name in names:
        detector = FACTORIES[name]().fit(train, labels)
        start = time.perf_counter()
        for i in range(0, len(data), args.batch):
            detector.score_many(data.iloc[i:i + args.batch])
        rate = len(data) / (time.perf_counter() - start)
        records = data.iloc[: args.singles].to_dict("records")
        latencies = []
        for record in records:
            t0 = time.perf_counter()
            detector.score_one(record)
            latencies.append((time.perf_counter() - t0) * 1000)
        p50, p99 = np.percentile(latencies, [50, 99])
        print(f"{name:<12} {rate:>20,.0f} {p50:>17.2f} {p99:>8.2f}")


if __name__ == "__main__":
    main()
