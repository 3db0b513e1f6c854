"""What remembering decisions for late labels costs the detection loop.

1. ``RecentDecisions.add`` per decision and ``join`` per label (CPU time of this thread) on a
   full ring of ``--capacity`` decisions, micro-batches of ``--batch``, for rising integer ids
   (sorted ring), shuffled integer ids (hash table) and text ids.
2. A snapshot of the label state (the full ring plus a full metrics window), wall time: the copy
   the detection loop takes between two micro-batches (``label_state_arrays``), the write a
   thread then does (``write_label_state``), and the load at a restart; without and with
   ``--features`` remembered feature columns (an online model's rows, none labelled yet).

    python benchmarks/label_state.py
    python benchmarks/label_state.py --capacity 500000 --features 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fraudstream.service.label_state import label_state_arrays, load_label_state, write_label_state
from fraudstream.service.labels import PrequentialMetrics, RecentDecisions


def ids_of(kind: str, n: int) -> np.ndarray:
    if kind == "rising int":
        return np.arange(n, dtype=np.int64)
    if kind == "shuffled int":
        return np.random.default_rng(0).permutation(n * 10)[:n].astype(np.int64)
    return np.array([f"tx-{i:012d}" for i in range(n)], dtype=object)


def fill(kind: str, capacity: int, batch: int, features: int, total: int) -> tuple[RecentDecisions, float, float]:
    """A ring filled past its capacity; CPU µs per decision of ``add`` and per label of ``join``."""
    rng = np.random.default_rng(1)
    ids = ids_of(kind, total)
    scores = rng.random(total)
    predicted = scores > 0.9
    rows = rng.random((batch, features)) if features else None
    recent = RecentDecisions(capacity=capacity, n_features=features)
    warm = min(capacity, total // 2)
    for start in range(0, warm, batch):
        part = slice(start, start + batch)
        recent.add(ids[part], scores[part], predicted[part], predicted[part], rows)
    began = time.thread_time()
    for start in range(warm, total, batch):
        part = slice(start, start + batch)
        recent.add(ids[part], scores[part], predicted[part], predicted[part], rows)
    add_us = (time.thread_time() - began) / (total - warm) * 1e6
    labelled = ids[total - capacity // 2 :]
    labels = pd.DataFrame({"tx_id": labelled, "is_fraud": rng.random(len(labelled)) < 0.01})
    began = time.thread_time()
    for start in range(0, len(labels), batch):
        recent.join(labels.iloc[start : start + batch], wait=False)
    join_us = (time.thread_time() - began) / len(labels) * 1e6
    return recent, add_us, join_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capacity", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--window", type=int, default=10_000)
    args = parser.parse_args()
    total = 3 * args.capacity
    metrics = PrequentialMetrics(args.window)
    rng = np.random.default_rng(2)
    for kind in ("rising int", "shuffled int", "text"):
        recent, add_us, join_us = fill(kind, args.capacity, args.batch, 0, total)
        print(f"{kind:>13}: add {add_us:.3f} µs CPU per decision, join {join_us:.3f} µs CPU per label")
        if kind == "shuffled int":
            continue
        for width in (0, args.features):
            recent.features = rng.random((args.capacity, width)) if width else None
            recent.label[:] = -1  # none labelled: every feature row is kept
            joined = recent.join(pd.DataFrame({"tx_id": ids_of(kind, total)[-args.window :], "is_fraud": False}))
            metrics.update(joined)
            recent.label[:] = -1
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "labels.npz"
                copies, saves, loads = [], [], []
                for _ in range(5):
                    began = time.perf_counter()
                    arrays = label_state_arrays(recent, metrics)
                    copies.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    write_label_state(path, arrays)
                    saves.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    load_label_state(path, args.window)
                    loads.append(time.perf_counter() - began)
                size = path.stat().st_size
            print(
                f"{'':>13}  snapshot of {args.capacity:,} decisions, {width} feature columns: "
                f"copy {1e3 * float(np.median(copies)):.1f} ms (in the loop), "
                f"write {1e3 * float(np.median(saves)):.1f} ms (thread), load {1e3 * float(np.median(loads)):.1f} ms "
                f"(median of 5), {size / 2**20:.1f} MiB"
            )


if __name__ == "__main__":
    main()
