"""The demo's model and world: gradient boosting trained on the spot on the classroom world's past,
and the same world's continuation as the live stream (simulated data).

One classroom world (default mode: no tell-tale merchants or items), one seed, starting
``days`` before now. Its first ``days`` are the **history**; everything after is the **live
part** that the demo streams (:class:`ClassroomAfter`), so the model never sees a transaction it
will score, and the live customers are the ones it learned about.

Training (:func:`train_demo_model`): the feature engine's ``default`` set built over the history
in event-time order (labels only through the engine's delayed-label path, one day late); a
temporal split (the first two thirds train, the last third is the held-out test block; one
partial day is left out); LightGBM's threshold is its best F1 on the last fifth of the
training rows (see :mod:`fraudstream.detect.gbm`).

Serving: :func:`warm_up` runs the history through the detection service's
:class:`~fraudstream.service.decisions.Featurizer` (and gives it the history's labels, one day
late, as in training), so the first live transaction has the same feature state as in training
instead of a cold start.

>>> import tempfile
>>> model = train_demo_model(tempfile.mkdtemp() + "/model", seed=3, days=21)
>>> model.feature_set, 0 <= model.ap <= 1, model.test_rows > 0, len(model.history) == model.history_rows
('default', True, True, True)
>>> live = ClassroomAfter(model.history_end, seed=3, start=model.history_start)
>>> first = next(live.blocks())
>>> int(first["tx_id"].iloc[0]) == int(model.history["tx_id"].iloc[-1]) + 1
True
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fraudstream.worlds.classroom import ClassroomWorld

__all__ = ["DEMO_GBM_PARAMS", "LABEL_DELAY", "ClassroomAfter", "DemoModel", "train_demo_model", "warm_up"]

DEMO_GBM_PARAMS: dict[str, float | int] = {"n_estimators": 100, "learning_rate": 0.1}
"""LightGBM settings of the demo: about two seconds of training on 90 days (18,000 transactions)."""

LABEL_DELAY = pd.Timedelta(days=1)
"""How late the history's labels reach the feature engine, in event time (training and warm-up)."""


class ClassroomAfter(ClassroomWorld):
    """The classroom world from ``after`` on: same seed, start and parameters as its history, so
    transaction ids and every customer's habits continue."""

    def __init__(self, after: pd.Timestamp, **options: Any) -> None:
        super().__init__(**options)
        self.after = pd.Timestamp(after)

    def blocks(self) -> Iterator[pd.DataFrame]:
        for block in super().blocks():
            if not len(block) or block["ts"].iloc[-1] < self.after:
                continue
            live = block[(block["ts"] >= self.after).to_numpy()]
            if len(live):
                yield live.reset_index(drop=True)


@dataclass(frozen=True)
class DemoModel:
    """Where the trained model was saved, its history, and how it did on its held-out block."""

    folder: Path
    feature_set: str
    ap: float
    roc_auc: float
    history_start: pd.Timestamp
    history_end: pd.Timestamp
    history_days: int
    history_rows: int
    test_rows: int
    test_frauds: int
    seed: int
    train_s: float
    history: pd.DataFrame = field(repr=False, compare=False)

    def describe(self) -> str:
        """One line for the console."""
        return (
            f"gradient boosting on the {self.feature_set} features: held-out AP {self.ap:.3f}, "
            f"ROC AUC {self.roc_auc:.3f} on the last {self.test_rows:,} transactions "
            f"({self.test_frauds} fraud) of {self.history_days} days of history — simulated data "
            f"(trained in {self.train_s:.1f} s)"
        )


def train_demo_model(
    folder: str | Path,
    *,
    seed: int,
    days: int = 90,
    tx_per_day: float = 200.0,
    end: pd.Timestamp | None = None,
) -> DemoModel:
    """Simulate the classroom world's ``days`` of history ending at ``end`` (default: now, whole
    seconds), train and evaluate the demo's gradient boosting on it, save it to ``folder``."""
    from fraudstream.evaluate import experiment

    started = time.perf_counter()
    end = (end if end is not None else pd.Timestamp.now(tz="UTC")).floor("s")
    start = end - pd.Timedelta(days=days)
    history = experiment.DataSource(
        world="classroom", seed=seed, days=days, params={"tx_per_day": tx_per_day}, start=start.isoformat()
    )
    test_days = max(1, days // 3)
    # no gap between training and test days; the features still get labels one day late
    # (experiment.prepare uses max(1, delay_days) days: LABEL_DELAY)
    split = experiment.SplitSpec(
        "temporal", train_days=days - test_days - 1, delay_days=0, test_days=test_days
    )
    run = experiment.train(
        history,
        "default",
        split,
        experiment.DetectorSpec("gbm", params=dict(DEMO_GBM_PARAMS)),
        out=folder,
        overwrite=True,
    )
    frame = run.prepared.frame
    test = experiment.make_splits(frame, split)[0].test
    labels = frame["is_fraud"].to_numpy(bool)
    return DemoModel(
        folder=Path(folder),
        feature_set="default",
        ap=float(run.result.metrics["ap"]),
        roc_auc=float(run.result.metrics["roc_auc"]),
        history_start=start,
        history_end=end,
        history_days=days,
        history_rows=len(frame),
        test_rows=len(test),
        test_frauds=int(labels[test].sum()),
        seed=seed,
        train_s=time.perf_counter() - started,
        history=frame,
    )


def warm_up(featurizer: Any, history: pd.DataFrame, *, label_delay: pd.Timedelta = LABEL_DELAY) -> None:
    """Run ``history`` (event-time order) through ``featurizer`` and give it the labels
    ``label_delay`` late, so that its state is the one the model was trained with."""
    featurizer.transform(history)
    featurizer.learn_labels(
        history["tx_id"].to_numpy(), history["is_fraud"].to_numpy(bool), history["ts"] + label_delay
    )
