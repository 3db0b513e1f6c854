"""The detection loop: source -> features -> detector(s) -> decisions -> sinks, with checkpoints,
hot-swap of the model, online updates from late labels, and live prequential metrics.

One thread runs the loop, one micro-batch at a time (so a model swap falls exactly between two
batches: no event is dropped or scored twice); a background :class:`~.sink.StoreSink` commits
each batch's transactions, decisions, alerts, labels **and the checkpoint** in one database
transaction; external alerts (console, NDJSON, webhook) leave only after that commit.

**Checkpoint** (``checkpoints`` row ``name``, default ``detect``)::

    {"source": "file:s.ndjson", "position": 28160, "processed": 100, "model_version": "...",
     "snapshot": {"position": 19200, "engine": ".../detect-engine-19200.npz", "online": null,
                  "labels": ".../detect-labels-19200.npz", "reviews": null, "budget": {...}},
     "budget": {"used": {"2024-01-01": 12}, "over_budget": 0}}

A live TCP stream's checkpoint also names the run of the server its offsets count in
(``"stream"``), so a restart never takes a restarted server's offsets for the old ones.

**Feature state after a restart**: the engine state is *saved* (not rebuilt from the store):
every ``snapshot_every_s`` the loop writes the feature engine (and an online model) to
``state_dir`` under the position it covers, with the label state (:mod:`.label_state`: the
remembered decisions, labels waiting for theirs, the prequential metrics window; copied between
two batches, written by a thread) and the alert budget; the checkpoint names the newest snapshot
whose position is committed (and whose files are complete). On restart a replayable source
resumes at the snapshot's position; the batches up to the checkpoint's position only rebuild
state (their rows are already stored, and their alerts were already raised): the feature state,
and — decided again, against the snapshot's alert budget — the remembered decisions, whose
labels join again as they did before the crash. Normal work resumes after it. Snapshots older
than the committed one are deleted.

**Late labels** take one path (:meth:`DetectionService._apply_labels`: feature-engine risk
state, then the remembered decision for the prequential metrics and an online model), whatever
brought them: label messages and inline labels of a batch; the labels of a ``labels_file``
(:mod:`.labels_file`) that the batch makes due; analysts' reviews read from the store by a
``reviews`` poller (:mod:`.reviews`), taken between two batches, whose cursor is committed in
the checkpoint (``"reviews"``) and saved with each snapshot. A decision counts once in the
metrics (a different later label corrects it, the same one is ignored) and an online model
learns it once, from its first label: a model cannot unlearn, and learning a corrected row again
would count it twice (corrections are counted in ``RunSummary.relabelled``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.detect import registry
from fraudstream.errors import ModelFileError
from fraudstream.features import FeatureEngine
from fraudstream.service.alerts import AlertBudget, AlertSink, alert_records, store_alerts
from fraudstream.service.bundle import Bundle
from fraudstream.service.deadletter import DeadLetters
from fraudstream.service.decisions import Decider, Featurizer, LoadedModel, load_model
from fraudstream.service.label_state import LabelStateWriter, label_state_arrays, load_label_state
from fraudstream.service.labels import PrequentialMetrics, RecentDecisions
from fraudstream.service.labels_file import LabelsFile
from fraudstream.service.reviews import ReviewPoller
from fraudstream.service.sink import NullSink, StoreSink
from fraudstream.service.sources import MicroBatch, Source
from fraudstream.service.store_process import ProcessStoreSink

__all__ = ["DetectionService", "RunSummary", "StageTimes", "read_resume_point"]

log = logging.getLogger(__name__)

STAGES = ("decode", "features", "score", "sinks", "store")


@dataclass
class StageTimes:
    """Seconds of work per stage (``store``: the writer thread's time in the database):
    ``seconds`` of wall-clock time, ``cpu_seconds`` of the working thread's CPU time (what the
    stage costs, whatever else the machine is doing; for PostgreSQL the server's own work is not
    in it)."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    cpu_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    def shares(self, *, cpu: bool = False) -> dict[str, float]:
        values = self.cpu_seconds if cpu else self.seconds
        total = sum(values.values()) or 1.0
        return {k: v / total for k, v in values.items()}


