"""``kill -9`` of ``fraudstream detect`` mid-stream, then a restart: count lost and duplicated.

Writes a classroom stream (simulated data, labels delayed) to an NDJSON file, runs
``fraudstream detect --source file:... --rate R`` (the replayable source, paced at R tx/s) into
the store, sends SIGKILL after ``--kill-after`` seconds, restarts the same command, waits for
it to finish, and counts in the store: transactions missing, transactions stored more than
once, decisions per transaction.

    python benchmarks/kill_restart.py --rows 60000 --rate 10000 --kill-after 3 --store sqlite:////tmp/kill.db
    python benchmarks/kill_restart.py --rows 60000 --rate 10000 --kill-after 3 \\
        --store "postgresql://postgres@127.0.0.1:5432/test?schema=fs_kill"
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from fraudstream.adapters.classroom import encode_lines
from fraudstream.detect import registry
from fraudstream.detect.iforest import IsolationForestDetector
from fraudstream.features import FeatureSpec, build_features
from fraudstream.records import inputs
from fraudstream.store import open_store
from fraudstream.worlds import get_world

sys.path.insert(0, str(Path(__file__).parent))
from e2e_detect import reset_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument(
        "--kill-after", type=float, default=3.0, help="seconds after the first transaction is stored"
    )
    parser.add_argument("--store", default="sqlite:////tmp/fraudstream_kill.db")
    args = parser.parse_args()
    reset_store(args.store)
    work = Path(tempfile.mkdtemp())
    world = get_world("classroom")(seed=11, start="2024-01-01")
    frame = pd.concat(list(world.generate(rows=args.rows)), ignore_index=True)
    (work / "stream.ndjson").write_bytes(b"".join(encode_lines(frame)))
    features = build_features(inputs(frame.iloc[:5000]), FeatureSpec.handbook())
    model = registry.save(
        IsolationForestDetector(n_estimators=50, random_state=1).fit(features),
        work / "model",
        {"feature_set": "handbook", "version": "bench"},
    )
    command = [
        sys.executable,
        "-m",
        "fraudstream",
        "detect",
        "--source",
        f"file:{work / 'stream.ndjson'}",
        "--rate",
        str(args.rate),
        "--model",
        str(model),
        "--store",
        args.store,
        "--quiet",
        "--state-dir",
        str(work / "state"),
        "--snapshot-every-s",
        "1",
    ]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while first.poll() is None:  # wait for the first commit (start-up imports take seconds)
        time.sleep(0.1)
        try:
            with open_store(args.store) as store:
                if store.count("transactions"):
                    break
        except Exception:  # the store is not created yet
            continue
    time.sleep(args.kill_after)
    first.send_signal(signal.SIGKILL)
    first.wait()
    with open_store(args.store) as store:
        at_kill = store.count("transactions")
        checkpoint = store.read_checkpoint("detect") or {}
    started = time.perf_counter()
    second = subprocess.run(command, capture_output=True, text=True)
    restart_s = time.perf_counter() - started
    with open_store(args.store) as store:
        stored = store.transactions(limit=args.rows * 2)
        decisions = store.decisions()
    ids = stored["tx_id"]
    expected = set(frame["tx_id"].tolist())
    print(
        json.dumps(
            {
                "store": args.store.split("?")[0].split("@")[-1],
                "rows": args.rows,
                "rate": args.rate,
                "killed_after_s": args.kill_after,
                "stored_at_kill": at_kill,
                "checkpoint_processed_at_kill": checkpoint.get("processed"),
                "restart_exit_code": second.returncode,
                "restart_seconds": round(restart_s, 1),
                "lost": len(expected - set(ids.tolist())),
                "duplicated": int(ids.duplicated().sum()),
                "decisions": len(decisions),
                "decisions_duplicated": int(decisions["tx_id"].duplicated().sum()),
                "restart_summary": second.stderr.strip().splitlines()[-1] if second.stderr.strip() else "",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
