"""Feature engine throughput (micro-batches) and single-transaction latency, on one core.

Data (all simulated): ``--world handbook`` (the handbook world; ``--customers`` /
``--terminals`` scale it), ``--world sparkov`` (the sparkov world with ``--customers`` cards and
``--terminals`` merchants: few merchants means busy ones), or ``--world busy`` (synthetic:
``--terminals`` merchants with ``--merchant-rate`` transactions a day each, at uniform times, by
``--customers`` customers, for ``--days`` days). The first ``--warmup`` rows build state and
compile the kernels (``--timed`` instead: everything but the last ``--timed`` + ``--single``
rows); then micro-batches of ``--batch`` rows are timed, then ``--single`` transactions one at a
time through ``transform_one``. Fraud labels (1 % of transactions, at random) are learned up
front, each known a uniform 0-14 days after its transaction, so risk features see labels known
when their transaction enters a delayed window and labels that become known while it is inside.

    .venv/bin/python benchmarks/features_throughput.py --rows 300000 --spec default
    .venv/bin/python benchmarks/features_throughput.py --rows 300000 --spec handbook
    .venv/bin/python benchmarks/features_throughput.py --world busy --terminals 1000 --merchant-rate 100 \\
        --days 40 --timed 150000 --spec handbook
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from fraudstream.features import FeatureEngine, FeatureSpec
from fraudstream.records import inputs
from fraudstream.worlds import simulate


def busy_world(args: argparse.Namespace) -> pd.DataFrame:
    """Synthetic busy merchants: Poisson(rate x days) transactions each, uniform in time."""
    rng = np.random.default_rng(args.seed)
    counts = rng.poisson(args.merchant_rate * args.days, args.terminals)
    merchants = np.repeat(np.arange(args.terminals, dtype=np.int64), counts)
    n = len(merchants)
    seconds = np.floor(rng.uniform(0, args.days * 86400, n))
    order = np.argsort(seconds, kind="stable")
    return pd.DataFrame({
        "tx_id": np.arange(n, dtype=np.int64),
        "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(seconds[order], unit="s"),
        "customer_id": rng.integers(0, args.customers, n).astype(np.int64),
        "merchant_id": merchants[order],
        "amount": np.round(rng.gamma(2.0, 25.0, n), 2),
    })


def load_frame(args: argparse.Namespace) -> pd.DataFrame:
    if args.world == "busy":
        return busy_world(args)
    if args.world == "sparkov":
        return inputs(simulate("sparkov", rows=args.rows, seed=args.seed, n_customers=args.customers,
                               n_merchants=args.terminals))
    return inputs(simulate("handbook", rows=args.rows, seed=args.seed, n_customers=args.customers,
                           n_terminals=args.terminals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", choices=["handbook", "sparkov", "busy"], default="handbook")
    parser.add_argument("--rows", type=int, default=300_000, help="rows (handbook and sparkov worlds)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100_000)
    parser.add_argument("--timed", type=int, default=None, help="timed rows; the rest before them is warm-up")
    parser.add_argument("--single", type=int, default=3000)
    parser.add_argument("--spec", choices=["default", "handbook"], default="default")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--terminals", type=int, default=10000)
    parser.add_argument("--merchant-rate", type=float, default=100.0,
                        help="busy world: tx per merchant per day")
    parser.add_argument("--days", type=float, default=40.0, help="busy world: days")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    load_before = os.getloadavg()[0]
    frame = load_frame(args)
    warmup = len(frame) - args.timed - args.single if args.timed is not None else args.warmup
    spec = FeatureSpec.handbook() if args.spec == "handbook" else FeatureSpec.default()
    engine = FeatureEngine(spec)
    rng = np.random.default_rng(args.seed)
    known_after = pd.to_timedelta(rng.uniform(0, 14 * 86400, len(frame)).round(), unit="s")
    engine.learn_labels(frame["tx_id"], rng.random(len(frame)) < 0.01, frame["ts"] + known_after)
    warm = frame.iloc[:warmup]
    for start in range(0, len(warm), args.batch):
        engine.transform_many(warm.iloc[start:start + args.batch])
    timed_end = len(frame) - args.single
    batches = [frame.iloc[s:min(s + args.batch, timed_end)] for s in range(warmup, timed_end, args.batch)]
    seconds, cpu = [], 0.0
    for batch in batches:
        t0, c0 = time.perf_counter(), time.thread_time()
        engine.transform_many(batch)
        seconds.append(time.perf_counter() - t0)
        cpu += time.thread_time() - c0
    rows = sum(len(b) for b in batches)
    total = sum(seconds)
    span_days = (frame["ts"].iloc[-1] - frame["ts"].iloc[0]).total_seconds() / 86400
    per_merchant = len(frame) / max(frame["merchant_id"].nunique(), 1) / max(span_days, 1e-9)
    print(f"world={args.world} spec={args.spec} features={len(engine.feature_names)} batch={args.batch} "
          f"rows={len(frame):,} over {span_days:.1f} days ({per_merchant:.1f} tx per merchant per day), "
          f"warm-up {warmup:,}, timed {rows:,}; entities={engine.n_entities()}")
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
    print(f"state {engine.nbytes() / 2**20:,.0f} MiB; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
