"""Peak resident memory of ``fraudstream generate`` writing 10 M Handbook rows to Parquet.

    .venv/bin/python benchmarks/generate_memory.py                  # 10,000,000 rows, handbook
    .venv/bin/python benchmarks/generate_memory.py --rows 1000000 --world handbook

The CLI runs as a child process; its peak resident set size is read from
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (KiB on Linux). Target: under 2 GiB.
Results are on simulated data.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_BYTES = 2 * 2**30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--world", default="handbook")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "generated.parquet"
        command = [sys.executable, "-m", "fraudstream", "generate", "--world", args.world,
                   "--rows", str(args.rows), "--seed", str(args.seed), "--out", str(out), "--quiet"]
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - began
        size = out.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    verdict = "under" if peak < TARGET_BYTES else "OVER"
    print(f"fraudstream generate --world {args.world} --rows {args.rows:,} -> Parquet: {elapsed:.1f} s "
          f"({args.rows / elapsed / 1e6:.2f} M rows/s), file {size / 2**20:.0f} MiB, "
          f"peak RSS {peak / 2**20:.0f} MiB ({verdict} the 2 GiB target)")


if __name__ == "__main__":
    main()
