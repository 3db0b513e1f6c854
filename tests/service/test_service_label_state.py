"""Late labels across a restart and a label counted once: the remembered decisions and the
prequential metrics round-trip through a snapshot (integer and text ids), a detect run stopped
and restarted ends with the metrics of an uninterrupted run, a second label of a decision
corrects it (or changes nothing), and the ring keeps one slot per id. Checked against a plain
Python reference of the same rules on random streams."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudstream.detect import registry
from fraudstream.detect.online import OnlineDetector
from fraudstream.features import FeatureSpec, build_features
from fraudstream.records import inputs
from fraudstream.service.alerts import AlertBudget
from fraudstream.service.decisions import Decider, Featurizer, LoadedModel, load_model
from fraudstream.service.label_state import load_label_state, save_label_state
from fraudstream.service.labels import PrequentialMetrics, RecentDecisions
from fraudstream.service.labels_file import LabelsFile
from fraudstream.service.runtime import DetectionService, read_resume_point
from fraudstream.service.sink import StoreSink
from fraudstream.service.sources import LineFileSource
from fraudstream.store import open_store
from tests.service.service_helpers import (  # noqa: F401 - fixtures
    model_dir_fixture,
    stream_lines,
    world_frame,
    write_stream,
)


def _labels(ids: list[object], fraud: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"tx_id": pd.Series(ids, dtype=object), "is_fraud": fraud})


def _add(recent: RecentDecisions, ids: list[object], scores: list[float]) -> None:
    score = np.asarray(scores, float)
    recent.add(np.asarray(ids, dtype=object), score, score > 0.5, score > 0.8, None)


class Reference:
    """The rules in plain Python: a FIFO of the last ``capacity`` decisions (a decision made
    again for an id replaces the older one), labels joined in order, the window of the last
    ``window`` labelled decisions with corrections in place."""

    def __init__(self, capacity: int, window: int) -> None:
        self.capacity, self.window = capacity, window
        self.slots: list[tuple[int, object] | None] = []  # (decision number, id) per decision made
        self.by_id: dict[str, int] = {}
        self.decisions: dict[int, dict[str, object]] = {}
        self.rows: list[list[object]] = []  # [number, y, score, predicted, alerted]
        self.labelled = self.relabelled = 0

    def add(self, ids: list[object], scores: list[float]) -> None:
        for tx_id, score in zip(ids, scores, strict=True):
            number = len(self.slots)
            self.slots.append((number, tx_id))
            old = self.by_id.get(str(tx_id))
            if old is not None:
                self.decisions.pop(old, None)
            self.by_id[str(tx_id)] = number
            self.decisions[number] = {"id": tx_id, "score": score, "label": None}
            if number >= self.capacity:  # the oldest decision leaves
                gone = self.slots[number - self.capacity]
                assert gone is not None
                if self.by_id.get(str(gone[1])) == gone[0]:
                    del self.by_id[str(gone[1])]
                self.decisions.pop(gone[0], None)

    def join(self, ids: list[object], fraud: list[bool]) -> list[tuple[object, bool, int]]:
        out = []
        for tx_id, y in zip(ids, fraud, strict=True):
            number = self.by_id.get(str(tx_id))
            if number is None:
                continue
            decision = self.decisions[number]
            previous = decision["label"]
            decision["label"] = y
            out.append((decision["id"], y, -1 if previous is None else int(previous)))
            score = float(decision["score"])  # type: ignore[arg-type]
            if previous is None:
                self.labelled += 1
                self.rows.append([number, y, score, score > 0.5, score > 0.8])
                self.rows = self.rows[-self.window :]
            elif previous != y:
                self.relabelled += 1
                for row in self.rows:
                    if row[0] == number:
                        row[1] = y
        return out


@pytest.mark.parametrize("kind", ["rising", "shuffled", "text", "mixed"])
def test_ring_and_window_follow_the_reference_through_a_snapshot(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng({"rising": 1, "shuffled": 2, "text": 3, "mixed": 4}[kind])
    capacity, window = 300, 120
    recent, metrics, reference = RecentDecisions(capacity), PrequentialMetrics(window), Reference(capacity, window)
    made: list[object] = []
    for step in range(40):
        n = int(rng.integers(1, 60))
        first = 10 * step * 60
        if kind == "rising":
            ids: list[object] = list(range(first, first + n))
        elif kind == "text":
            ids = [f"tx-{i}" for i in rng.integers(0, 2000, n)]  # repeats: decided again
        else:
            ids = [int(i) for i in rng.integers(0, 2000, n)]
            if kind == "mixed" and step >= 10:  # text ids join integer ones: the ring turns to text
                ids = [f"m{i}" if i % 2 else i for i in ids]
        scores = rng.random(n).round(3).tolist()
        _add(recent, ids, scores)
        reference.add(ids, scores)
        made.extend(ids)
        picked = [made[i] for i in rng.integers(0, len(made), int(rng.integers(0, 80)))]
        fraud = (rng.random(len(picked)) < 0.3).tolist()
        joined = recent.join(_labels(picked, fraud), wait=False)
        expected = reference.join(picked, fraud)
        assert [str(i) for i in joined.tx_id] == [str(e[0]) for e in expected]
        assert joined.is_fraud.tolist() == [e[1] for e in expected]
        assert joined.previous is not None and joined.previous.tolist() == [e[2] for e in expected]
        metrics.update(joined)
        if step == 25:  # a snapshot and a restart half-way: nothing changes
            save_label_state(tmp_path / "labels.npz", recent, metrics)
            restored, metrics = load_label_state(tmp_path / "labels.npz", window)
            assert restored is not None and restored.added == recent.added
            assert np.array_equal(restored.label, recent.label) and np.array_equal(restored.live, recent.live)
            recent = restored
    assert len(recent) == len(reference.decisions)
    y, score, predicted, alerted = metrics.arrays()
    assert y.tolist() == [r[1] for r in reference.rows]
    assert score.tolist() == [r[2] for r in reference.rows]
    assert predicted.tolist() == [r[3] for r in reference.rows] and alerted.tolist() == [r[4] for r in reference.rows]
    assert (metrics.labelled, metrics.relabelled) == (reference.labelled, reference.relabelled)
    assert reference.relabelled > 0


@pytest.mark.parametrize(
    "ids",
    [
        np.arange(10, 16),
        np.array(["a", "b", "ü-3", "", "e", "f"], dtype=object),
        np.array([1, "b", 3, "d", 5, 6], dtype=object),
    ],
    ids=["int", "str", "mixed"],
)
def test_snapshot_round_trip_keeps_ids_pending_labels_and_features(ids: np.ndarray, tmp_path: Path) -> None:
    recent = RecentDecisions(capacity=4, n_features=2, pending_max=3)
    rows = np.arange(12, dtype=float).reshape(6, 2)
    recent.add(ids, np.linspace(0, 1, 6), np.array([0, 0, 0, 1, 1, 1], bool), np.array([0, 0, 0, 0, 1, 1], bool), rows)
    waiting = recent.join(_labels(["later-1", 99], [True, False]))  # no decision yet: they wait
    assert len(waiting) == 0 and recent.pending == 2
    metrics = PrequentialMetrics(window=3)
    metrics.update(recent.join(_labels([ids[5], ids[1]], [True, False]), wait=False))  # ids[:2] left the ring
    save_label_state(tmp_path / "s.npz", recent, metrics)
    loaded, restored_metrics = load_label_state(tmp_path / "s.npz", window=3)
    assert loaded is not None and loaded.pending == 2 and loaded.n_features == 2 and len(loaded) == 4
    for ring in (recent, loaded):
        joined = ring.join(_labels([ids[3], ids[5], ids[0]], [True, False, True]), wait=False)
        expected = [ids.tolist()[3], ids.tolist()[5]]  # exactly: value and type
        assert [(type(i), i) for i in joined.tx_id.tolist()] == [(type(i), i) for i in expected]
        assert joined.previous is not None and joined.previous.tolist() == [-1, 1]
        assert joined.features is not None and joined.features[0].tolist() == [6.0, 7.0]  # unlabelled: kept
        ring.add(np.array(["later-1", 99], dtype=object), np.array([0.3, 0.4]), np.zeros(2, bool), np.zeros(2, bool))
        late = ring.join(_labels([], []))
        assert late.tx_id.tolist() == ["later-1", 99] and late.is_fraud.tolist() == [True, False]
    assert [a.tolist() for a in restored_metrics.arrays()] == [a.tolist() for a in metrics.arrays()]
    assert restored_metrics.labelled == 1


def test_a_second_label_is_counted_once() -> None:
    recent, metrics = RecentDecisions(capacity=10), PrequentialMetrics(window=10)
    recent.add(np.arange(1, 6), np.array([0.9, 0.8, 0.2, 0.1, 0.6]), np.array([1, 1, 0, 0, 1], bool), np.zeros(5, bool))
    metrics.update(recent.join(_labels([1, 2, 3], [True, False, False])))
    before = [a.tolist() for a in metrics.arrays()], metrics.snapshot()["precision"]
    metrics.update(recent.join(_labels([1, 3], [True, False]), wait=False))  # the same labels again
    assert ([a.tolist() for a in metrics.arrays()], metrics.snapshot()["precision"]) == before
    assert (metrics.labelled, metrics.relabelled) == (3, 0)
    metrics.update(recent.join(_labels([2, 4], [True, True]), wait=False))  # tx 2 corrected, tx 4 new
    y, score, _, _ = metrics.arrays()
    assert y.tolist() == [True, True, False, True] and score.tolist() == [0.9, 0.8, 0.2, 0.1]
    assert (metrics.labelled, metrics.relabelled) == (4, 1) and metrics.snapshot()["precision"] == 1.0
    # two labels of one decision in one batch: taken in order (new, then a correction)
    joined = recent.join(_labels([5, 5, 5], [False, True, True]), wait=False)
    assert joined.previous.tolist() == [-1, 0, 1] and joined.first.tolist() == [True, False, False]
    metrics.update(joined)
    assert metrics.arrays()[0].tolist()[-1] is True and (metrics.labelled, metrics.relabelled) == (5, 2)


def test_one_slot_per_id_when_a_decision_is_made_again() -> None:
    for ids in ([7, 3, 9], ["x", "y", "z"]):
        recent = RecentDecisions(capacity=4)
        recent.add(np.array(ids, dtype=object), np.array([0.1, 0.2, 0.3]), np.zeros(3, bool), np.zeros(3, bool))
        recent.add(np.array([ids[0]], dtype=object), np.array([0.7]), np.ones(1, bool), np.zeros(1, bool))
        assert len(recent) == 3
        # two more decisions push the first slot (the old decision of ids[0]) out: the new one stays
        recent.add(
            np.array(["p", "q"] if isinstance(ids[0], str) else [11, 12], dtype=object),
            np.array([0.0, 0.0]),
            np.zeros(2, bool),
            np.zeros(2, bool),
        )
        joined = recent.join(_labels([ids[0]], [True]), wait=False)
        assert joined.score.tolist() == [0.7] and len(recent) == 4


# ---- the detection service ------------------------------------------------------------------


def _service(path: Path, model: LoadedModel, labels: pd.DataFrame, **options: object) -> DetectionService:
    source = LineFileSource(path, batch_size=200, rate=options.pop("rate", None))  # type: ignore[arg-type]
    return DetectionService(
        source,
        Decider(model),
        Featurizer(model.feature_set),
        budget=AlertBudget(per_day=15),
        labels_file=LabelsFile(labels),
        **options,  # type: ignore[arg-type]
    )


def _file_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Labels released with their transactions, before the stream's own (delayed): every 7th is
    wrong (the stream corrects it: ``_wrong`` of them), every 5th right (the stream repeats it)."""
    rows = frame.iloc[::5].index.union(frame.iloc[::7].index)
    labels = frame.loc[rows, ["tx_id", "is_fraud"]].copy()
    wrong = labels.index % 7 == 0
    labels.loc[wrong, "is_fraud"] = ~labels.loc[wrong, "is_fraud"]
    return labels.assign(labelled_at=pd.NaT, fraud_pattern=None).reset_index(drop=True)


