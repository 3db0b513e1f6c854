"""PostgreSQL server CPU to take in one decision's reasons as TEXT, JSON or JSONB.

Inserts ``--rows`` copies (each a little different) of a typical reasons array — three
``{"name", "weight", "by"}`` objects, ~180 bytes — into a temporary table of each type,
``--repeat`` times, alternating, and prints the best time per row of each. The statement runs
inside the server, so the time is the server's work (one backend, no client in the loop).
Why ``decisions.reasons`` is ``JSON`` (schema version 6): see ``docs/storage.md``.

    .venv/bin/python benchmarks/pg_json_types.py --url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import time

import psycopg
from psycopg import sql

from stream_bench import machine

REASONS = (
    '[{"name":"amount_is_round","weight":0.037959,"by":"model"},'
    '{"name":"category_max_7d","weight":0.009324,"by":"model"},'
    '{"name":"merchant_count_30d","weight":0.008048,"by":"model"}]'
)
"""One decision's reasons as ``detect`` stores them (three model reasons, ~180 bytes)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    best: dict[str, float] = {}
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(  # each row a little different: the first weight is the row number
            sql.SQL("CREATE TEMP TABLE src AS SELECT replace({}, '0.037959', '0.0' || i) AS r "
                    "FROM generate_series(1, {}) i").format(sql.Literal(REASONS), sql.Literal(args.rows))
        )
        for kind in ("text", "json", "jsonb"):
            conn.execute(f"CREATE TEMP TABLE t_{kind} (r {kind})")
        for _ in range(args.repeat):
            for kind in ("text", "json", "jsonb"):
                conn.execute(f"TRUNCATE t_{kind}")
                started = time.perf_counter()
                conn.execute(f"INSERT INTO t_{kind} SELECT r::{kind} FROM src")
                best[kind] = min(best.get(kind, float("inf")), time.perf_counter() - started)
    print(machine())
    for kind, seconds in best.items():
        print(f"{kind:>5}: {seconds / args.rows * 1e6:.2f} us per row (best of {args.repeat}, {args.rows:,} rows)")


if __name__ == "__main__":
    main()
