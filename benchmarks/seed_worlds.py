"""Generation speed and fraud shares of the seed worlds (welfare, hacker, pyspark-demo).

Simulated data. Run: ``.venv/bin/python benchmarks/seed_worlds.py [--days-scale 1.0]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fraudstream.worlds import simulate

RUNS = {"welfare": 30.0, "hacker": 3.0, "pyspark-demo": 94.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days-scale", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, default=10, help="seeds for the pyspark-demo share spread")
    args = parser.parse_args()
    for name, days in RUNS.items():
        days *= args.days_scale
        started = time.perf_counter()
        frame = simulate(name, days=days, seed=0)
        elapsed = time.perf_counter() - started
        print(f"{name:13s} {days:6.1f} days {len(frame):>9,} rows {elapsed:6.2f} s "
              f"{len(frame) / elapsed:>11,.0f} rows/s  fraud share {frame['is_fraud'].mean():.4f}")
    shares = [simulate("pyspark-demo", days=94 * args.days_scale, seed=s)["is_fraud"].mean()
              for s in range(args.seeds)]
    print(f"pyspark-demo fraud share over seeds 0..{args.seeds - 1} (94 days each): "
          f"mean {np.mean(shares):.4f}, min {np.min(shares):.4f}, max {np.max(shares):.4f}")
    long = simulate("pyspark-demo", days=3000 * args.days_scale, seed=0)
    print(f"pyspark-demo long run ({len(long):,} rows): fraud share {long['is_fraud'].mean():.4f}")


if __name__ == "__main__":
    main()
