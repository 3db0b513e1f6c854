"""The store sink in a child process: commits, acknowledgements, backpressure, failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudstream.errors import ConfigError, StoreError
from fraudstream.service.bundle import Bundle
from fraudstream.service.store_process import ProcessStoreSink
from fraudstream.store import open_store
from tests.service.service_helpers import postgres_url_fixture, store_url_fixture, world_frame

__all__ = ["postgres_url_fixture", "store_url_fixture"]


def bundles(frame: pd.DataFrame, size: int) -> list[Bundle]:
    out = []
    for start in range(0, len(frame), size):
        part = frame.iloc[start : start + size]
        decisions = pd.DataFrame(
            {
                "tx_id": part["tx_id"].astype(str),
                "ts": part["ts"],
                "model_version": "v1",
                "score": np.linspace(0, 1, len(part)),
                "verdict": "legit",
                "reasons": [{"amount": 1.5}] * len(part),
            }
        )
        out.append(Bundle(part, decisions, checkpoint=("detect", {"position": start + len(part)})))
    return out


def test_bundles_are_stored_once_and_acknowledged_in_order_after_their_commit(store_url: str) -> None:
    frame = world_frame(3000).drop(columns=["is_fraud", "fraud_pattern"])
    seen: list[tuple[int, int]] = []
    with open_store(store_url) as reader:
        with ProcessStoreSink(store_url, max_pending=2) as sink:
            for number, bundle in enumerate(bundles(frame, 500)):
                bundle.after = lambda number=number: seen.append((number, reader.count("decisions")))
                sink.put(bundle)
            sink.flush()
            assert [n for n, _ in seen] == list(range(6))
            assert all(stored >= 500 * (n + 1) for n, stored in seen)  # acknowledged after the commit
            assert sink.max_seen_pending <= 2
            assert sink.written_rows == 3000 and sink.commits >= 1 and sink.busy_cpu_s > 0
        assert reader.count("transactions") == reader.count("decisions") == 3000
        assert reader.read_checkpoint("detect") == {"position": 3000}


def test_the_same_bundles_again_store_nothing_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'again.db'}"
    frame = world_frame(1000).drop(columns=["is_fraud", "fraud_pattern"])
    for _ in range(2):
        with ProcessStoreSink(url) as sink:
            for bundle in bundles(frame, 300):
                sink.put(bundle)
    with open_store(url) as store:
        assert store.count("transactions") == store.count("decisions") == 1000


def test_an_in_memory_store_is_refused() -> None:
    with pytest.raises(ConfigError, match="memory"):
        ProcessStoreSink("sqlite:///:memory:")


def test_a_store_that_cannot_open_fails_with_its_reason(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        ProcessStoreSink(f"sqlite:///{tmp_path / 'missing' / 'f.db'}")


def test_a_writer_that_dies_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    frame = world_frame(400).drop(columns=["is_fraud", "fraud_pattern"])
    sink = ProcessStoreSink(f"sqlite:///{tmp_path / 'dies.db'}")
    sink.put(bundles(frame, 200)[0])
    sink.flush()
    os.kill(sink._process.pid, signal.SIGKILL)
    with pytest.raises(StoreError, match=r"exited unexpectedly \(exit code -9\).*position"):
        for bundle in bundles(frame, 200) * 50:
            sink.put(bundle)
            sink.flush()
    with pytest.raises(StoreError):
        sink.close()


_DETECTOR = """
import sys, time
from fraudstream.service.store_process import ProcessStoreSink
from tests.service.service_helpers import world_frame
from tests.service.test_store_process import bundles
sink = ProcessStoreSink(sys.argv[1], max_pending=8)
for bundle in bundles(world_frame(4000).drop(columns=["is_fraud", "fraud_pattern"]), 500):
    sink.put(bundle)
print(sink._process.pid, flush=True)
time.sleep(60)
"""


def test_the_writer_stores_what_it_was_given_when_its_parent_is_killed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orphan.db'}"
    detector = subprocess.Popen([sys.executable, "-c", _DETECTOR, url], stdout=subprocess.PIPE, text=True,
                                cwd=Path(__file__).parents[2])
    with detector.stdout:
        writer_pid = int(detector.stdout.readline())
        detector.kill()
        detector.wait()
    deadline = time.monotonic() + 30
    while _alive(writer_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(writer_pid), "the orphaned writer did not stop"
    with open_store(url) as store:
        assert store.count("transactions") == 4000
        assert store.read_checkpoint("detect") == {"position": 4000}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited
        return stat.read().split(") ")[1][0] != "Z"


def test_after_callbacks_run_outside_the_producer_thread(tmp_path: Path) -> None:
    frame = world_frame(200).drop(columns=["is_fraud", "fraud_pattern"])
    threads: list[str] = []
    with ProcessStoreSink(f"sqlite:///{tmp_path / 't.db'}") as sink:
        bundle = bundles(frame, 200)[0]
        bundle.after = lambda: threads.append(threading.current_thread().name)
        sink.put(bundle)
    assert threads == ["fraudstream-store-acks"]
