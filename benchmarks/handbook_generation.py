"""Generation speed of the Handbook world: the reference run, in memory and to Parquet, on one
core, against a straightforward per-row Python generator of the same model measured in the same run.

    .venv/bin/python benchmarks/handbook_generation.py                  # baseline in full (~40 s)
    .venv/bin/python benchmarks/handbook_generation.py --baseline-fraction 0.1   # quicker, scaled

The per-row baseline is written the way the Handbook's own notebook works (a loop per customer,
per day, per transaction with the ``random`` module; scenarios per compromise event, here with an
index per terminal and per customer instead of a full-table scan per day, which favours the
baseline). It runs in full by default (well under a minute); ``--baseline-fraction`` runs it on a
share of the customers and scales its time by ``1 / fraction``, which flatters it: its rate drops
as its heap grows (garbage collection over millions of row lists). Results are on simulated data.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

from fraudstream.files import write_frames
from fraudstream.worlds.handbook import HandbookWorld

DAYS = 183


def reference_run(seed: int) -> tuple[float, pd.DataFrame]:
    began = time.perf_counter()
    frame = pd.concat(HandbookWorld(seed=seed).generate(), ignore_index=True)
    return time.perf_counter() - began, frame


def parquet_run(seed: int, path: Path) -> tuple[float, int]:
    began = time.perf_counter()
    rows = write_frames(HandbookWorld(seed=seed).generate(), path)
    return time.perf_counter() - began, rows


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method (lam <= 4 here)."""
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def per_row_python(n_customers: int, n_terminals: int = 10000, radius: float = 5.0,
                   days: int = DAYS, seed: int = 0) -> list[list]:
    """The same model with plain Python loops; rows are
    ``[time_s, day, customer, terminal, amount, fraud, scenario]``."""
    rng = random.Random(seed)
    customers = [(rng.uniform(0, 100), rng.uniform(0, 100), rng.uniform(5, 100), rng.uniform(0, 4))
                 for _ in range(n_customers)]
    terminals = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n_terminals)]
    rows: list[list] = []
    for customer, (x, y, mean, nb_per_day) in enumerate(customers):
        available = [t for t, (tx, ty) in enumerate(terminals)
                     if math.sqrt((x - tx) ** 2 + (y - ty) ** 2) < radius]
        for day in range(days):
            for _ in range(_poisson(rng, nb_per_day)):
                seconds = int(rng.gauss(43200, 20000))
                if 0 < seconds < 86400:
                    amount = rng.gauss(mean, mean / 2)
                    if amount < 0:
                        amount = rng.uniform(0, 2 * mean)
                    if available:
                        rows.append([day * 86400 + seconds, day, customer, rng.choice(available),
                                     round(amount, 2), 0, 0])
    rows.sort(key=lambda row: row[0])
    by_terminal, by_customer = defaultdict(list), defaultdict(list)
    for row in rows:
        if row[4] > 220:
            row[5], row[6] = 1, 1
        by_terminal[row[3]].append(row)
        by_customer[row[2]].append(row)
    for day in range(days):
        for terminal in rng.sample(range(n_terminals), 2):
            for row in by_terminal[terminal]:
                if day <= row[1] < day + 28:
                    row[5], row[6] = 1, 2
    for day in range(days):
        for customer in rng.sample(range(n_customers), 3):
            window = [row for row in by_customer[customer] if day <= row[1] < day + 14]
            for row in rng.sample(window, len(window) // 3):
                row[4], row[5], row[6] = round(row[4] * 5, 2), 1, 3
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the vectorised generator")
    parser.add_argument("--baseline-fraction", type=float, default=1.0,
                        help="share of the 5,000 customers the per-row baseline simulates")
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    args = parser.parse_args()
    if not args.all_cores:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cores = len(os.sched_getaffinity(0))
    print(f"Handbook world, reference run (5,000 customers, 10,000 terminals, {DAYS} days, "
          f"seed {args.seed}); {cores} core(s); simulated data")

    times = []
    for _ in range(args.repeat):
        elapsed, frame = reference_run(args.seed)
        times.append(elapsed)
    counts = frame["fraud_pattern"].value_counts()
    best = min(times)
    print(f"in memory:  {statistics.median(times):.2f} s median, {best:.2f} s best of {args.repeat}; "
          f"{len(frame):,} tx ({len(frame) / best / 1e6:.2f} M tx/s), "
          f"{frame['is_fraud'].sum():,} frauds = {100 * frame['is_fraud'].mean():.3f} %")
    print("scenarios:  " + ", ".join(f"{name} {counts.get(name, 0):,}" for name in
                                     ("amount_over_220", "compromised_terminal", "compromised_card")))
    print("Handbook:   1,754,155 tx, 14,681 frauds = 0.837 %; 973 / 9,077 / 4,631 (published run)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "handbook.parquet"
        parquet_times = [parquet_run(args.seed, path)[0] for _ in range(args.repeat)]
        size = path.stat().st_size
    print(f"to Parquet: {statistics.median(parquet_times):.2f} s median, {min(parquet_times):.2f} s "
          f"best; {size / 2**20:.1f} MiB (zstd)")

    n_customers = max(1, round(5000 * args.baseline_fraction))
    began = time.perf_counter()
    n_rows = len(per_row_python(n_customers, seed=args.seed))
    baseline = time.perf_counter() - began
    if n_customers == 5000:
        vectorised, n_same = statistics.median(times), len(frame)
    else:
        began = time.perf_counter()
        n_same = len(pd.concat(HandbookWorld(seed=args.seed, n_customers=n_customers).generate()))
        vectorised = time.perf_counter() - began
    print(f"per-row Python on {n_customers:,} customers: {baseline:.1f} s, {n_rows:,} tx "
          f"({n_rows / baseline / 1e3:.0f} k tx/s); vectorised on the same population: "
          f"{vectorised:.2f} s (median), {n_same:,} tx -> {baseline / vectorised:.0f}x faster")
    if n_customers != 5000:
        full = baseline * 5000 / n_customers
        print(f"per-row Python, full reference run scaled x{5000 / n_customers:g} from the fraction: "
              f"{full:.0f} s vs vectorised {statistics.median(times):.2f} s (median) "
              f"-> {full / statistics.median(times):.0f}x faster")


if __name__ == "__main__":
    main()
