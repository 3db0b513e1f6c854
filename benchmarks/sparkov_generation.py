"""Generation speed of the sparkov world and of the Kaggle layout, with the measured fraud figures.

* in memory: ``World.generate`` into pandas frames (no concatenation, no file), best and median
  of ``--runs`` runs of the reference run (1,000 customers, 800 merchants, 730 days from
  2019-01-01, about 1.9 M transactions);
* to a Kaggle-layout CSV: generation + ``KaggleAdapter.from_canonical`` + ``write_frames``, the
  path of ``fraudstream generate --world sparkov --schema kaggle --out cards.csv``;
* reading back: ``pd.read_csv`` in chunks + ``KaggleAdapter.to_canonical``.

Also prints the fraud rate, the night share of fraud and the shape of the bursts of that run.
Results are on simulated data.

    .venv/bin/python benchmarks/sparkov_generation.py                 # reference run, 3 runs
    .venv/bin/python benchmarks/sparkov_generation.py --days 180 --runs 1   # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from fraudstream.adapters.kaggle import KaggleAdapter
from fraudstream.files import read_frames, write_frames
from fraudstream.worlds.sparkov import SparkovWorld
from fraudstream.worlds.sparkov_profiles import NIGHT_HOURS


def in_memory(days: float, seed: int) -> tuple[float, list[pd.DataFrame]]:
    began = time.perf_counter()
    frames = list(SparkovWorld(seed=seed).generate(days=days))
    return time.perf_counter() - began, frames


def to_kaggle_csv(days: float, seed: int, path: Path) -> tuple[float, int]:
    adapter = KaggleAdapter()
    began = time.perf_counter()
    rows = write_frames(map(adapter.from_canonical, SparkovWorld(seed=seed).generate(days=days)), path)
    return time.perf_counter() - began, rows


def read_kaggle_csv(path: Path) -> tuple[float, int]:
    adapter = KaggleAdapter()
    began = time.perf_counter()
    rows = sum(len(adapter.to_canonical(chunk)) for chunk in read_frames(path, chunk_rows=200_000))
    return time.perf_counter() - began, rows


def fraud_figures(frame: pd.DataFrame) -> dict[str, float]:
    fraud = frame[frame["is_fraud"]]
    per_day = fraud.groupby([fraud["customer_id"], fraud["ts"].dt.floor("D")]).size()
    return {
        "fraud rate": float(frame["is_fraud"].mean()),
        "fraud at 22:00-04:00": float(fraud["ts"].dt.hour.isin(NIGHT_HOURS).mean()),
        "fraud tx per card-day, min": float(per_day.min()),
        "fraud tx per card-day, max": float(per_day.max()),
        "compromised cards": float(fraud["customer_id"].nunique()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=SparkovWorld.default_days)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"pandas {pd.__version__}")
    print(f"sparkov reference world: 1000 customers, 800 merchants, {args.days:g} days, seed {args.seed}")

    times, frames = [], []
    for _ in range(args.runs):
        seconds, frames = in_memory(args.days, args.seed)
        times.append(seconds)
    rows = sum(len(f) for f in frames)
    print(f"in memory: {rows:,} tx; best {rows / min(times):,.0f} tx/s, "
          f"median {rows / statistics.median(times):,.0f} tx/s ({args.runs} runs)")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cards.csv"
        seconds, written = to_kaggle_csv(args.days, args.seed, path)
        size_mb = path.stat().st_size / 1e6
        print(f"to Kaggle CSV: {written:,} tx in {seconds:.2f} s = {written / seconds:,.0f} tx/s "
              f"({size_mb:,.0f} MB)")
        seconds, read = read_kaggle_csv(path)
        print(f"Kaggle CSV -> canonical: {read:,} tx in {seconds:.2f} s = {read / seconds:,.0f} tx/s")

    frame = pd.concat(frames, ignore_index=True)
    for name, value in fraud_figures(frame).items():
        print(f"{name}: {value:.4f}" if value < 1 else f"{name}: {value:,.0f}")


if __name__ == "__main__":
    main()