def _wrong(frame: pd.DataFrame) -> int:
    return len(range(0, len(frame), 7))


def _wait(condition: object, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _stop_and_restart(
    path: Path, model: Callable[[], LoadedModel], file_labels: pd.DataFrame, tmp_path: Path
) -> tuple[DetectionService, DetectionService]:
    """A run into SQLite with snapshots, stopped ~600 decisions after its last snapshot, and
    its restart from the checkpoint, run to the end."""
    url = f"sqlite:///{tmp_path / 'detect.db'}"
    options = {"sink": StoreSink(lambda: open_store(url)), "state_dir": tmp_path / "state"}
    first = _service(path, model(), file_labels, rate=2000, snapshot_every_s=0.05, **options)
    thread = threading.Thread(target=first.run)
    thread.start()
    try:
        _wait(lambda: first.summary.processed >= 800 and first._committed_snapshot is not None, "a snapshot")
        first.snapshot_every_s = 1e9  # no more snapshots: the restart replays what came after it
        decided = first.summary.processed
        _wait(lambda: first.summary.processed >= decided + 600, "600 more decisions")
    finally:
        first.stop()
        thread.join(60)
    point = read_resume_point(url, "detect")
    assert point is not None and point["snapshot"]["labels"] and Path(point["snapshot"]["labels"]).is_file()
    assert int(point["snapshot"]["position"]) < int(point["position"]) < path.stat().st_size
    assert first.summary.relabelled > 0

    options["sink"] = StoreSink(lambda: open_store(url))
    again = _service(path, model(), file_labels, resume=point, **options)
    summary = again.run()
    n = first.summary.processed + summary.processed
    assert summary.replayed > 0
    with open_store(url) as store:
        decisions = store.decisions()
    assert len(decisions) == n and decisions["tx_id"].nunique() == n
    return first, again


def test_labels_of_decisions_made_before_a_restart_join_after_it(model_dir: Path, tmp_path: Path) -> None:
    n = 3000
    frame = world_frame(n, seed=7)
    path = write_stream(tmp_path / "s.ndjson", stream_lines(frame, labels="delayed", every=300))
    file_labels = _file_labels(frame)
    whole = _service(path, load_model(model_dir), file_labels)
    whole.run()
    _, again = _stop_and_restart(path, lambda: load_model(model_dir), file_labels, tmp_path)

    # the labels of the ~300 decisions made before the stop arrived after it and joined them:
    # the metrics are those of the uninterrupted run, each decision counted once
    assert again.metrics.labelled == whole.metrics.labelled == n
    assert again.metrics.relabelled == whole.metrics.relabelled == _wrong(frame)

    def rows(metrics: PrequentialMetrics) -> list[tuple[bool, float, bool, bool]]:
        return sorted(zip(*(a.tolist() for a in metrics.arrays()), strict=True))

    assert rows(again.metrics) == rows(whole.metrics)
    assert again.metrics.snapshot() == pytest.approx(whole.metrics.snapshot(), nan_ok=True)
    truth = frame["is_fraud"].to_numpy(bool)
    assert sorted(again.metrics.arrays()[0].tolist()) == sorted(truth.tolist())  # the stream's labels won
    assert sum(r[3] for r in rows(again.metrics)) == sum(r[3] for r in rows(whole.metrics)) > 0  # alerts


def _online_model(tmp_path: Path) -> Path:
    history = world_frame(1500, seed=4)
    features = build_features(inputs(history), FeatureSpec.handbook())
    detector = OnlineDetector().fit(features.iloc[:500], history["is_fraud"].to_numpy()[:500])
    return registry.save(detector, tmp_path / "online", {"feature_set": "handbook", "version": "online-1"})


def test_an_online_model_learns_each_decision_once(tmp_path: Path) -> None:
    folder = _online_model(tmp_path)
    frame = world_frame(1500, seed=6)
    path = write_stream(tmp_path / "s.ndjson", stream_lines(frame, labels="delayed", every=100))
    file_labels = _file_labels(frame)
    model = load_model(folder)
    learned_before = model.detector.n_learned_
    summary = _service(path, model, file_labels).run()
    assert summary.joined == 1500 + len(file_labels) and summary.learned == 1500
    assert model.detector.n_learned_ == learned_before + 1500
    assert summary.relabelled == _wrong(frame)


def test_an_online_model_restarted_learns_each_decision_once(tmp_path: Path) -> None:
    """The restored model (as of the snapshot) learns the labels replayed after it from the
    restored feature rows, and the labels of decisions made before the stop once they come."""
    folder = _online_model(tmp_path)
    frame = world_frame(3000, seed=7)
    path = write_stream(tmp_path / "s.ndjson", stream_lines(frame, labels="delayed", every=300))
    file_labels = _file_labels(frame)
    whole_model = load_model(folder)
    fitted = whole_model.detector.n_learned_
    whole = _service(path, whole_model, file_labels)
    whole.run()
    first, again = _stop_and_restart(path, lambda: load_model(folder), file_labels, tmp_path)
    assert whole.summary.learned == 3000 and whole_model.detector.n_learned_ == fitted + 3000
    assert again.decider.model is not None and again.decider.model.detector.n_learned_ == fitted + 3000
    assert first.summary.learned + again.summary.learned > 3000  # labels after the snapshot learned twice
    assert again.metrics.labelled == 3000 and again.metrics.relabelled == _wrong(frame)