@dataclass
class RunSummary:
    processed: int = 0
    """Transactions decided (and given to the sinks)."""
    replayed: int = 0
    """Transactions read again after a restart only to rebuild the feature state and the
    remembered decisions (nothing stored, no alert raised)."""
    lost: int = 0
    """Transactions the source knows it missed (a TCP gap beyond the server's retention)."""
    alerts: int = 0
    over_budget: int = 0
    dead_letters: int = 0
    labels: int = 0
    joined: int = 0
    learned: int = 0
    reviews: int = 0
    """Analysts' reviews read from the store and applied."""
    reviews_replayed: int = 0
    """Reviews read again after a restart only to rebuild the risk state."""
    file_labels: int = 0
    """Labels of the labels file released."""
    unjoined: int = 0
    """Reviews and file labels whose decision the service does not remember (made before it
    started, forgotten, or never made): they count for the risk state only."""
    relabelled: int = 0
    """Labels that corrected an earlier, different label of their decision."""
    swaps: list[tuple[Any, str]] = field(default_factory=list)
    """(first tx_id scored by the new model, new version) per hot-swap."""
    metrics: dict[str, float] = field(default_factory=dict)
    stages: StageTimes = field(default_factory=StageTimes)
    wall_s: float = 0.0


def read_resume_point(store_url: str | None, name: str) -> dict[str, Any] | None:
    """The committed checkpoint ``name`` of the store (None: none, or no store)."""
    if store_url is None:
        return None
    from fraudstream.store import open_store

    with open_store(store_url) as store:
        value = store.read_checkpoint(name)
    return value if isinstance(value, dict) else None


