"""Analysts' reviews as late labels: triage in the dashboard writes ``review`` labels to the store
while ``fraudstream detect`` runs; they reach the live metrics, the risk state and the online
model, and a restart neither misses nor re-applies them (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudstream.adapters.classroom import encode_lines
from fraudstream.dashboard.queries import Database
from fraudstream.dashboard.triage import triage
from fraudstream.detect import registry
from fraudstream.detect.online import OnlineDetector
from fraudstream.features import FeatureSpec, build_features
from fraudstream.features.labels import tx_keys
from fraudstream.records import inputs
from fraudstream.service.decisions import Decider, Featurizer, load_model, load_rules
from fraudstream.service.reviews import ReviewPoller, cursor_of
from fraudstream.service.runtime import DetectionService, read_resume_point
from fraudstream.service.sink import StoreSink
from fraudstream.service.sources import LineFileSource
from fraudstream.service.store_process import ProcessStoreSink
from fraudstream.store import open_store
from tests.service.service_helpers import (  # noqa: F401 - fixtures
    store_url_fixture,
    world_frame,
    write_stream,
)

ROWS = 600


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture(name="online_model")
def online_model_fixture(tmp_path: Path) -> Path:
    history = world_frame(1500, seed=4)
    features = build_features(inputs(history), FeatureSpec.handbook())
    detector = OnlineDetector().fit(features.iloc[:500], history["is_fraud"].to_numpy()[:500])
    return registry.save(detector, tmp_path / "online", {"feature_set": "handbook", "version": "online-1"})


@pytest.fixture(name="stream")
def stream_fixture(tmp_path: Path) -> Path:
    """A stream without labels (hidden): every label the service learns is a review."""
    return write_stream(tmp_path / "s.ndjson", encode_lines(world_frame(ROWS, seed=6), labels="hidden"))


@contextmanager
def running(
    path: Path, url: str, model_dir: Path, tmp_path: Path, *, snapshots: bool = False
) -> Iterator[DetectionService]:
    """``fraudstream detect`` as a library: a followed stream file into ``url``, a model plus one
    rule (so that there are alerts to triage), reviews polled every 0.05 s; with ``snapshots``
    also feature-state snapshots, and the store writer in its own process (the CLI's default)."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"id": "big", "feature": "amount", "op": ">", "value": 300}]))
    detector, version = load_rules(rules)
    model = load_model(model_dir)
    service = DetectionService(
        LineFileSource(path, follow=True, batch_size=200, idle_s=0.05),
        Decider(model, detector, version),
        Featurizer(model.feature_set),
        sink=ProcessStoreSink(url) if snapshots else StoreSink(lambda: open_store(url)),
        reviews=ReviewPoller(lambda: open_store(url), poll_s=0.05, settle_s=0.1),
        state_dir=tmp_path / "state" if snapshots else None,
        snapshot_every_s=0.1,
        metrics_every_s=3600,
        resume=read_resume_point(url, "detect"),
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            service.run()
        except BaseException as exc:  # surfaced by the test below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        end = path.stat().st_size
        _wait(lambda: service.source.position == end or bool(errors), "the end of the stream")
        yield service
    finally:
        service.stop()
        thread.join(30)
    assert not thread.is_alive() and not errors, errors


def _alerts(url: str, n: int) -> list[str]:
    """Ids of ``n`` stored alerts (waits until the store has them)."""
    with open_store(url) as store:
        _wait(lambda: len(store.alerts()) >= n, f"{n} stored alerts")
        return [str(i) for i in store.alerts()["tx_id"].tolist()[:n]]


def test_reviews_reach_metrics_risk_state_and_online_model_once(
    stream: Path, store_url: str, online_model: Path, tmp_path: Path
) -> None:
    with running(stream, store_url, online_model, tmp_path) as service:
        fraud, legit, escalated = _alerts(store_url, 3)
        learned_before = service.decider.model.detector.n_learned_  # type: ignore[union-attr]
        with open_store(store_url) as store:
            db = Database(store)
            assert triage(db, escalated, "detector", "escalate", "ana")["label"] is None  # not a label
            triage(db, fraud, "detector", "confirm", "ana")
            triage(db, legit, "detector", "false_positive", "ana")
            # a review of a transaction this service never decided: risk state only, unjoined
            store.write_labels(pd.DataFrame({"tx_id": [10**9], "is_fraud": [True], "source": ["review"]}))
        _wait(lambda: service.summary.reviews == 3, "three reviews")
        summary = service.summary
        assert (summary.joined, summary.unjoined, service.metrics.labelled) == (2, 1, 2)
        assert service.metrics.snapshot()["frauds"] == 1.0
        assert service.decider.model.detector.n_learned_ == learned_before + 2  # type: ignore[union-attr]
        engine = service.featurizer.engine
        assert engine is not None and set(tx_keys(np.array([int(fraud), 10**9]))) <= set(engine.labels.keys)
        assert int(legit) not in set(engine.labels.keys)
        with open_store(store_url) as store:
            reviews = store.read_labels_page("review")
        last = reviews.iloc[-1]
        cursor = cursor_of(last["labelled_at"], last["tx_id"])
        _wait(lambda: (read_resume_point(store_url, "detect") or {}).get("reviews") == cursor, "the cursor")
    assert summary.reviews == 3

    # restart without a snapshot: the state is rebuilt from the start — the risk state, the
    # remembered decisions (decided again, nothing stored) and the metrics, the reviews with it;
    # a review written now is new, and its decision, made before the restart, is remembered
    with running(stream, store_url, online_model, tmp_path) as again:
        _wait(lambda: again.summary.reviews_replayed == 3, "the reviews to be read again")
        engine = again.featurizer.engine
        assert engine is not None and set(tx_keys(np.array([int(fraud), 10**9]))) <= set(engine.labels.keys)
        with open_store(store_url) as store:
            store.write_labels(pd.DataFrame({"tx_id": [int(escalated)], "is_fraud": [True], "source": ["review"]}))
        _wait(lambda: again.summary.reviews == 1, "the new review")
        assert (again.summary.unjoined, again.summary.reviews_replayed, again.metrics.labelled) == (1, 3, 3)
        assert again.summary.joined == 3 and again.metrics.snapshot()["frauds"] == 2.0
        assert tx_keys(np.array([int(escalated)]))[0] in set(engine.labels.keys)


def test_restart_from_a_snapshot_does_not_read_the_reviews_it_holds(
    stream: Path, store_url: str, online_model: Path, tmp_path: Path
) -> None:
    with running(stream, store_url, online_model, tmp_path, snapshots=True) as service:
        (fraud,) = _alerts(store_url, 1)
        with open_store(store_url) as store:
            triage(Database(store), fraud, "detector", "confirm", "ana")
        _wait(lambda: service.summary.reviews == 1, "the review")
        with open(stream, "ab") as more:  # the stream goes on: a snapshot holding the review is committed
            more.write(b"".join(encode_lines(world_frame(ROWS + 100, seed=6).iloc[ROWS:], labels="hidden")))
        _wait(
            lambda: ((read_resume_point(store_url, "detect") or {}).get("snapshot") or {}).get("reviews") is not None,
            "a committed snapshot holding the review",
        )
    with running(stream, store_url, online_model, tmp_path, snapshots=True) as again:
        time.sleep(0.5)  # ten polls
        assert (again.summary.reviews, again.summary.reviews_replayed) == (0, 0)
        assert again.summary.replayed <= 100  # resumed from the snapshot, not from the start
        engine = again.featurizer.engine
        assert engine is not None and tx_keys(np.array([int(fraud)]))[0] in set(engine.labels.keys)
