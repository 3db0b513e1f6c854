"""Features + gradient-boosting scoring: throughput in micro-batches and one-transaction latency, one core.

A LightGBM detector (``gbm``) is trained on the Handbook protocol's training week of the handbook
world (simulated data); then a fresh feature engine replays the stream: the first ``--warmup``
rows build the state, then micro-batches of ``--batch`` rows go through
``engine.transform_many`` + ``detector.score_many`` (timed together), then ``--single``
transactions one at a time (``transform_many`` of one row + ``score_many``), for the p50/p99.

    .venv/bin/python benchmarks/scoring_throughput.py --features handbook
    .venv/bin/python benchmarks/scoring_throughput.py --features default
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import numpy as np

from fraudstream.evaluate.experiment import (
    DataSource,
    DetectorSpec,
    SplitSpec,
    fit_on_split,
    make_splits,
    prepare,
)
from fraudstream.features import FeatureEngine, FeatureSpec
from fraudstream.records import inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", choices=["handbook", "default"], default="handbook")
    parser.add_argument("--days", type=float, default=136)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=300_000)
    parser.add_argument("--rows", type=int, default=300_000, help="rows timed in micro-batches")
    parser.add_argument("--single", type=int, default=3000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(
        f"machine: {platform.node()} {platform.processor() or platform.machine()}, python "
        f"{platform.python_version()}, one core; "
        f"date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    )
    prepared = prepare(DataSource(world="handbook", days=args.days, seed=0), args.features)
    split = make_splits(prepared.frame, SplitSpec("handbook"))[0]
    detector, _ = fit_on_split(prepared, split, DetectorSpec("gbm"))
    print(
        f"model: gbm, {detector.best_iteration_} trees, "
        f"{len(detector.feature_names_)} {args.features} features "
        "(handbook world, simulated data)"
    )
    frame = inputs(prepared.frame)
    labels = prepared.frame["is_fraud"].to_numpy(bool)
    spec = FeatureSpec.handbook() if args.features == "handbook" else FeatureSpec.default()
    engine = FeatureEngine(spec)
    engine.learn_labels(frame["tx_id"], labels, frame["ts"] + np.timedelta64(7, "D"))
    warm = frame.iloc[: args.warmup]
    for start in range(0, len(warm), 10_000):
        detector.score_many(engine.transform_many(warm.iloc[start : start + 10_000]))
    stop = min(len(frame) - args.single, args.warmup + args.rows)
    seconds = []
    for start in range(args.warmup, stop, args.batch):
        batch = frame.iloc[start : min(start + args.batch, stop)]
        t0 = time.perf_counter()
        detector.score_many(engine.transform_many(batch))
        seconds.append(time.perf_counter() - t0)
    rows = stop - args.warmup
    print(
        f"micro-batches of {args.batch}: {rows / sum(seconds):,.0f} tx/s (features + scoring, {rows:,} rows; "
        f"per batch p50 {np.percentile(seconds, 50) * 1e3:.2f} ms, "
        f"p99 {np.percentile(seconds, 99) * 1e3:.2f} ms)"
    )
    latencies = []
    for row in range(stop, stop + args.single):
        one = frame.iloc[row : row + 1]
        t0 = time.perf_counter()
        detector.score_many(engine.transform_many(one))
        latencies.append(time.perf_counter() - t0)
    ms = np.asarray(latencies) * 1e3
    print(
        f"one transaction alone: p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, "
        f"max {ms.max():.3f} ms ({args.single:,} transactions)"
    )


if __name__ == "__main__":
    main()
