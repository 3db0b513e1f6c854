"""End to end: ``fraudstream serve`` -> detection service -> store (SQLite or PostgreSQL).

Starts ``fraudstream serve --world classroom --rate R --labels hidden`` as a subprocess, runs the
detection service in this process (TCP source, features, a model trained here on simulated data,
store sink) for ``--seconds``, and reports:

* sustained throughput: transactions stored per second between the first and the last commit of
  the measured span (the rows of that first commit left out: they arrived before it), and
  ``lag_at_end_ms``, the latency of the last commit: a pipeline that keeps up with the offered
  rate stores it all with a steady lag, one that does not falls further behind;
* ``p99_by_second_ms``: the p99 latency of each second of the run (by generation time), to tell
  a steady latency from one spike (a database checkpoint, say);
* latency from generation to stored decision, per transaction: with ``--rate R`` transaction
  ``i`` is due at ``start_unix + (i - first) / R`` (``/health`` -> ``pacing``); stored = the
  moment its batch's database transaction committed (p50 / p99 / max);
* the time share of each stage (decode, features, score, sinks, store), in wall-clock seconds
  and in CPU seconds of the working thread (the latter is what a stage costs, whatever else runs
  on the machine; PostgreSQL's own server work is not in it);
* the CPU seconds of every process of the pipeline (``cpu_s``: the stream server, the detector,
  the store writer process, the whole local PostgreSQL server) and their sum per stored
  transaction: what the pipeline costs on this machine, whatever the load;
* ``cpu_stolen_share``: the share of the machine's CPU time the hypervisor took for other guests
  during the run (``/proc/stat``): on a shared VM, how much of the two cores the run really had.

``--detector gbm`` (default): LightGBM on the ``default`` feature set, reasons = path
contributions; ``--detector iforest``: a 50-tree isolation forest on the ``handbook`` set,
reasons = standardised deviations. Both give reasons for every decision.

    python benchmarks/e2e_detect.py --rate 10000 --seconds 10 --store sqlite:////tmp/e2e.db
    python benchmarks/e2e_detect.py --rate 10000 --seconds 10 \\
        --store "postgresql://postgres@127.0.0.1:5432/test?schema=fs_e2e"

The classroom world covers ~7 years of event time in 10 s at 50,000 tx/s: on PostgreSQL, add
``&partition_months=12`` to the store URL for partitions of a year instead of ~85 monthly ones
per table and run (``docs/storage.md``, "How long a partition spans").

Results are on simulated data (the classroom world).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from fraudstream.cli.generate import parse_params
from fraudstream.detect import registry
from fraudstream.detect.gbm import GradientBoostingDetector
from fraudstream.detect.iforest import IsolationForestDetector
from fraudstream.features import FeatureSpec, build_features
from fraudstream.records import inputs
from fraudstream.service.decisions import Decider, Featurizer, load_model
from fraudstream.service.runtime import DetectionService
from fraudstream.service.sink import StoreSink
from fraudstream.service.sources import TcpSource
from fraudstream.service.store_process import ProcessStoreSink
from fraudstream.store import open_store
from fraudstream.stream.testing import free_port, wait_for_port
from fraudstream.worlds import get_world
from import_postgres import backend_cpu_s, server_cpu_s
from stream_bench import steal_ticks, stolen_share


def train_model(folder: Path, kind: str = "gbm", world_name: str = "classroom", params: dict | None = None) -> Path:
    """A model trained on simulated classroom data: ``gbm`` (LightGBM, default features, early
    stopping on a time-ordered slice) or ``iforest`` (50 trees, handbook features)."""
    world = get_world(world_name)(seed=1, start="2024-01-01", **(params or {}))
    if kind == "iforest":
        frame = pd.concat(list(world.generate(rows=5000)), ignore_index=True)
        features = build_features(inputs(frame), FeatureSpec.handbook())
        detector = IsolationForestDetector(n_estimators=50, random_state=1).fit(features)
        return registry.save(
            detector, folder, {"feature_set": "handbook", "version": "bench"}, overwrite=True
        )
    frame = pd.concat(list(world.generate(rows=40_000)), ignore_index=True)
    features = build_features(inputs(frame), FeatureSpec.default())
    detector = GradientBoostingDetector(random_state=1).fit(features, frame["is_fraud"].to_numpy())
    return registry.save(detector, folder, {"feature_set": "default", "version": "bench"}, overwrite=True)


def database_cpu_s(url: str) -> float:
    """CPU seconds of the local PostgreSQL server so far (0 for SQLite: its work is the writer's)."""
    if url.startswith("sqlite:"):
        return 0.0
    with open_store(url) as store:
        return server_cpu_s(store.backend_pid())


def reset_store(url: str) -> None:
    if url.startswith("sqlite:///"):
        from fraudstream.store.sqlite import sqlite_path

        for suffix in ("", "-wal", "-shm"):
            Path(sqlite_path(url)[0] + suffix).unlink(missing_ok=True)
    else:
        import psycopg

        from fraudstream.store.postgres import split_url

        base, schema, _ = split_url(url)
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema or 'public'} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds left out of the figures")
    parser.add_argument("--store", default="sqlite:////tmp/fraudstream_e2e.db")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--max-wait-ms", type=float, default=25.0)
    parser.add_argument("--world", default="classroom", help="the world streamed (and the model trained on)")
    parser.add_argument("-p", "--param", action="append", default=[], help="world parameter KEY=VALUE, repeatable")
    parser.add_argument("--detector", choices=("gbm", "iforest"), default="gbm")
    parser.add_argument(
        "--writer", choices=("process", "thread"), default="process", help="store writes in a child process or a thread"
    )
    args = parser.parse_args()
    reset_store(args.store)
    model = load_model(
        train_model(Path(tempfile.mkdtemp()) / "model", args.detector, args.world, parse_params(tuple(args.param)))
    )
    load_before = os.getloadavg()[0]
    steal_before = steal_ticks()
    database_cpu = database_cpu_s(args.store)
    port, http_port = free_port(), free_port()
    server_log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's stderr, kept until the process exits
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fraudstream",
            "serve",
            "--world",
            args.world,
            "--rate",
            str(args.rate),
            "--labels",
            "hidden",
            "--seed",
            "7",
            *[arg for param in args.param for arg in ("-p", param)],
            "--start",
            "2024-03-01",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--http-port",
            str(http_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=server_log,
    )
    samples: list[tuple[np.ndarray, float, float]] = []
    try:
        try:
            wait_for_port(port, server, what="fraudstream serve", timeout_s=30)
        except RuntimeError as exc:
            server_log.seek(0)
            raise RuntimeError(f"{exc}{server_log.read().decode(errors='replace')[-2000:]}") from None
        source = TcpSource(
            f"127.0.0.1:{port}", batch_size=args.batch_size, max_wait_s=args.max_wait_ms / 1000
        )
        sink = (
            ProcessStoreSink(args.store, max_pending=8)
            if args.writer == "process"
            else StoreSink(lambda: open_store(args.store), max_pending=8)
        )

        def stored(batch, committed_at):  # type: ignore[no-untyped-def]
            if len(batch.frame):
                samples.append((batch.frame["tx_id"].to_numpy(np.int64), committed_at, batch.received_at))

        service = DetectionService(
            source,
            Decider(model),
            Featurizer(model.feature_set),
            sink=sink,
            on_stored=stored,
            metrics_every_s=3600,
        )
        timer = threading.Timer(args.seconds, service.stop)
        with source:
            timer.start()
            t0, cpu0 = time.time(), time.process_time()
            server_cpu_at_start = backend_cpu_s(server.pid)
            writer_cpu_at_start = sink.process_cpu_s if isinstance(sink, ProcessStoreSink) else 0.0
            summary = service.run()
            run_cpu = time.process_time() - cpu0
            wall = time.time() - t0
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=5).read())
        server_cpu = backend_cpu_s(server.pid)
        server_cpu -= server_cpu_at_start
        writer_cpu = sink.process_cpu_s - writer_cpu_at_start if isinstance(sink, ProcessStoreSink) else 0.0
        database_cpu = database_cpu_s(args.store) - database_cpu
    finally:
        server.terminate()
        server.wait(10)
    pacing = health["pacing"]
    start_unix, first = float(pacing["start_unix"]), int(pacing["first_tx_id"])
    ids = np.concatenate([s[0] for s in samples])
    committed = np.concatenate([np.full(len(s[0]), s[1]) for s in samples])
    received = np.concatenate([np.full(len(s[0]), s[2]) for s in samples])
    due = start_unix + (ids - first) / args.rate
    measured = due >= start_unix + args.warmup
    latency_ms = (committed - due)[measured] * 1000
    inside_ms = (committed - received)[measured] * 1000  # first line of its batch read -> committed
    commits = np.unique(committed[measured])
    after_first = measured & (committed > commits[0]) if measured.any() else measured
    span = commits[-1] - commits[0] if len(commits) > 1 else float("nan")
    generated = int(health.get("transactions_generated", 0))
    second = (due - start_unix)[measured].astype(int)
    shares = summary.stages.shares()
    report = {
        "store": args.store.split("?")[0].split("@")[-1],
        "offered_tx_per_s": args.rate,
        "seconds": round(wall, 1),
        "stored": len(ids),
        "generated_by_server": generated,
        "sustained_tx_per_s": round(float(after_first.sum() / span), 0) if after_first.any() else None,
        "lag_at_end_ms": round(float(latency_ms[committed[measured] == commits[-1]].max()), 1)
        if measured.any()
        else None,
        "latency_ms": {
            q: round(float(np.percentile(latency_ms, p)), 1) for q, p in (("p50", 50), ("p99", 99))
        }
        | {"max": round(float(latency_ms.max()), 1)}
        if len(latency_ms)
        else None,
        "p99_by_second_ms": [round(float(np.percentile(latency_ms[second == k], 99))) for k in np.unique(second)],
        "batch_received_to_stored_ms": {
            q: round(float(np.percentile(inside_ms, p)), 1) for q, p in (("p50", 50), ("p99", 99))
        }
        if len(inside_ms)
        else None,
        "detector": f"{args.detector} ({model.feature_set} features"
        + (f", {model.detector.best_iteration_} trees)" if args.detector == "gbm" else ", 50 trees)"),
        "stage_share": {k: round(v, 3) for k, v in shares.items()},
        "stage_seconds": {k: round(v, 2) for k, v in summary.stages.seconds.items()},
        "stage_cpu_share": {k: round(v, 3) for k, v in summary.stages.shares(cpu=True).items()},
        "stage_cpu_us_per_tx": {
            k: round(v / max(summary.processed, 1) * 1e6, 1) for k, v in summary.stages.cpu_seconds.items()
        },
        "writer": args.writer,
        "cpu_s": {  # every process of the pipeline over the run (PostgreSQL: the whole server)
            "server": round(server_cpu, 1),
            "detector": round(run_cpu, 1),
            "writer": round(writer_cpu, 1),
            "database": round(database_cpu, 1),
        },
        "cpu_us_per_stored_tx": round((server_cpu + run_cpu + writer_cpu + database_cpu) / max(len(ids), 1) * 1e6, 1),
        "store_commits": sink.commits,
        "max_pending_batches": sink.max_seen_pending,
        "cpu_count": os.cpu_count(),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "cpu_stolen_share": round(stolen_share(steal_before, steal_ticks()), 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
