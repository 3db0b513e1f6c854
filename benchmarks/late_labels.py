"""What late labels cost the detector: polling the store for analysts' reviews, and a labels file.

1. **Review polls** (``ReviewPoller.poll_once`` = ``Store.read_labels_page``) on a ``labels``
   table holding ``--labels`` stream labels and ``--reviews`` reviews (simulated ids): the cost of
   a poll that finds nothing new (what every ``--review-poll-s`` costs in steady state) and of
   reading every review in pages of ``--page-rows``. Wall and CPU time of this process, and on
   PostgreSQL the CPU time of the backend serving it (``/proc/<pid>/stat``, local server).
2. **A labels file** of ``--file-labels`` labels (half dated, half not): reading and checking the
   CSV, then ``LabelsFile.due`` over as many transactions in micro-batches of ``--batch``
   (what ``--labels FILE`` adds to each batch of the detection loop).

    python benchmarks/late_labels.py --store sqlite:////tmp/late_labels.db
    python benchmarks/late_labels.py --store "postgresql://postgres@127.0.0.1:5432/test?schema=fs_late_labels"
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fraudstream.service.labels_file import LabelsFile
from fraudstream.service.reviews import ReviewPoller
from fraudstream.store import open_store

sys.path.insert(0, str(Path(__file__).parent))
from e2e_detect import reset_store


def backend_cpu_s(store: object) -> float:
    """CPU seconds of the PostgreSQL backend serving ``store`` (0 for SQLite)."""
    conn = getattr(store, "conn", None)
    info = getattr(conn, "info", None)
    if info is None or not hasattr(info, "backend_pid"):
        return 0.0
    fields = Path(f"/proc/{info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill(url: str, labels: int, reviews: int) -> None:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    with open_store(url) as store:
        for begin in range(0, labels, 200_000):
            n = min(200_000, labels - begin)
            store.write_labels(pd.DataFrame({
                "tx_id": np.arange(begin, begin + n), "is_fraud": np.arange(n) % 100 == 0, "source": "stream",
                "labelled_at": start + pd.to_timedelta(np.arange(begin, begin + n), unit="s")}))
        store.write_labels(pd.DataFrame({
            "tx_id": np.arange(reviews) * 97, "is_fraud": np.arange(reviews) % 3 == 0, "source": "review",
            "labelled_at": start + pd.to_timedelta(np.arange(reviews) * 60, unit="s")}))


def measure_polls(url: str, reviews: int, page_rows: int, empty_polls: int) -> dict[str, float]:
    with open_store(url) as store:
        poller = ReviewPoller(lambda: store, page_rows=page_rows, max_pages=reviews // page_rows + 2,
                              close_store=False)
        wall, cpu, backend = time.perf_counter(), time.process_time(), backend_cpu_s(store)
        pages = 0
        while poller.poll_once() or poller.ready:
            pages += len(poller.take())
        full = (time.perf_counter() - wall, time.process_time() - cpu, backend_cpu_s(store) - backend)
        assert poller.read == reviews, (poller.read, reviews)
        walls, cpus, backends = [], [], []
        for _ in range(empty_polls):
            wall, cpu, backend = time.perf_counter(), time.process_time(), backend_cpu_s(store)
            assert not poller.poll_once()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            backends.append(backend_cpu_s(store) - backend)
    return {
        "pages": pages, "all_wall_s": full[0], "all_cpu_s": full[1], "all_backend_cpu_s": full[2],
        "empty_wall_ms": 1e3 * statistics.median(walls), "empty_cpu_ms": 1e3 * statistics.median(cpus),
        "empty_backend_cpu_ms": 1e3 * sum(backends) / len(backends),  # a mean: /proc counts 10 ms ticks
    }


def measure_file(n: int, batch: int) -> dict[str, float]:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    ts = start + pd.to_timedelta(np.arange(n) * 2, unit="s")
    labels = pd.DataFrame({"tx_id": np.arange(n), "is_fraud": np.arange(n) % 50 == 0,
                           "labelled_at": (ts + pd.Timedelta(days=7)).where(np.arange(n) % 2 == 0)})
    path = Path(tempfile.mkdtemp()) / "labels.csv"
    labels.assign(labelled_at=labels["labelled_at"].map(lambda t: "" if pd.isna(t) else t.isoformat())).to_csv(
        path, index=False)
    wall, cpu = time.perf_counter(), time.process_time()
    file = LabelsFile.read(path)
    read = (time.perf_counter() - wall, time.process_time() - cpu)
    frame = pd.DataFrame({"tx_id": np.arange(n), "ts": ts})
    batches = [frame.iloc[i : i + batch] for i in range(0, n, batch)]
    released = 0
    cpu = time.process_time()
    for part in batches:
        due = file.due(part)
        released += 0 if due is None else len(due)
    due_cpu = time.process_time() - cpu
    return {"read_wall_s": read[0], "read_cpu_s": read[1], "released": released,
            "due_cpu_us_per_batch": 1e6 * due_cpu / len(batches), "due_cpu_us_per_tx": 1e6 * due_cpu / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="sqlite:////tmp/fraudstream_late_labels.db")
    parser.add_argument("--labels", type=int, default=1_000_000, help="stream labels already stored")
    parser.add_argument("--reviews", type=int, default=20_000)
    parser.add_argument("--page-rows", type=int, default=10_000)
    parser.add_argument("--empty-polls", type=int, default=200)
    parser.add_argument("--file-labels", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    reset_store(args.store)
    fill(args.store, args.labels, args.reviews)
    polls = measure_polls(args.store, args.reviews, args.page_rows, args.empty_polls)
    print(f"reviews: {args.reviews:,} in {polls['pages']} pages of <= {args.page_rows:,} among {args.labels:,} "
          f"stream labels: {polls['all_wall_s']:.3f} s wall, {polls['all_cpu_s']:.3f} s CPU, "
          f"backend {polls['all_backend_cpu_s']:.3f} s CPU")
    print(f"empty poll (median of {args.empty_polls} unless said): {polls['empty_wall_ms']:.2f} ms wall, "
          f"{polls['empty_cpu_ms']:.2f} ms CPU, backend {polls['empty_backend_cpu_ms']:.2f} ms CPU (mean)")
    file = measure_file(args.file_labels, args.batch)
    print(f"labels file of {args.file_labels:,} (CSV, half dated): read and checked in {file['read_wall_s']:.2f} s "
          f"wall, {file['read_cpu_s']:.2f} s CPU; due() per batch of {args.batch:,}: "
          f"{file['due_cpu_us_per_batch']:.0f} us CPU ({file['due_cpu_us_per_tx']:.3f} us per transaction), "
          f"{file['released']:,} released")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
