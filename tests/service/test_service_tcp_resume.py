"""The TCP source resumes within the server's retention: after a drop for reading too slowly,
after a lost connection, and after ``kill -9`` and a restart of ``fraudstream detect`` from its
checkpoint — over real sockets, into a real SQLite store. Beyond the retention, a counted gap."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fraudstream.errors import StoreError, TransportError
from fraudstream.service.sources import TcpSource
from fraudstream.store import open_store
from fraudstream.stream.connection import Reconnect
from fraudstream.stream.testing import serve_subprocess
from tests.service.service_helpers import model_dir_fixture  # noqa: F401 - fixture
from tests.stream.server_harness import running
from tests.support import wait_until

FAST_RECONNECT = Reconnect(attempts=50, initial_s=0.05, max_s=0.2)


def _ids(source: TcpSource, n: int, *, stall_after: int | None = None, stall_s: float = 0.0) -> list[int]:
    """tx_ids of the next ``n`` transactions of ``source``; stops reading for ``stall_s`` once
    ``stall_after`` were read."""
    ids: list[int] = []
    stalled = False
    for batch in source.batches():
        if len(batch):
            ids.extend(batch.frame["tx_id"].tolist())
            assert batch.position == ids[-1]  # ScriptedWorld's ids are the stream offsets
        if stall_after is not None and not stalled and len(ids) >= stall_after:
            stalled = True
            time.sleep(stall_s)
        if len(ids) >= n:
            return ids
    raise AssertionError(f"the stream ended after {len(ids)} transactions")


def test_a_client_dropped_as_slow_reconnects_and_loses_nothing() -> None:
    with running(rate=30_000, max_buffer_bytes=64 << 10, retain_bytes=64 << 20) as srv:
        source = TcpSource(f"127.0.0.1:{srv.server.port}", labels=False, batch_size=1000,
                           max_wait_s=0.02, reconnect=FAST_RECONNECT)
        with source:
            ids = _ids(source, 120_000, stall_after=2000, stall_s=3.0)
        stats = srv.server.hub.stats
    assert stats.dropped_total >= 1, "the stalled reader must have been dropped"
    assert source.resumes >= 1 and source.lost_lines == 0
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # no loss, no duplicate


def test_a_source_started_at_a_position_resumes_right_after_it() -> None:
    with running(rate=4000, retain_bytes=32 << 20) as srv:
        assert wait_until(lambda: srv.server.hub.published > 3000)
        with TcpSource(f"127.0.0.1:{srv.server.port}", labels=False, start=1234, max_wait_s=0.02) as source:
            ids = _ids(source, 5000)
    assert ids == list(range(1235, 1235 + len(ids))) and source.lost_lines == 0


def test_offsets_beyond_the_retention_are_a_counted_gap(caplog: pytest.LogCaptureFixture) -> None:
    with running(rate=4000, retain_bytes=60_000) as srv:
        assert wait_until(lambda: srv.server.hub.retention.evicted_through > 1000)
        with TcpSource(f"127.0.0.1:{srv.server.port}", labels=False, start=10, max_wait_s=0.02) as source:
            ids = _ids(source, 300)
    assert source.lost_lines == ids[0] - 11 > 900
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    assert any("transactions lost" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_a_position_of_another_run_of_the_server_is_refused_not_misread() -> None:
    with running(rate=4000, retain_bytes=32 << 20) as srv:
        assert wait_until(lambda: srv.server.hub.published > 3000)
        source = TcpSource(f"127.0.0.1:{srv.server.port}", labels=False, start=1234, max_wait_s=0.02)
        source.stream_id = "an-earlier-run"  # as a checkpoint written before the server restarted
        with source, pytest.raises(TransportError, match="belongs to the old stream"):
            _ids(source, 10)


def _stored(url: str) -> int:
    try:
        with open_store(url) as store:
            return store.count("transactions")
    except StoreError:
        return 0


def _wait_stored(url: str, at_least: int, process: subprocess.Popen[bytes], timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    while (stored := _stored(url)) < at_least:
        assert process.poll() is None, process.stderr.read().decode()[-3000:]  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"only {stored} stored"
        time.sleep(0.2)
    return stored


def test_detect_killed_and_restarted_resumes_from_its_checkpoint(model_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'detect.db'}"
    with serve_subprocess("--rate", "3000", "--seed", "3", "--labels", "delayed:0.5", "--retain-mb", "64") as (
        port, _server
    ):
        command = [sys.executable, "-m", "fraudstream", "detect", "--source", f"tcp://127.0.0.1:{port}",
                   "--model", str(model_dir), "--store", url, "--quiet", "--batch-size", "500",
                   "--state-dir", str(tmp_path / "state"), "--snapshot-every-s", "0.3"]
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_stored(url, 3000, first)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        first.stderr.close()  # type: ignore[union-attr]
        killed_at = _stored(url)
        time.sleep(2.0)  # ~6,000 transactions go by while detect is down
        second = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_stored(url, killed_at + 12_000, second)
        second.send_signal(signal.SIGINT)
        _, err = second.communicate(timeout=30)
    log = err.decode()
    assert second.returncode == 0, log[-3000:]
    summary = re.search(r"detect stopped: .* ([\d,]+) replayed, ([\d,]+) lost", log)
    assert summary is not None, log[-3000:]
    assert int(summary[1].replace(",", "")) > 0 and summary[2] == "0"  # resumed at the snapshot, lost nothing
    with open_store(url) as store:
        checkpoint = store.read_checkpoint("detect")
        tx = store.transactions(limit=10**6)
        decisions = store.decisions()
        labels = store.read_labels()
    ids = sorted(tx["tx_id"].tolist())
    assert isinstance(checkpoint["stream"], str)  # the run of the server its offsets count in
    assert ids == list(range(ids[0], ids[0] + len(ids))), "a transaction was lost"
    assert len(decisions) == len(ids) and decisions["tx_id"].nunique() == len(ids)
    # labels at-least-once across the kill: every transaction whose label was due has it
    assert set(ids[:-3000]) <= set(labels["tx_id"])
