"""Benchmark: ``fraudstream import`` of Kaggle-layout card rows into PostgreSQL, against a
seed-004-style pandas-chunks baseline, both timed in the same run on the same file.

The file is generated once with the sparkov world (simulated data) and cached in the temp folder.

Baseline (seed 004's ``etl_script.py``, rewritten for psycopg 3): ``pd.read_csv(chunksize=75000)``,
lower-cased columns, ``dropna`` on its seven columns, a TSV of those seven columns in a
``StringIO`` through ``COPY ... FROM STDIN`` (``copy_from``-style) into a plain table, commit, then
for every customer of the chunk one behaviour-record upsert (seed 004's DynamoDB ``put_item``,
here ``INSERT ... ON CONFLICT DO UPDATE``) computed group by group.

``fraudstream import``: every column (attrs as JSON), labels in their own table, idempotent by
``tx_id`` across monthly partitions, a checkpoint per write, rejects with line numbers, exact
30-day behaviour profiles. Reading, mapping and converting run in a reader thread ahead of the
database; writes are whole months sent with binary ``COPY`` into new partitions whose indexes are
built once, when the partition is attached (see docs/storage.md).

Wall time depends on what else the machine runs, so the script also prints the CPU seconds of
the client process and of the PostgreSQL backend serving it (``/proc/<pid>/stat`` of the
connection's ``backend_pid``; the server must be local), the backend's time on a CPU, waiting for
a CPU and blocked (``/proc/<pid>/schedstat``: the second figure is what other processes' load
cost the run), and the load average before and after.

    python benchmarks/import_postgres.py --rows 1800000
    python benchmarks/import_postgres.py --rows 200000 --url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg

from fraudstream.store import open_store
from fraudstream.store.importer import import_file

UPSERT_BEHAVIOUR = (
    "INSERT INTO customer_behavior VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (customer_id) DO UPDATE SET "
    "event_timestamp = excluded.event_timestamp, "
    "latest_transaction_timestamp = excluded.latest_transaction_timestamp, "
    "total_spent_last_month = excluded.total_spent_last_month, "
    "most_common_category = excluded.most_common_category, "
    "last_merchant_city_state = excluded.last_merchant_city_state"
)
SEED004_COLUMNS = ["trans_date_trans_time", "cc_num", "merchant", "category", "amt", "city", "state"]


def kaggle_file(rows: int, seed: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"fraudstream_bench_kaggle_{rows}_{seed}.csv"
    if not path.exists():
        partial = path.with_suffix(".partial.csv")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fraudstream",
                "generate",
                "--world",
                "sparkov",
                "--schema",
                "kaggle",
                "--rows",
                str(rows),
                "--seed",
                str(seed),
                "--out",
                str(partial),
                "--quiet",
            ],
            check=True,
        )
        partial.rename(path)
    return path


def backend_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a local PostgreSQL backend process, NaN if not local."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_sched_s(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for a CPU) of a local process, from
    ``/proc/<pid>/schedstat`` (NaN if not local). The second figure is what other processes'
    load costs it; wall time minus both is the time it was blocked (waiting for the client's
    next data or statement, for parallel workers, or for I/O)."""
    try:
        on_cpu, waiting = Path(f"/proc/{pid}/schedstat").read_text().split()[:2]
    except (OSError, ValueError):
        return float("nan"), float("nan")
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def _stat(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def server_cpu_s(backend_pid: int) -> float:
    """CPU seconds of the whole local PostgreSQL server: every live process of its postmaster
    (backends, parallel workers, WAL writer, checkpointer, autovacuum) plus the children it has
    already reaped. Differences of this figure include other sessions' work; NaN if not local."""
    try:
        postmaster = int(_stat(backend_pid)[1])
        fields = _stat(postmaster)
    except (OSError, ValueError, IndexError):
        return float("nan")
    ticks = sum(int(v) for v in fields[11:15])  # its own user + system, reaped children's too
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = _stat(entry.name)
        except (OSError, IndexError):
            continue
        if child[1] == str(postmaster):
            ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class StatementCPU:
    """Backend CPU per kind of statement of a store (``--breakdown``): wraps the store's COPY and
    execute primitives and reads the backend's CPU before and after each call."""

    def __init__(self, store: Any) -> None:
        self.pid, self.seconds = store.backend_pid(), defaultdict(float)
        copy, execute = store._copy, store._execute

        def timed_copy(target: str, rows: Any, table: Any, **options: Any) -> None:
            with self.timing(f"COPY {re.sub(r'_p[0-9]{6}$', '_pYYYYMM', target)}"):
                copy(target, rows, table, **options)

        def timed_execute(sql: str, params: Any = ()) -> None:
            with self.timing(re.sub(r"_p[0-9]{6}", "_pYYYYMM", " ".join(sql.split()[:4]))):
                execute(sql, params)

        store._copy, store._execute = timed_copy, timed_execute

    @contextmanager
    def timing(self, key: str) -> Iterator[None]:
        before = backend_cpu_s(self.pid)
        try:
            yield
        finally:
            self.seconds[key] += backend_cpu_s(self.pid) - before

    def report(self) -> None:
        for key, seconds in sorted(self.seconds.items(), key=lambda kv: -kv[1])[:8]:
            print(f"    {seconds:6.1f} s  {key}")


def baseline(path: Path, url: str, schema: str, chunk_rows: int) -> tuple[float, int, float, float]:
    """Seed 004's ETL loop, timed; returns (seconds, rows stored, client CPU s, server CPU s)."""
    start, cpu = time.perf_counter(), time.process_time()
    stored = 0
    with psycopg.connect(url) as conn:
        pid = conn.info.backend_pid
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS transactions (trans_date_trans_time TIMESTAMP, cc_num VARCHAR(255), "
            "merchant VARCHAR(255), category VARCHAR(255), amt DECIMAL(10,2), city VARCHAR(255), "
            "state VARCHAR(255))"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS customer_behavior (customer_id TEXT PRIMARY KEY, "
            "event_timestamp TEXT, latest_transaction_timestamp TEXT, total_spent_last_month NUMERIC, "
            "most_common_category TEXT, last_merchant_city_state TEXT)"
        )
        conn.commit()
        for chunk in pd.read_csv(path, chunksize=chunk_rows):
            chunk.columns = [c.lower() for c in chunk.columns]
            chunk = chunk.dropna(subset=SEED004_COLUMNS)
            buffer = io.StringIO()
            chunk[SEED004_COLUMNS].to_csv(buffer, sep="\t", header=False, index=False)
            buffer.seek(0)
            copy_sql = f"COPY transactions ({', '.join(SEED004_COLUMNS)}) FROM STDIN"
            with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
                while data := buffer.read(1 << 20):
                    copy.write(data)
            conn.commit()
            stored += len(chunk)
            chunk["trans_date_trans_time"] = pd.to_datetime(chunk["trans_date_trans_time"])
            one_month_ago = pd.Timestamp.now() - pd.DateOffset(months=1)
            with conn.cursor() as cursor:
                for cc_num, group in chunk.groupby("cc_num"):
                    latest = group.loc[group["trans_date_trans_time"].idxmax()]
                    recent = group[group["trans_date_trans_time"] >= one_month_ago]
                    cursor.execute(
                        UPSERT_BEHAVIOUR,
                        (
                            str(cc_num),
                            latest["trans_date_trans_time"].isoformat(),
                            latest["trans_date_trans_time"].isoformat(),
                            str(recent["amt"].sum()),
                            group["category"].mode()[0],
                            f"{latest['city']}, {latest['state']}",
                        ),
                    )
            conn.commit()
        server = backend_cpu_s(pid)
    return time.perf_counter() - start, stored, time.process_time() - cpu, server


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_800_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk-rows", type=int, default=75_000)
    parser.add_argument(
        "--url", default=os.environ.get("FRAUDSTREAM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--breakdown", action="store_true", help="print the backend CPU of each kind of statement"
    )
    parser.add_argument(
        "--serial-index-builds",
        action="store_true",
        help="max_parallel_maintenance_workers = 0 for the import's session, so that all the "
        "index-build CPU is in the measured backend (by default PostgreSQL may hand part of each "
        "partition's index builds to parallel workers, whose CPU the backend figure misses)",
    )
    args = parser.parse_args()
    path = kaggle_file(args.rows, args.seed)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    tag = f"{os.getpid()}_{os.urandom(3).hex()}"
    ours_schema, base_schema = f"bench_import_{tag}", f"bench_baseline_{tag}"
    admin = psycopg.connect(args.url, autocommit=True)
    try:
        admin.execute(f"CREATE SCHEMA {base_schema}")
        options = "&options=-c%20max_parallel_maintenance_workers%3D0" if args.serial_index_builds else ""
        with open_store(f"{args.url}{'&' if '?' in args.url else '?'}schema={ours_schema}{options}") as store:
            cpu, whole = time.process_time(), server_cpu_s(store.backend_pid())
            start_backend = backend_cpu_s(store.backend_pid())
            start_sched = backend_sched_s(store.backend_pid())
            statements = StatementCPU(store) if args.breakdown else None
            report = import_file(path, store, chunk_rows=args.chunk_rows)
            ours_cpu = time.process_time() - cpu
            ours_server = backend_cpu_s(store.backend_pid()) - start_backend
            ours_whole = server_cpu_s(store.backend_pid()) - whole
            end_sched = backend_sched_s(store.backend_pid())
        print(report.summary())
        per_row_us = ours_server / max(1, report.rows_read) * 1e6
        print(
            f"  wall {report.seconds:.1f} s, {report.rows_per_s:,.0f} rows/s; CPU: client {ours_cpu:.1f} s, "
            f"PostgreSQL backend {ours_server:.1f} s ({per_row_us:.1f} us/row)"
        )
        on_cpu, waiting = (end - start for end, start in zip(end_sched, start_sched, strict=True))
        print(
            f"  backend time: on a CPU {on_cpu:.1f} s, waiting for a CPU {waiting:.1f} s (other processes' "
            f"load), blocked {report.seconds - on_cpu - waiting:.1f} s (client, parallel workers, I/O)"
        )
        print(
            f"  whole PostgreSQL server meanwhile: {ours_whole:.1f} s CPU (the backend, its parallel "
            "index-build workers, WAL writer, checkpointer, autovacuum, and other sessions' work)"
        )
        if statements is not None:
            print("  backend CPU by statement:")
            statements.report()
        if not args.skip_baseline:
            seconds, stored, base_cpu, base_server = baseline(path, args.url, base_schema, args.chunk_rows)
            print(
                f"baseline (seed 004 pandas chunks + COPY + per-customer upserts): {stored:,} rows in "
                f"{seconds:.1f} s, {stored / seconds:,.0f} rows/s"
            )
            print(f"  CPU: client {base_cpu:.1f} s, PostgreSQL backend {base_server:.1f} s")
            print(f"ratio baseline/fraudstream time: {seconds / report.seconds:.2f}x")
    finally:
        for schema in (ours_schema, base_schema):
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load_before:.1f} before, {load:.1f} after; "
        f"python {platform.python_version()}; date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"simulated data (sparkov world, seed {args.seed}), {args.rows:,} rows"
    )


if __name__ == "__main__":
    main()
