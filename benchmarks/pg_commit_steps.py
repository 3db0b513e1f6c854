"""Where one PostgreSQL commit of the detection service goes, statement by statement.

Runs the detection service over a classroom stream (simulated data, ``--batch`` lines a
micro-batch) and keeps what it would store, then writes each micro-batch as one commit
(``StoreRows.write``) into a fresh schema, timing every statement the store sends: each table's
``COPY``, the partition DDL (grouped), the checkpoint, savepoints and ``COMMIT``. Prints wall
ms per commit for each, largest first. Switches undo this session's changes one at a time, to
compare in one sitting:

* ``--no-encode-ahead``: each ``COPY`` body encoded in the writing thread (``encode_ahead`` off);
* ``--stage-small-upserts``: the checkpoint through a temporary table, as any upsert was before;
* ``--keeper N``: a partition keeper making the N partitions after the latest written (what
  ``detect`` does with 2); without it every new month is made inside a commit.

    .venv/bin/python benchmarks/pg_commit_steps.py
    .venv/bin/python benchmarks/pg_commit_steps.py --no-encode-ahead --stage-small-upserts
    .venv/bin/python benchmarks/pg_commit_steps.py --keeper 2
"""

from __future__ import annotations

import argparse
import collections
import re
import time

from e2e_detect import reset_store
from fraudstream.store import open_store, postgres
from stream_bench import machine
from writer_commit import store_rows_of

_PARTITION_DDL = re.compile(r"_p\d{6}|ATTACH PARTITION|CREATE TABLE|DROP CONSTRAINT|to_regclass|advisory_xact_lock")


def _step(sql: str) -> str:
    """The group a statement's time is counted in."""
    if _PARTITION_DDL.search(sql):
        return "partition DDL (make, attach, look up)"
    if "checkpoints" in sql:
        return "checkpoint"
    return " ".join(sql.split()[:3]) if sql.startswith("COPY") else sql.split(" (")[0][:50]


def time_steps(spent: dict[str, float]) -> None:
    """Count the wall time of every statement a :class:`PostgresStore` sends into ``spent``."""
    store_class = postgres.PostgresStore

    def timing(method, step_of):  # type: ignore[no-untyped-def]
        def timed(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                spent[step_of(*args)] += time.perf_counter() - started

        return timed

    for name in ("_execute", "_query", "_run_count"):  # (sql, ...)
        setattr(store_class, name, timing(getattr(store_class, name), lambda sql, *_: _step(sql)))
    store_class._copy = timing(store_class._copy, lambda target, *_: _step(f"COPY {target} "))
    store_class._upsert_values = timing(store_class._upsert_values, lambda table, *_: _step(f"INSERT INTO {table} "))
    store_class._commit = timing(store_class._commit, lambda: "COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="postgresql://postgres@127.0.0.1:5432/test?schema=fs_commit_steps")
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=5000, help="lines per micro-batch (one commit each)")
    parser.add_argument("--warmup", type=int, default=5, help="commits left out of the figures")
    parser.add_argument("--keeper", type=int, default=0, metavar="N")
    parser.add_argument("--no-encode-ahead", action="store_true")
    parser.add_argument("--stage-small-upserts", action="store_true")
    args = parser.parse_args()
    if args.stage_small_upserts:
        postgres.SMALL_UPSERT_ROWS = 0
    prepared = store_rows_of(args.rows, args.batch)
    reset_store(args.store)
    spent: dict[str, float] = collections.defaultdict(float)
    time_steps(spent)
    print(machine())
    with open_store(args.store) as store:
        if args.no_encode_ahead:
            store.encode_ahead = lambda table, rows: None  # type: ignore[method-assign]
        store.keep_partitions_ahead(args.keeper)
        for rows in prepared[: args.warmup]:
            rows.write(store)
        spent.clear()
        measured = prepared[args.warmup :]
        started = time.perf_counter()
        for rows in measured:
            rows.write(store)
        wall = time.perf_counter() - started
    reset_store(args.store)
    n = len(measured)
    print(
        f"{n} commits of {sum(r.rows for r in measured) / n:,.0f} transactions: {wall / n * 1e3:.1f} ms wall per "
        f"commit (encode ahead: {'no' if args.no_encode_ahead else 'yes'}; small upserts: "
        f"{'staged' if args.stage_small_upserts else 'VALUES'}; keeper: {args.keeper}); simulated data"
    )
    for step, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / n * 1e3:7.2f} ms  {step}")


if __name__ == "__main__":
    main()
