"""The store writer's cost per commit: the latency floor of ``detect`` at low rates.

Runs the detection service over a classroom stream (simulated data) with micro-batches of
``--batch`` lines and keeps the bundles it would store (transactions, decisions, alerts,
checkpoint), then gives them to a :class:`~fraudstream.service.sink.StoreSink` writing into a
fresh store, waiting for each to be committed before the next (**one bundle per commit**: the
writer's shape when it keeps up — at 10,000 tx/s and 25 ms batches, ~250 rows a commit), with
nothing else running in the process. Reports CPU ms and wall ms per commit
and CPU µs per row. On PostgreSQL the server's own work is not in the CPU figure (it is in the
wall one).

    .venv/bin/python benchmarks/writer_commit.py --store sqlite:////tmp/writer.db
    .venv/bin/python benchmarks/writer_commit.py --store "postgresql://postgres@127.0.0.1:5432/test?schema=fs_writer"
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from e2e_detect import reset_store, train_model
from fraudstream.service.bundle import Bundle, StoreRows
from fraudstream.service.decisions import Decider, Featurizer, load_model
from fraudstream.service.runtime import DetectionService
from fraudstream.service.sink import NullSink, StoreSink
from fraudstream.service.sources import LineFileSource
from fraudstream.store import open_store
from fraudstream.stream.feed import LabelPolicy, encoder_for
from fraudstream.worlds import get_world
from stream_bench import machine, steal_ticks, stolen_share


class Keep(NullSink):
    """A sink that keeps every bundle (without its after-commit action)."""

    def __init__(self) -> None:
        self.bundles: list[Bundle] = []

    def put(self, bundle: Bundle) -> None:
        self.bundles.append(replace(bundle, after=None))
        super().put(bundle)


def bundles_of(rows: int, batch: int, folder: Path) -> list[Bundle]:
    world = get_world("classroom")(seed=7, start="2024-03-01")
    frame = pd.concat(list(world.generate(rows=rows)), ignore_index=True)
    path = folder / "stream.ndjson"
    path.write_bytes(b"".join(encoder_for("classroom", LabelPolicy.parse("hidden"))(frame)))
    model = load_model(train_model(folder / "model"))
    source = LineFileSource(path, batch_size=batch)
    keep = Keep()
    with source:
        DetectionService(source, Decider(model), Featurizer(model.feature_set), sink=keep, metrics_every_s=3600).run()
    return keep.bundles


def store_rows_of(rows: int, batch: int) -> list[StoreRows]:
    """:func:`bundles_of` a fresh folder, converted to the store's rows as ``detect`` does."""
    return [StoreRows.of(b, label_source="stream") for b in bundles_of(rows, batch, Path(tempfile.mkdtemp()))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="sqlite:////tmp/fraudstream_writer.db")
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=250, help="lines per micro-batch")
    parser.add_argument("--warmup", type=int, default=20, help="commits left out of the figures")
    args = parser.parse_args()
    bundles = bundles_of(args.rows, args.batch, Path(tempfile.mkdtemp()))
    reset_store(args.store)
    sink = StoreSink(lambda: open_store(args.store))
    sink.flush()  # the store is open (and migrated) before the clock starts
    measured = bundles[args.warmup :]
    before = steal_ticks()
    for bundle in bundles[: args.warmup]:
        sink.put(bundle)
        sink.flush()
    started, cpu = time.perf_counter(), time.process_time()
    for bundle in measured:
        sink.put(bundle)
        sink.flush()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    sink.close()
    rows = sum(b.rows for b in measured)
    print(machine())
    print(
        f"{args.store.split('?')[0]}: {len(measured)} commits of {rows / len(measured):.0f} rows: "
        f"{cpu / len(measured) * 1e3:.1f} ms CPU and {wall / len(measured) * 1e3:.1f} ms wall per commit, "
        f"{cpu / rows * 1e6:.1f} us CPU per row (simulated data); "
        f"CPU stolen by the hypervisor: {stolen_share(before, steal_ticks()):.0%}"
    )


if __name__ == "__main__":
    main()
