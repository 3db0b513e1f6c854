"""How long schema migration 6 (``decisions.reasons`` from ``jsonb`` to ``json``) takes on an
older PostgreSQL store.

Fills a fresh schema with ``--rows`` decisions (simulated: one reasons array each), turns their
``reasons`` back into ``jsonb`` and removes version 6 from ``schema_version``, as a store written
by schema version 5 would be, then times opening the store, which applies the migration (one
rewrite of the ``decisions`` partitions). The schema is dropped at the end.

    .venv/bin/python benchmarks/migration_reasons_json.py --rows 1000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import psycopg

from fraudstream.store import open_store
from pg_json_types import REASONS
from stream_bench import machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="bench_migration6")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    url = f"{args.server}?schema={args.schema}"
    with psycopg.connect(args.server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {args.schema} CASCADE")
    try:
        ids = np.arange(args.rows)
        ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(ids * 5, unit="s")  # ~2 months
        with open_store(url) as store:
            for start in range(0, args.rows, 200_000):
                part = slice(start, start + 200_000)
                store.write_decisions(pd.DataFrame({"tx_id": ids[part], "ts": ts[part], "model_version": "v1",
                                                    "score": 0.1, "verdict": "legit", "reasons": REASONS}))
            with store.batch():  # as schema version 5 left it
                store._execute("ALTER TABLE decisions ALTER COLUMN reasons TYPE JSONB USING reasons::jsonb")
                store._execute("DELETE FROM schema_version WHERE version = 6")
        started = time.perf_counter()
        with open_store(url) as store:
            seconds = time.perf_counter() - started
            version = store.schema_version()
        print(machine())
        print(f"migration 6 on {args.rows:,} decisions (simulated): {seconds:.1f} s to open the store "
              f"(schema version now {version})")
    finally:
        with psycopg.connect(args.server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {args.schema} CASCADE")


if __name__ == "__main__":
    main()
