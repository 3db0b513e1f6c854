"""The detection loop end to end: into SQLite and PostgreSQL, kill -9 and restart, hot-swap under
load, online learning from delayed labels, a database outage, monitor mode."""

from __future__ import annotations

import json
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

from fraudstream.detect import registry
from fraudstream.detect.online import OnlineDetector
from fraudstream.errors import StoreError
from fraudstream.features import FeatureSpec, build_features
from fraudstream.records import inputs
from fraudstream.service.alerts import AlertBudget, NdjsonAlerts
from fraudstream.service.decisions import Decider, Featurizer, LoadedModel, load_model
from fraudstream.service.monitor import Monitor
from fraudstream.service.runtime import DetectionService, read_resume_point
from fraudstream.service.sink import StoreSink
from fraudstream.service.sources import LineFileSource
from fraudstream.service.store_process import ProcessStoreSink
from fraudstream.store import open_store
from tests.service.service_helpers import (  # noqa: F401 - fixtures
    model_dir_fixture,
    postgres_url_fixture,
    require_service,
    save_model,
    store_url_fixture,
    stream_lines,
    world_frame,
    write_stream,
)
from tests.store.store_proxy import Proxy


def _service(path: Path, url: str | None, model: LoadedModel, **options: object) -> DetectionService:
    source = LineFileSource(
        path,
        batch_size=int(options.pop("batch_size", 500)),  # type: ignore[call-overload]
        rate=options.pop("rate", None),
    )  # type: ignore[arg-type]
    retry_for_s = float(options.pop("retry_for_s", 30))  # type: ignore[arg-type]
    writer = options.pop("writer", "thread")
    sink: StoreSink | ProcessStoreSink | None = None
    if url and writer == "process":
        sink = ProcessStoreSink(url, retry_for_s=retry_for_s)
    elif url:
        sink = StoreSink(lambda: open_store(url), retry_for_s=retry_for_s)
    return DetectionService(source, Decider(model), Featurizer(model.feature_set), sink=sink, **options)  # type: ignore[arg-type]


def test_stream_into_the_store_with_alerts_and_labels(
    model_dir: Path, store_url: str, tmp_path: Path
) -> None:
    frame = world_frame(3000)
    path = write_stream(tmp_path / "s.ndjson", stream_lines(frame, labels="delayed", every=200))
    alerts = tmp_path / "alerts.ndjson"
    service = _service(
        path,
        store_url,
        load_model(model_dir),
        alert_sinks=[NdjsonAlerts(alerts)],
        budget=AlertBudget(per_day=20),
    )
    summary = service.run()
    assert summary.processed == 3000 and summary.dead_letters == 0
    assert summary.labels == 3000 and summary.joined == 3000
    with open_store(store_url) as store:
        assert store.count("transactions") == 3000 and store.count("decisions") == 3000
        stored_alerts = store.alerts()
        assert store.count("labels") == 3000
        checkpoint = store.read_checkpoint("detect")
    assert checkpoint["position"] == path.stat().st_size and checkpoint["processed"] == 3000
    lines = [json.loads(x) for x in alerts.read_text().splitlines()]
    assert sorted(a["tx_id"] for a in lines) == sorted(
        stored_alerts["tx_id"].tolist()
    ) and summary.alerts == len(lines)
    per_day = pd.Series([a["ts"][:10] for a in lines]).value_counts()
    assert (per_day <= 20).all() and summary.over_budget > 0
    # live prequential metrics equal a recomputation from the stored decisions and labels
    y = frame.set_index("tx_id")["is_fraud"]
    with open_store(store_url) as store:
        decisions = store.decisions().set_index("tx_id")
    last = frame["tx_id"].to_numpy()[-service.metrics.window :]
    truth, predicted = y.loc[last].to_numpy(), (decisions.loc[last, "verdict"] == "fraud").to_numpy()
    assert summary.metrics["recall"] == pytest.approx((truth & predicted).sum() / truth.sum())


def _detect_command(path: Path, url: str, state: Path, model: Path, rate: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "fraudstream",
        "detect",
        "--source",
        f"file:{path}",
        "--rate",
        str(rate),
        "--model",
        str(model),
        "--store",
        url,
        "--quiet",
        "--batch-size",
        "500",
        "--state-dir",
        str(state),
        "--snapshot-every-s",
        "0.3",
    ]


