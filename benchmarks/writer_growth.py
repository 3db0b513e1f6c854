"""The store writer's cost per transaction as the store grows (simulated data).

Runs the detection service once over a classroom stream (``--batch`` lines a micro-batch) and
keeps what it would store, then writes it again and again into a fresh store — each pass with
new transaction ids and event times moved on by 400 days, so ids and times keep growing as in
a live stream — one commit per micro-batch, and prints the writer's wall and CPU µs per
transaction for every ``--report`` rows. A cost that grows with the table means some index is
written at random places (each commit then dirties more pages); ``--with-amount-index`` puts back
the ``transactions (amount)`` index that schema version 7 dropped, to show the difference.

    .venv/bin/python benchmarks/writer_growth.py --store sqlite:////tmp/growth.db
    .venv/bin/python benchmarks/writer_growth.py --store sqlite:////tmp/growth.db --with-amount-index
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

from e2e_detect import reset_store
from fraudstream.store import open_store
from stream_bench import machine
from writer_commit import store_rows_of

_PASS_IDS = 10_000_000
_PASS_NS = 400 * 86_400 * 10**9
_MOVED = ("transactions", "tx_labels", "decisions", "alerts")


def moved(rows: pa.Table | None, n: int) -> pa.Table | None:
    """``rows`` of pass ``n``: ids + n * 10 M, event times + n * 400 days."""
    if rows is None:
        return None
    ids = pc.cast(pc.add(pc.cast(rows.column("tx_id"), pa.int64()), n * _PASS_IDS), pa.string())
    rows = rows.set_column(rows.schema.get_field_index("tx_id"), "tx_id", ids)
    if "ts" in rows.column_names:
        field = rows.schema.field("ts")
        ts = pc.cast(pc.add(pc.cast(rows.column("ts"), pa.int64()), n * _PASS_NS), field.type)
        rows = rows.set_column(rows.schema.get_field_index("ts"), field, ts)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="sqlite:////tmp/fraudstream_growth.db")
    parser.add_argument("--rows", type=int, default=1_440_000, help="transactions written in all")
    parser.add_argument("--batch", type=int, default=3000, help="lines per micro-batch (one commit each)")
    parser.add_argument("--report", type=int, default=240_000, help="print a line every this many rows")
    parser.add_argument("--with-amount-index", action="store_true")
    args = parser.parse_args()
    prepared = store_rows_of(60_000, args.batch)
    reset_store(args.store)
    print(machine())
    with open_store(args.store) as store:
        if args.with_amount_index:
            store._execute("CREATE INDEX IF NOT EXISTS transactions_amount_idx ON transactions (amount)")
        written = since = 0
        started, cpu = time.perf_counter(), time.process_time()
        for n in range(args.rows // sum(r.rows for r in prepared) + 1):
            for rows in prepared:
                if written >= args.rows:
                    break
                tables = {name: moved(getattr(rows, name), n) for name in _MOVED}
                replace(rows, **tables).write(store)
                written += rows.rows
                if written - since >= args.report:
                    wall, used = time.perf_counter() - started, time.process_time() - cpu
                    print(
                        f"{since:>9,} to {written:>9,} transactions: {wall / (written - since) * 1e6:5.1f} µs wall, "
                        f"{used / (written - since) * 1e6:5.1f} µs CPU per transaction",
                        flush=True,
                    )
                    since, started, cpu = written, time.perf_counter(), time.process_time()
    print(f"{args.store.split('?')[0]}; amount index: {'yes' if args.with_amount_index else 'no'}; simulated data")


if __name__ == "__main__":
    main()
