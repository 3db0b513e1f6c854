"""Classroom (and basic) world generation speed in memory, and the classroom's fraud rates.

Transactions generated per second by ``World.generate`` into pandas frames (no file, no wire
encoding), several runs each, best and median. Simulated data.

Run: ``.venv/bin/python benchmarks/classroom_throughput.py [--days 3650] [--runs 5]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

import pandas as pd

from fraudstream.worlds import get_world, simulate


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def measure(world_name: str, runs: int, days: float | None, rows: int | None, **params: object) -> None:
    rates = []
    count = 0
    for _ in range(runs):
        world = get_world(world_name)(seed=1, **params)
        started = time.perf_counter()
        count = sum(len(frame) for frame in world.generate(days=days, rows=rows))
        rates.append(count / (time.perf_counter() - started))
    label = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
    print(f"{world_name:9s} {label:36s} {count:>10,} tx/run  best {max(rates):>12,.0f} tx/s  "
          f"median {statistics.median(rates):>12,.0f} tx/s  ({runs} runs)")


def fraud_rates(days: float) -> None:
    frame = simulate("classroom", days=days, seed=1, block_days=365)
    by_user = frame.groupby("customer_id")["is_fraud"].mean()
    print(f"classroom fraud over {days:,.0f} days, {len(frame):,} tx ({len(frame) / days:.1f}/day): "
          f"overall {frame['is_fraud'].mean():.4%}; user 13 {by_user[13]:.2%}, "
          f"user 14 {by_user[14]:.2%}, user 15 {by_user[15]:.2%}")
    counts = frame.loc[frame["is_fraud"], "fraud_pattern"].value_counts()
    print("  by pattern (transactions): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    classic = simulate("classroom", days=days, seed=1, block_days=365, classic=True)
    print(f"classroom classic=True: overall fraud {classic['is_fraud'].mean():.4%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=3650.0, help="simulated days per classroom run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cpus ({len(os.sched_getaffinity(0))} usable), {cpu_model()}; "
          f"python {platform.python_version()}, pandas {pd.__version__}; "
          f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    measure("classroom", args.runs, args.days, None)
    measure("classroom", args.runs, args.days, None, block_days=365)
    measure("classroom", args.runs, args.days, None, block_days=365, tx_per_day=219.6)
    measure("classroom", args.runs, args.days, None, classic=True, block_days=365)
    measure("basic", args.runs, None, int(args.days * 200))
    fraud_rates(args.days)


if __name__ == "__main__":
    main()
