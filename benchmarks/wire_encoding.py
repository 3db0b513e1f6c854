"""Classroom wire lines: the server's column-wise encoder against the seed's ``json.dumps`` per row.

Encodes ``--rows`` transactions of the classroom world (simulated data) in chunks of
``--chunk`` rows (the server's step), both ways, and checks that the bytes are equal. Reports
CPU µs per line, best of ``--repeat`` (CPU time of this process: what encoding costs, whatever
else the machine does), the ratio, and the share of the machine's CPU time the hypervisor stole
during the run (``/proc/stat``), which inflates every figure taken on a shared VM.

    .venv/bin/python benchmarks/wire_encoding.py --rows 100000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from fraudstream.adapters.classroom import encode_lines
from fraudstream.worlds import get_world
from stream_bench import machine, steal_ticks, stolen_share

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import seed_record


def seed_lines(frame: pd.DataFrame, *, labels: str) -> list[bytes]:
    """Seed 000's way: a dict per transaction, ``json.dumps``, encode."""
    return [(json.dumps(seed_record(row, labels=labels)) + "\n").encode() for row in frame.itertuples(index=False)]


def best_cpu_us(encode, chunks: list[pd.DataFrame], repeat: int) -> float:  # type: ignore[no-untyped-def]
    rows = sum(len(c) for c in chunks)
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for chunk in chunks:
            encode(chunk)
        best = min(best, time.process_time() - started)
    return best / rows * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    world = get_world("classroom")(seed=7, start="2024-03-01")
    frame = pd.concat(list(world.generate(rows=args.rows)), ignore_index=True)
    chunks = [frame.iloc[i : i + args.chunk] for i in range(0, len(frame), args.chunk)]
    print(machine())
    before = steal_ticks()
    for labels in ("hidden", "inline"):
        assert encode_lines(frame, labels=labels) == seed_lines(frame, labels=labels), "bytes differ"
        ours = best_cpu_us(lambda c, m=labels: encode_lines(c, labels=m), chunks, args.repeat)
        seed = best_cpu_us(lambda c, m=labels: seed_lines(c, labels=m), chunks, args.repeat)
        print(
            f"labels {labels}: column-wise {ours:.2f} us/line, seed json.dumps per row {seed:.2f} us/line "
            f"-> {seed / ours:.1f}x ({len(frame):,} lines in chunks of {args.chunk}, equal bytes)"
        )
    print(f"CPU stolen by the hypervisor during the run: {stolen_share(before, steal_ticks()):.0%}")


if __name__ == "__main__":
    main()
