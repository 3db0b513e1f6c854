"""Feature engine throughput (micro-batches) and single-transaction latency, on one core.

Data: the handbook world (simulated; ``--customers`` / ``--terminals`` scale it). The first
``--warmup`` rows build state and compile the
kernels; then micro-batches of ``--batch`` rows are timed, then ``--single`` transactions one at a
time through ``transform_one``.

    .venv/bin/python benchmarks/features_throughput.py --rows 300000 --spec default
    .venv/bin/python benchmarks/features_throughput.py --rows 300000 --spec handbook
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from fraudstream.features import FeatureEngine, FeatureSpec
from fraudstream.records import inputs
from fraudstream.worlds import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=3000)
    parser.add_argument("--spec", choices=["default", "handbook"], default="default")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--terminals", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    frame = inputs(simulate("handbook", rows=args.rows, seed=args.seed, n_customers=args.customers,
                            n_terminals=args.terminals))
    spec = FeatureSpec.handbook() if args.spec == "handbook" else FeatureSpec.default()
    engine = FeatureEngine(spec)
    rng = np.random.default_rng(args.seed)
    warm = frame.iloc[: args.warmup]
    engine.learn_labels(warm["tx_id"], rng.random(len(warm)) < 0.01, warm["ts"])
    for start in range(0, len(warm), args.batch):
        engine.transform_many(warm.iloc[start:start + args.batch])
    timed_end = len(frame) - args.single
    batches = [frame.iloc[s:min(s + args.batch, timed_end)]
               for s in range(args.warmup, timed_end, args.batch)]
    seconds, cpu = [], 0.0
    for batch in batches:
        t0, c0 = time.perf_counter(), time.thread_time()
        engine.transform_many(batch)
        seconds.append(time.perf_counter() - t0)
        cpu += time.thread_time() - c0
    rows = sum(len(b) for b in batches)
    total = sum(seconds)
    print(f"spec={args.spec} features={len(engine.feature_names)} batch={args.batch} rows={rows} "
          f"entities={engine.n_entities()}")
    print(f"micro-batches: {rows / total:,.0f} tx/s on one core (wall; {rows / cpu:,.0f} tx/s of CPU time); "
          f"per batch p50 {np.percentile(seconds, 50) * 1e3:.2f} ms, "
          f"p99 {np.percentile(seconds, 99) * 1e3:.2f} ms")
    records = frame.iloc[timed_end:].to_dict("records")
    latencies, cpu_latencies = [], []
    for record in records:
        t0, c0 = time.perf_counter(), time.thread_time()
        engine.transform_one(record)
        latencies.append(time.perf_counter() - t0)
        cpu_latencies.append(time.thread_time() - c0)
    lat, cpu_lat = np.asarray(latencies) * 1e3, np.asarray(cpu_latencies) * 1e3
    print(f"transform_one: n={len(lat)} p50 {np.percentile(lat, 50):.3f} ms, "
          f"p99 {np.percentile(lat, 99):.3f} ms, max {lat.max():.3f} ms (wall); CPU time p50 "
          f"{np.percentile(cpu_lat, 50):.3f} ms, p99 {np.percentile(cpu_lat, 99):.3f} ms")


if __name__ == "__main__":
    main()