def test_kill_9_and_restart_stores_every_transaction_exactly_once(
    model_dir: Path, store_url: str, tmp_path: Path
) -> None:
    n = 6000
    path = write_stream(
        tmp_path / "s.ndjson", stream_lines(world_frame(n, seed=5), labels="delayed", every=300)
    )
    command = _detect_command(path, store_url, tmp_path / "state", model_dir, rate=6000)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and stored < n // 3:
        time.sleep(0.2)
        assert process.poll() is None, process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
        try:
            with open_store(store_url) as store:
                stored = store.count("transactions")
        except StoreError:
            stored = 0
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    process.stderr.close()  # type: ignore[union-attr]
    with open_store(store_url) as store:
        killed_at = store.count("transactions")
        checkpoint = store.read_checkpoint("detect")
    assert 0 < killed_at < n, "the kill must land mid-stream"
    assert checkpoint is not None and checkpoint["snapshot"] is not None
    done = subprocess.run(command, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert "replayed" in done.stderr.decode()
    with open_store(store_url) as store:
        tx = store.transactions(limit=n + 10)
        decisions = store.decisions()
        labels = store.read_labels()
    ids = tx["tx_id"].tolist()
    assert len(ids) == n and sorted(ids) == list(range(1, n + 1))
    assert len(decisions) == n and decisions["tx_id"].nunique() == n
    assert labels["tx_id"].nunique() == n


def test_hot_swap_under_load_decides_every_transaction_exactly_once(model_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'swap.db'}"
    path = write_stream(tmp_path / "s.ndjson", stream_lines(world_frame(8000, seed=2)))
    live = tmp_path / "live-model"
    save_model(live, version="v1")
    service = _service(
        path, url, load_model(live), batch_size=200, rate=8000, model_path=live, model_poll_s=0.05
    )
    thread = threading.Thread(target=service.run)
    thread.start()
    while service.summary.processed < 2000:
        assert thread.is_alive(), "the service stopped before 2,000 decisions"
        time.sleep(0.01)
    save_model(tmp_path / "v2", seed=9, version="v2")
    staging = tmp_path / "staging"
    os.rename(live, staging)  # a new model lands in the watched folder in one rename
    os.rename(tmp_path / "v2", live)
    thread.join(60)
    assert not thread.is_alive()
    with open_store(url) as store:
        decisions = store.decisions()
    assert len(decisions) == 8000 and decisions["tx_id"].nunique() == 8000
    versions = decisions.sort_values("tx_id")["model_version"].tolist()
    switch = versions.index("v2")
    assert set(versions[:switch]) == {"v1"} and set(versions[switch:]) == {"v2"}
    assert 2000 <= switch < 8000 and service.summary.swaps == [(switch + 1, "v2")]


def test_online_model_learns_from_delayed_labels(tmp_path: Path) -> None:
    history = world_frame(3000, seed=4)
    features = build_features(inputs(history), FeatureSpec.handbook())
    detector = OnlineDetector().fit(features.iloc[:500], history["is_fraud"].to_numpy()[:500])
    folder = registry.save(detector, tmp_path / "online", {"feature_set": "handbook", "version": "online-1"})
    model = load_model(folder)
    before = model.detector.score_many(features).copy()
    path = write_stream(
        tmp_path / "s.ndjson", stream_lines(world_frame(3000, seed=6), labels="delayed", every=100)
    )
    summary = _service(path, None, model).run()
    assert summary.joined == 3000 and summary.learned == 3000
    assert not np.allclose(model.detector.score_many(features), before)


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_database_outage_mid_stream_loses_and_doubles_nothing(
    model_dir: Path, postgres_url: str, tmp_path: Path, writer: str
) -> None:
    host, port = require_service("postgresql")
    proxy = Proxy((host, port)).start()
    via_proxy = postgres_url.replace(f"@{host}:{port}/", f"@127.0.0.1:{proxy.port}/") + "&connect_timeout=2"
    path = write_stream(tmp_path / "s.ndjson", stream_lines(world_frame(6000, seed=3)))
    service = _service(path, via_proxy, load_model(model_dir), rate=3000, retry_for_s=60, writer=writer)
    thread = threading.Thread(target=service.run)
    try:
        thread.start()
        while service.summary.processed < 1500:
            assert thread.is_alive(), "the service stopped before 1,500 decisions"
            time.sleep(0.01)
        proxy.stop()
        time.sleep(1.5)
        proxy.start()
        thread.join(60)
    finally:
        proxy.close()
    assert not thread.is_alive()
    assert service.sink.reconnects >= 1  # type: ignore[union-attr]
    with open_store(postgres_url) as store:
        assert store.count("transactions") == 6000 and store.count("decisions") == 6000
        assert store.transactions(limit=7000)["tx_id"].nunique() == 6000


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_a_long_outage_fails_loudly(model_dir: Path, postgres_url: str, tmp_path: Path, writer: str) -> None:
    host, port = require_service("postgresql")
    proxy = Proxy((host, port)).start()
    via_proxy = postgres_url.replace(f"@{host}:{port}/", f"@127.0.0.1:{proxy.port}/") + "&connect_timeout=1"
    path = write_stream(tmp_path / "s.ndjson", stream_lines(world_frame(4000, seed=3)))
    service = _service(path, via_proxy, load_model(model_dir), rate=2000, retry_for_s=1.0, writer=writer)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            service.run()
        except StoreError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    try:
        thread.start()
        # the outage starts once 1,000 are decided and a first batch is committed (on a busy
        # machine the loop can run ahead of the first commit)
        while service.summary.processed < 1000 or not getattr(service.sink, "commits", 0):
            assert thread.is_alive(), outcome
            time.sleep(0.01)
        proxy.stop()
        thread.join(60)
    finally:
        proxy.close()
    assert not thread.is_alive() and outcome
    message = str(outcome[0])
    assert "unreachable for" in message and f"127.0.0.1:{proxy.port}" in message
    assert "Stored up to checkpoint" in message and "Restart fraudstream detect" in message
    point = read_resume_point(postgres_url, "detect")
    assert point is not None and 0 < point["processed"] < 4000


def test_monitor_scores_unscored_rows_50_at_a_time(model_dir: Path, store_url: str) -> None:
    frame = world_frame(180, seed=8)
    with open_store(store_url) as store:
        store.write_transactions(frame)
    model = load_model(model_dir)
    monitor = Monitor(
        lambda: open_store(store_url),
        Decider(model),
        Featurizer(model.feature_set),
        poll_s=0.01,
        rows=50,
        max_polls=6,
    )
    assert monitor.run() == 180
    assert monitor.batch_sizes == [50, 50, 50, 30, 0, 0]
    with open_store(store_url) as store:
        decisions = store.decisions()
    assert sorted(decisions["tx_id"].tolist()) == sorted(frame["tx_id"].tolist())
    assert (decisions["model_version"] == "v1").all()
