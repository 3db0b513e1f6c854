"""Features + gradient-boosting scoring: throughput in micro-batches and one-transaction latency, one core.

A LightGBM detector (``gbm``) is trained on the Handbook protocol's training week of the handbook
world (simulated data); then a fresh feature engine replays the stream: the first ``--warmup``
rows build the state, then micro-batches of ``--batch`` rows go through
``engine.transform_many`` + ``detector.score_many`` (timed together), then ``--single``
transactions one at a time (``engine.transform_one`` + ``detector.score_one``: no DataFrame), for
the p50/p99. Wall and CPU (``time.process_time``) are both reported, with the load average: on a
loaded machine the wall figures mostly measure waiting for a core.

The detector scores through its compiled model (``fraudstream.detect.treescorer``); the last
line times, on the first ``--compare`` timed batches' features, the scoring alone three ways:
``score_many``, ``score_and_paths`` (score + path contributions: what the detection service
calls for reasons) and LightGBM's own ``Booster.predict`` (one thread), in CPU microseconds per row.

The model is a choice (``-d key=value`` detector parameters over ``VALIDATED_GBM``, the settings
chosen by prequential validation in docs/results.md §1.4, AP >= 0.70 on the default features).
Prediction cost grows with trees x nodes; a small model (``-d n_estimators=60 -d learning_rate=0.1``)
scores faster but validated at AP 0.58 (docs/results.md §4).

    .venv/bin/python benchmarks/scoring_throughput.py --features default
    .venv/bin/python benchmarks/scoring_throughput.py --features handbook -d n_estimators=60 -d learning_rate=0.1
"""

from __future__ import annotations

import argparse
import datetime
import json
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
    parser.add_argument("--compare", type=int, default=50, help="batches timed for the scoring comparison")
    parser.add_argument("-d", "--detector-param", action="append", default=[], metavar="KEY=VALUE",
                        help="gbm parameter (JSON value), repeatable")
    args = parser.parse_args()
    params = dict(VALIDATED_GBM)
    for item in args.detector_param:
        key, _, value = item.partition("=")
        params[key] = json.loads(value)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(
        f"machine: {platform.node()} {platform.processor() or platform.machine()}, python "
        f"{platform.python_version()}, one core; "
        f"date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; load average {_load()}"
    )
    prepared = prepare(DataSource(world="handbook", days=args.days, seed=0), args.features)
    split = make_splits(prepared.frame, SplitSpec("handbook"))[0]
    detector, _ = fit_on_split(prepared, split, DetectorSpec("gbm", params=params))
    print(
        f"model: gbm {json.dumps(params)}, {detector.best_iteration_} trees, "
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
    batches = [frame.iloc[s : min(s + args.batch, stop)] for s in range(args.warmup, stop, args.batch)]
    seconds, cpu = [], []
    feature_cpu = 0.0
    kept = []
    for batch in batches:
        t0, c0 = time.perf_counter(), time.process_time()
        features = engine.transform_many(batch)
        c1 = time.process_time()
        detector.score_many(features)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        feature_cpu += c1 - c0
        if len(kept) < args.compare:
            kept.append(features)
    rows = stop - args.warmup
    print(
        f"micro-batches of {args.batch}: wall {rows / sum(seconds):,.0f} tx/s, CPU {rows / sum(cpu):,.0f} tx/s "
        f"(features + scoring, {rows:,} rows; features {feature_cpu / sum(cpu):.0%} of the CPU; per batch "
        f"wall p50 {np.percentile(seconds, 50) * 1e3:.2f} ms, p99 {np.percentile(seconds, 99) * 1e3:.2f} ms; "
        f"CPU p50 {np.percentile(cpu, 50) * 1e3:.2f} ms, p99 {np.percentile(cpu, 99) * 1e3:.2f} ms)"
    )
    records = frame.iloc[stop : stop + args.single].to_dict("records")
    latencies, cpu_one = [], []
    for record in records:
        t0, c0 = time.perf_counter(), time.process_time()
        detector.score_one(engine.transform_one(record))
        latencies.append(time.perf_counter() - t0)
        cpu_one.append(time.process_time() - c0)
    ms, cpu_ms = np.asarray(latencies) * 1e3, np.asarray(cpu_one) * 1e3
    print(
        f"one transaction alone: wall p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, "
        f"max {ms.max():.3f} ms; CPU p50 {np.percentile(cpu_ms, 50):.3f} ms, "
        f"p99 {np.percentile(cpu_ms, 99):.3f} ms ({len(records):,} transactions)"
    )
    _compare_scoring(detector, kept)
    print(f"load average after: {_load()}")


def _compare_scoring(detector, batches) -> None:
    """CPU microseconds per row of the scoring alone, on the same feature batches, three ways."""
    values = [b.to_numpy(dtype=np.float64) for b in batches]
    ways = {
        "score_many": lambda i: detector.score_many(batches[i]),
        "score_and_paths": lambda i: detector.score_and_paths(batches[i]),
        "LightGBM Booster.predict": lambda i: detector.booster_.predict(
            values[i], num_iteration=detector.best_iteration_, num_threads=1),
    }
    rows = sum(len(b) for b in batches)
    figures = []
    for name, call in ways.items():
        c0 = time.process_time()
        for i in range(len(batches)):
            call(i)
        figures.append(f"{name} {(time.process_time() - c0) / rows * 1e6:.2f}")
    print(f"scoring alone, CPU us per row ({rows:,} rows): " + ", ".join(figures))


VALIDATED_GBM = {"learning_rate": 0.02, "num_leaves": 15, "min_child_samples": 100, "colsample_bytree": 0.5,
                 "subsample": 0.8, "n_estimators": 1000, "early_stopping_rounds": 100}
"""The scoring model (benchmarks/detect_handbook.py's ``GBM_VALIDATED``); ``-d`` overrides any of it."""


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


if __name__ == "__main__":
    main()
