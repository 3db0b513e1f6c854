"""Memory of the feature engine's state for many customers (synthetic Poisson customers).

Synthetic data, not a world: ``--customers`` customers, each making Poisson(``--rate``)
transactions a day at uniform times, at ``--merchants`` merchants chosen uniformly, amounts
Gamma(2, 25); ``--days`` days (more than the longest 30-day window, so every ring holds a full
window). Reports the engine's numpy state (rings, aggregates, labels), its id dictionaries, and
the growth of the process RSS (an upper bound: it also holds freed batch memory).

    .venv/bin/python benchmarks/features_state_memory.py --customers 1000000 --spec handbook
    .venv/bin/python benchmarks/features_state_memory.py --customers 1000000 --spec default
    .venv/bin/python benchmarks/features_state_memory.py --customers 1000000 --spec handbook-customer

``*-customer`` specs keep only the customer features (no merchant state), to measure the state
that grows with the number of customers.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

from fraudstream.features import FeatureEngine, FeatureSpec

GIB = 1024**3

SPECS = {
    "default": FeatureSpec.default,
    "handbook": FeatureSpec.handbook,
    # the Handbook's customer features only (no merchant state): the customer part of the state
    "handbook-customer": lambda: FeatureSpec(
        entities=("customer",), windows=("1d", "7d", "30d"), stats=("count", "mean"), velocity=(),
        history_window=None, recency=False, amount_flags=False, repeat_window=None, novelty_window=None,
        geo=False, risk_windows=()),
    # every customer feature of the default spec (no merchant or category state)
    "default-customer": lambda: FeatureSpec(entities=("customer",), risk_windows=()),
}


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def dict_bytes(engine: FeatureEngine) -> int:
    """Id -> slot mappings of every entity kind (hash tables; dicts and keys for text ids)."""
    return sum(state.id_nbytes() for state in engine.states.values())


def day_frame(rng: np.random.Generator, day: int, args: argparse.Namespace, first_id: int) -> pd.DataFrame:
    counts = rng.poisson(args.rate, args.customers)
    customers = np.repeat(np.arange(args.customers, dtype=np.int64), counts)
    n = len(customers)
    seconds = rng.uniform(0, 86400, n)
    order = np.argsort(seconds)
    return pd.DataFrame({
        "tx_id": np.arange(first_id, first_id + n, dtype=np.int64),
        "ts": pd.Timestamp("2024-01-01", tz="UTC")
        + pd.to_timedelta(day * 86400 + np.floor(seconds[order]), unit="s"),
        "customer_id": customers[order],
        "merchant_id": rng.integers(0, args.merchants, n).astype(np.int64),
        "amount": np.round(rng.gamma(2.0, 25.0, n), 2),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=1.0, help="transactions per customer per day")
    parser.add_argument("--merchants", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--batch", type=int, default=200_000)
    parser.add_argument("--spec", choices=list(SPECS), default="handbook")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    spec = SPECS[args.spec]()
    rng = np.random.default_rng(args.seed)
    engine = FeatureEngine(spec)
    engine.transform_many(day_frame(np.random.default_rng(99), 0, argparse.Namespace(
        customers=10, rate=1.0, merchants=2), first_id=-100))  # compile the kernels outside the measure
    engine = FeatureEngine(spec)
    gc.collect()
    rss0 = rss_bytes()
    next_id, rows, t0 = 0, 0, time.perf_counter()
    for day in range(args.days):
        frame = day_frame(rng, day, args, next_id)
        next_id += len(frame)
        engine.learn_labels(frame["tx_id"], rng.random(len(frame)) < 0.005, frame["ts"])
        for start in range(0, len(frame), args.batch):
            engine.transform_many(frame.iloc[start:start + args.batch])
        rows += len(frame)
        del frame
        gc.collect()
        print(f"day {day + 1}/{args.days}: {rows:,} tx, state {engine.nbytes() / GIB:.3f} GiB",
              file=sys.stderr)
    seconds = time.perf_counter() - t0
    numpy_bytes = engine.nbytes()
    ids = dict_bytes(engine)
    print(f"synthetic Poisson customers: spec={args.spec} customers={args.customers:,} rate={args.rate}/day "
          f"merchants={args.merchants:,} days={args.days} tx={rows:,} ({rows / seconds:,.0f} tx/s)")
    print(f"entities: {engine.n_entities()}")
    for kind, state in engine.states.items():
        live = state.live_events()
        per_event = sum(a.dtype.itemsize for a in state.events.values())
        arena = state.arena_size
        arena_bytes = arena * per_event
        print(f"  {kind}: numpy {state.nbytes() / GIB:.3f} GiB (arena {arena_bytes / GIB:.3f} GiB, slot "
              f"arrays {(state.nbytes() - arena_bytes) / GIB:.3f} GiB), live events {live:,}, arena slots "
              f"{arena:,} ({arena / max(live, 1):.2f}x live), {per_event} B per event "
              f"{ {n: a.dtype.name for n, a in state.events.items()} }")
    if engine._risk_state() is not None:
        print(f"  tx locator: {engine.locator.nbytes() / GIB:.3f} GiB ({len(engine.locator):,} events inside "
              f"a delayed window)")
    print(f"state: numpy {numpy_bytes / GIB:.3f} GiB + id maps {ids / GIB:.3f} GiB = "
          f"{(numpy_bytes + ids) / GIB:.3f} GiB; per customer {(numpy_bytes + ids) / args.customers:.0f} B")
    print(f"process RSS growth (upper bound): {(rss_bytes() - rss0) / GIB:.3f} GiB; "
          f"CPU {time.process_time():.0f} s; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