class DetectionService:
    """Runs the loop until the source ends or :meth:`stop` is called."""

    def __init__(
        self,
        source: Source,
        decider: Decider,
        featurizer: Featurizer,
        *,
        sink: StoreSink | ProcessStoreSink | NullSink | None = None,
        alert_sinks: list[AlertSink] | None = None,
        budget: AlertBudget | None = None,
        dead_letters: DeadLetters | None = None,
        name: str = "detect",
        state_dir: str | Path | None = None,
        snapshot_every_s: float = 10.0,
        model_path: str | Path | None = None,
        model_poll_s: float = 2.0,
        metrics_every_s: float = 10.0,
        window: int = 10_000,
        reviews: ReviewPoller | None = None,
        labels_file: LabelsFile | None = None,
        resume: dict[str, Any] | None = None,
        on_stored: Callable[[MicroBatch, float], None] | None = None,
    ) -> None:
        self.source, self.decider, self.featurizer = source, decider, featurizer
        self.sink = sink if sink is not None else NullSink()
        self.alert_sinks = alert_sinks or []
        self.budget = budget or AlertBudget()
        self.dead_letters = dead_letters or DeadLetters()
        self.name = name
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.snapshot_every_s = snapshot_every_s
        self.model_path = Path(model_path) if model_path is not None else None
        self.model_poll_s = model_poll_s
        self.metrics_every_s = metrics_every_s
        self.on_stored = on_stored
        self.metrics = PrequentialMetrics(window)
        self.recent: RecentDecisions | None = None
        self.summary = RunSummary()
        self._stop = threading.Event()
        self._next_model: LoadedModel | None = None
        self._swap_lock = threading.Lock()
        self._model_stamp = self._stamp()
        self._last_poll = self._last_snapshot = self._last_metrics = time.monotonic()
        self._snapshot: dict[str, Any] | None = None
        self._committed_snapshot: dict[str, Any] | None = None
        self._label_writer = LabelStateWriter()
        self._writing: dict[str, Any] | None = None
        """The snapshot whose label state is being written (named in checkpoints once written)."""
        self._replay_until: Any = None
        self._replay_budget = AlertBudget(self.budget.per_day)
        """The alert budget of replayed decisions (from the restored snapshot's)."""
        self.reviews, self.labels_file = reviews, labels_file
        self._review_cursor: dict[str, str] | None = None
        self._resume(resume)
        self._resume_labels(resume)

    # ---- control ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Finish the current batch, flush, and return from :meth:`run`."""
        self._stop.set()
        self.source.stop()

    def request_swap(self, model: LoadedModel | str | Path) -> None:
        """Score with ``model`` from the next batch on (loaded now when given a path)."""
        loaded = model if isinstance(model, LoadedModel) else load_model(model)
        current = self.decider.model
        if current is not None and loaded.feature_set != current.feature_set:
            log.error(
                "hot-swap refused: model %s needs feature set %r, the running one %r (restart instead)",
                loaded.version,
                loaded.feature_set,
                current.feature_set,
            )
            return
        with self._swap_lock:
            self._next_model = loaded

    # ---- resume -----------------------------------------------------------------------------
    def _resume(self, point: dict[str, Any] | None) -> None:
        if not point:
            return
        self.budget.restore(point.get("budget"))
        snapshot = point.get("snapshot") or None
        if point.get("source") != self.source.describe():
            log.warning(
                "checkpoint %r is of source %s, not %s: starting afresh",
                self.name,
                point.get("source"),
                self.source.describe(),
            )
            return
        if snapshot and Path(snapshot["engine"]).is_file() and self.featurizer.engine is not None:
            self.featurizer.engine = FeatureEngine.load(snapshot["engine"])
            if (
                snapshot.get("online")
                and self.decider.model is not None
                and Path(snapshot["online"]).is_dir()
            ):
                self.decider.model.detector = registry.load(snapshot["online"])
            self._restore_labels(snapshot)
            self._committed_snapshot = self._snapshot = snapshot
        else:
            snapshot = None
        self._replay_budget.restore(snapshot.get("budget") if snapshot else None)
        if not self.source.replayable:
            log.warning(
                "source %s cannot replay: transactions sent while the detector was down are not seen",
                self.source.describe(),
            )
            return
        start = snapshot["position"] if snapshot else None
        self.source.stream_id = point.get("stream")
        self.source.start = start
        self.source.position = start
        if point.get("position") is not None and point.get("position") != start:
            self._replay_until = point["position"]
            self.source.cut_at = point["position"]
        log.info(
            "resuming %s at position %s (checkpoint %s; feature state from %s)",
            self.source.describe(),
            start,
            point.get("position"),
            snapshot["engine"] if snapshot else "the start",
        )

    def _restore_labels(self, snapshot: dict[str, Any]) -> None:
        """The remembered decisions and metrics of the snapshot (none in older snapshots)."""
        path = snapshot.get("labels")
        if not path or not Path(path).is_file():
            return
        try:
            recent, metrics = load_label_state(path, self.metrics.window)
        except ModelFileError as exc:
            log.warning("label state not restored (labels of earlier decisions count for the risk state only): %s", exc)
            return
        width = self._feature_width()
        if recent is not None and recent.n_features != width:
            if width:
                log.warning(
                    "remembered decisions hold %d feature columns, the online model needs %d: forgotten",
                    recent.n_features,
                    width,
                )
                recent = None
            else:
                recent.features = None
        self.recent, self.metrics = recent, metrics

    def _resume_labels(self, point: dict[str, Any] | None) -> None:
        """Reviews continue from the restored snapshot's cursor (state only up to the
        checkpoint's); the labels file skips what the restored snapshot holds."""
        snapshot = self._committed_snapshot
        if self.reviews is not None:
            self._review_cursor = snapshot.get("reviews") if snapshot else None
            self.reviews.resume(self._review_cursor, replay_until=(point or {}).get("reviews"))
        engine = self.featurizer.engine
        if self.labels_file is not None and snapshot and engine is not None:
            self.labels_file.skip_until(engine.watermark_ns)

    # ---- the loop ---------------------------------------------------------------------------
    def run(self) -> RunSummary:
        started = time.perf_counter()
        stages = self.summary.stages.seconds
        try:
            if self.reviews is not None:
                self.reviews.start()
            for batch in self.source.batches():
                self._apply_swap(batch)
                if len(batch.frame) or len(batch.labels) or batch.dead:
                    self._process(batch, stages)
                self._housekeeping(batch)
                if self._stop.is_set():
                    break
            self.sink.flush()
        finally:
            self._label_writer.join()
            if self.reviews is not None:
                self.reviews.close()
            self.source.close()
            try:
                self.sink.close()
            finally:
                for alert_sink in self.alert_sinks:
                    alert_sink.close()
                self.dead_letters.close()
                self.summary.lost = self.source.lost_lines
                stages["decode"] = self.source.decode_s
                stages["store"] = self.sink.busy_s
                cpu = self.summary.stages.cpu_seconds
                cpu["decode"] = self.source.decode_cpu_s
                cpu["store"] = self.sink.busy_cpu_s
                self.summary.wall_s = time.perf_counter() - started
                self.summary.metrics = self.metrics.snapshot()
                self.summary.over_budget = self.budget.over_budget
        return self.summary

    def _process(self, batch: MicroBatch, stages: dict[str, float]) -> None:
        frame = batch.frame
        replay = self._replaying(batch)
        self.dead_letters.extend(batch.dead)
        self.summary.dead_letters += len(batch.dead)
        cpu = self.summary.stages.cpu_seconds
        t0, c0 = time.perf_counter(), time.thread_time()
        features = self.featurizer.transform(frame) if len(frame) else None
        t1, c1 = time.perf_counter(), time.thread_time()
        stages["features"] += t1 - t0
        cpu["features"] += c1 - c0
        if replay:
            self.summary.replayed += len(frame)
            if features is not None:
                self._remember_again(frame, features)
            self._learn_labels(batch, features, store=False)
            return
        decisions = self.decider.decide(frame, features) if features is not None else None
        t2, c2 = time.perf_counter(), time.thread_time()
        stages["score"] += t2 - t1
        cpu["score"] += c2 - c1
        bundle = Bundle(transactions=frame)
        alerts: list[dict[str, Any]] = []
        if decisions is not None:
            fraud = (decisions["verdict"] == "fraud").to_numpy()
            alerted = np.zeros(len(decisions), dtype=bool)
            if fraud.any():
                candidates = decisions[fraud]
                keep = self.budget.admit(candidates["ts"])
                alerted[np.flatnonzero(fraud)[keep]] = True
                chosen = candidates[keep]
                if len(chosen):
                    bundle.alerts = store_alerts(chosen)
                    alerts = alert_records(chosen) if self.alert_sinks else []
                self.summary.alerts += int(keep.sum())
            bundle.decisions = decisions[["tx_id", "ts", "model_version", "score", "verdict", "reasons"]]
            self._remember(decisions, fraud, alerted, features)
            self.summary.processed += len(decisions)
        bundle.labels = self._learn_labels(batch, features, store=True)
        bundle.checkpoint = (self.name, self._checkpoint_value(batch))
        bundle.after = self._after_commit(batch, alerts, self._snapshot)
        prepared = self.sink.prepare(bundle)  # the store's rows, made here: the writer only writes
        stages["sinks"] += time.perf_counter() - t2
        cpu["sinks"] += time.thread_time() - c2
        self.sink.put(prepared)

    def _replaying(self, batch: MicroBatch) -> bool:
        if self._replay_until is None:
            return False
        if batch.position is not None and int(batch.position) <= int(self._replay_until):
            if int(batch.position) == int(self._replay_until):  # the last batch to replay
                self._replay_until = None
            return True
        self._replay_until = None
        return False

    def _remember_again(self, frame: pd.DataFrame, features: pd.DataFrame) -> None:
        """Replay: decide again (same model, same alert budget as before the crash) only to
        remember the decisions; nothing is stored or sent."""
        decisions = self.decider.decide(frame, features)
        fraud = (decisions["verdict"] == "fraud").to_numpy()
        alerted = np.zeros(len(decisions), dtype=bool)
        if fraud.any():
            alerted[np.flatnonzero(fraud)[self._replay_budget.admit(decisions["ts"][fraud])]] = True
        self._remember(decisions, fraud, alerted, features)

    def _feature_width(self) -> int:
        """Feature columns to remember per decision (those of an online model, else none)."""
        model = self.decider.model
        return len(model.detector.feature_names_) if model is not None and model.detector.online else 0

    def _remember(
        self, decisions: pd.DataFrame, fraud: np.ndarray, alerted: np.ndarray, features: pd.DataFrame | None
    ) -> None:
        if self.recent is None:
            self.recent = RecentDecisions(n_features=self._feature_width())
        rows = None
        width = self.recent.n_features
        if width and width == self._feature_width() and features is not None and self.decider.model is not None:
            rows = features[self.decider.model.detector.feature_names_].to_numpy(np.float64)
        self.recent.add(decisions["tx_id"].to_numpy(), decisions["score"].to_numpy(), fraud, alerted, rows)

    def _learn_labels(self, batch: MicroBatch, features: pd.DataFrame | None, *, store: bool) -> pd.DataFrame:
        """Learn the batch's labels (messages, labels inline in the frame, and the labels file's
        labels it makes due) through :meth:`_apply_labels`. Returns the label rows to store."""
        frame = batch.frame
        parts = [batch.labels] if len(batch.labels) else []
        if "is_fraud" in frame.columns and len(frame):
            parts.append(
                frame[["tx_id", "is_fraud"] + (["fraud_pattern"] if "fraud_pattern" in frame else [])]
            )
        if parts:
            self._apply_labels(parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True))
        due = self.labels_file.due(frame) if self.labels_file is not None else None
        if due is not None:
            self._apply_labels(due, wait=False)
            self.summary.file_labels += len(due)
        if not store:
            return pd.DataFrame()
        rows: list[pd.DataFrame] = []
        if len(batch.labels):
            rows.append(batch.labels.assign(source="stream", labelled_at=pd.Timestamp.now(tz="UTC")))
        if due is not None:
            rows.append(due.assign(source="file"))
        return pd.DataFrame() if not rows else rows[0] if len(rows) == 1 else pd.concat(rows, ignore_index=True)

    def _apply_labels(self, labels: pd.DataFrame, *, wait: bool = True) -> None:
        """Labels (``tx_id``, ``is_fraud``) to the feature engine's risk state, known from the
        stream's event time on, and to their remembered decisions: prequential metrics (a
        decision counts once) and the online model (learns a decision once, from its first
        label). A label without a decision waits for it (``wait``: label messages may overtake
        their transaction) or counts as unjoined. Replayed labels take this path too: the
        restored snapshot holds the state from before them."""
        self.featurizer.learn_labels(labels["tx_id"].to_numpy(), labels["is_fraud"].to_numpy(bool), self._known_at())
        self.summary.labels += len(labels)
        joined = self.recent.join(labels, wait=wait) if self.recent is not None else None
        if not wait:  # a label that does not wait and finds no decision stays unjoined
            self.summary.unjoined += len(labels) - (len(joined) if joined is not None else 0)
        if joined is None:
            return
        relabelled = self.metrics.relabelled
        self.metrics.update(joined)
        self.summary.relabelled += self.metrics.relabelled - relabelled
        self.summary.joined += len(joined)
        model = self.decider.model
        first = joined.first
        if model is not None and model.detector.online and joined.features is not None and first.any():
            X = pd.DataFrame(joined.features[first], columns=model.detector.feature_names_)
            model.detector.learn_many(X, joined.is_fraud[first].astype(np.int8))
            self.summary.learned += int(first.sum())

    def _known_at(self) -> pd.Timestamp:
        """The stream's event time (the engine's watermark), else the wall-clock time."""
        engine = self.featurizer.engine
        if engine is not None and engine.watermark_ns > np.iinfo(np.int64).min:
            return pd.Timestamp(engine.watermark_ns, tz="UTC")
        return pd.Timestamp.now(tz="UTC")

    def _apply_reviews(self, batch: MicroBatch) -> None:
        """Take the reviews the poller read and apply them like label messages (those replayed
        after a restart too: the restored snapshot holds the state from before them); then commit
        the cursor (checkpoint)."""
        assert self.reviews is not None
        engine = self.featurizer.engine
        if engine is not None and engine.watermark_ns == np.iinfo(np.int64).min:
            return  # no event time yet: keep them until the first transactions are in
        for page in self.reviews.take():
            if len(page.replayed):
                self._apply_labels(page.replayed, wait=False)
                self.summary.reviews_replayed += len(page.replayed)
            if len(page.labels):
                self._apply_labels(page.labels, wait=False)
                self.summary.reviews += len(page.labels)
            self._review_cursor = page.cursor
        self.sink.put(Bundle(checkpoint=(self.name, self._checkpoint_value(batch))))

    def _checkpoint_value(self, batch: MicroBatch) -> dict[str, Any]:
        value = {
            "source": self.source.describe(),
            "position": batch.position,
            "processed": self.summary.processed,
            "model_version": self.decider.version,
            "snapshot": self._snapshot,
            "budget": self.budget.state(),
        }
        if self.source.stream_id is not None:
            value["stream"] = self.source.stream_id
        if self.reviews is not None:
            value["reviews"] = self._review_cursor
        return value

    def _after_commit(
        self, batch: MicroBatch, alerts: list[dict[str, Any]], snapshot: dict[str, Any] | None
    ) -> Callable[[], None]:
        def after() -> None:
            committed_at = time.time()
            for alert_sink in self.alert_sinks:
                alert_sink.emit(alerts)
            self._snapshot_committed(snapshot)
            if self.on_stored is not None:
                self.on_stored(batch, committed_at)

        return after

    def _snapshot_committed(self, snapshot: dict[str, Any] | None) -> None:
        if snapshot is not None and snapshot is not self._committed_snapshot:
            self._drop_snapshots_before(snapshot)
            self._committed_snapshot = snapshot

    # ---- housekeeping: hot-swap, snapshots, metrics ---------------------------------------------
    def _apply_swap(self, batch: MicroBatch) -> None:
        with self._swap_lock:
            model, self._next_model = self._next_model, None
        if model is None:
            return
        previous = self.decider.swap(model)
        first = batch.frame["tx_id"].iloc[0] if len(batch.frame) else None
        self.summary.swaps.append(
            (first.item() if isinstance(first, np.generic) else first, self.decider.version)
        )
        log.warning("model hot-swapped: %s -> %s (from tx_id %s on)", previous, self.decider.version, first)

    def _stamp(self) -> int | None:
        if self.model_path is None:
            return None
        try:
            return (self.model_path / "metadata.json").stat().st_mtime_ns
        except OSError:
            return None

    def _housekeeping(self, batch: MicroBatch) -> None:
        if self.reviews is not None and self.reviews.ready and self._replay_until is None:
            self._apply_reviews(batch)
        now = time.monotonic()
        if self.model_path is not None and now - self._last_poll >= self.model_poll_s:
            self._last_poll = now
            stamp = self._stamp()
            if stamp is not None and stamp != self._model_stamp:
                self._model_stamp = stamp
                threading.Thread(
                    target=self._load_in_background, name="fraudstream-model-load", daemon=True
                ).start()
        written = self._label_writer.written()
        if written is not None:
            if written:
                self._publish_snapshot(batch)
            self._writing = None
        if (
            self.state_dir is not None
            and not self._label_writer.busy
            and self._replay_until is None
            and batch.position is not None
            and now - self._last_snapshot >= self.snapshot_every_s
            and self.featurizer.engine is not None
        ):
            self._last_snapshot = now
            self._take_snapshot(batch.position)
        if now - self._last_metrics >= self.metrics_every_s and self.metrics.labelled:
            self._last_metrics = now
            values = self.metrics.snapshot()
            log.info(
                "live metrics over the last %d labels: %s",
                int(values["n"]),
                ", ".join(f"{k} {v:.4g}" for k, v in values.items()),
            )
            at = pd.Timestamp.now(tz="UTC")
            finite = {k: v for k, v in values.items() if np.isfinite(v)}
            self.sink.put(
                Bundle(
                    metrics=pd.DataFrame(
                        {
                            "name": [f"detect_{k}" for k in finite],
                            "value": list(finite.values()),
                            "at": at,
                            "labels": [{"detector": self.name, "model_version": self.decider.version}]
                            * len(finite),
                        }
                    )
                )
            )

    def _load_in_background(self) -> None:
        try:
            self.request_swap(self.model_path)  # type: ignore[arg-type]
        except Exception as exc:  # a half-written folder: keep the current model, try at the next change
            log.error(
                "model folder %s changed but cannot be loaded, keeping %s: %s",
                self.model_path,
                self.decider.version,
                exc,
            )

    def _publish_snapshot(self, batch: MicroBatch) -> None:
        """The snapshot's files are complete: name it in checkpoints from now on, starting with
        one committed at once (an idle stream would otherwise not commit it)."""
        snapshot = self._snapshot = self._writing
        if batch.position is None:
            return  # no position to commit: the next batch's checkpoint names it
        self.sink.put(
            Bundle(
                checkpoint=(self.name, self._checkpoint_value(batch)),
                after=lambda: self._snapshot_committed(snapshot),
            )
        )

    def _take_snapshot(self, position: Any) -> None:
        assert self.state_dir is not None and self.featurizer.engine is not None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / f"{self.name}-engine-{position}.npz"
        tmp = path.with_suffix(".tmp")
        self.featurizer.engine.save(tmp)
        os.replace(tmp, path)
        online = None
        model = self.decider.model
        if model is not None and model.detector.online:
            online = str(
                registry.save(
                    model.detector, self.state_dir / f"{self.name}-online-{position}", overwrite=True
                )
            )
        labels = self.state_dir / f"{self.name}-labels-{position}.npz"
        self._writing = {
            "position": position,
            "engine": str(path),
            "online": online,
            "labels": str(labels),
            "reviews": self._review_cursor,
            "budget": self.budget.state(),
        }
        self._label_writer.start(labels, label_state_arrays(self.recent, self.metrics))

    def _drop_snapshots_before(self, snapshot: dict[str, Any]) -> None:
        if self.state_dir is None:
            return
        keep = {
            Path(snapshot["engine"]).name,
            Path(snapshot["online"]).name if snapshot.get("online") else "",
            Path(snapshot["labels"]).name if snapshot.get("labels") else "",
        }
        for old in self.state_dir.glob(f"{self.name}-*-*"):
            prefix_position = old.name.rsplit("-", 1)[-1].split(".")[0]
            if (
                old.name not in keep
                and prefix_position.isdigit()
                and int(prefix_position) < int(snapshot["position"])
            ):
                if old.is_dir():
                    import shutil

                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink(missing_ok=True)
