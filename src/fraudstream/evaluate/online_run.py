"""Online learning with delayed labels, evaluated on a temporal split's test block.

The online detector is fitted on the split's training block (labels known by then), then the
stream runs from the end of training to the end of the test block in micro-batches of
``batch`` (a time span): each batch is **scored first**, then the detector learns every earlier
transaction whose label has been revealed (``ts <= batch end - delay``). Scores of the test rows
are the scores they got on arrival (progressive validation); the metrics are those of
:func:`fraudstream.evaluate.result.evaluate_scores`.

>>> from fraudstream.evaluate.experiment import DataSource, SplitSpec, make_splits, prepare
>>> prepared = prepare(DataSource(world="handbook", seed=1, days=30,
...                               params={"n_customers": 300, "n_terminals": 600}), "handbook")
>>> split = make_splits(prepared.frame, SplitSpec("temporal"))[0]
>>> result = run_online(prepared, split, batch="1D")
>>> result.threshold["method"], result.context["learned_online"] > 0
('online', True)

:func:`stream_online` does the same and also returns the detector as it stands at the end of the
test block (``fraudstream train --online-eval`` saves it).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.detect import registry
from fraudstream.detect.online import OnlineDetector
from fraudstream.evaluate.experiment import (
    DataSource,
    Prepared,
    SplitSpec,
    make_splits,
    model_inputs,
    prepare,
)
from fraudstream.evaluate.importance import feature_importance
from fraudstream.evaluate.result import EvaluationResult, evaluate_scores
from fraudstream.evaluate.splits import Split

__all__ = ["run_online", "stream_online", "train_online"]

log = logging.getLogger(__name__)


def run_online(
    prepared: Prepared,
    split: Split,
    *,
    delay_days: int = 7,
    batch: str = "1h",
    params: Mapping[str, Any] | None = None,
    k: int = 100,
) -> EvaluationResult:
    """Fit on the training block, stream the rest with labels ``delay_days`` late, evaluate the test block."""
    return stream_online(prepared, split, delay_days=delay_days, batch=batch, params=params, k=k)[1]


def stream_online(
    prepared: Prepared,
    split: Split,
    *,
    delay_days: int = 7,
    batch: str = "1h",
    params: Mapping[str, Any] | None = None,
    k: int = 100,
) -> tuple[OnlineDetector, EvaluationResult]:
    """As :func:`run_online`; returns ``(detector after the stream, result)``."""
    frame = prepared.frame
    features = model_inputs("online", prepared.features)  # River takes no NaN: missing values become 0
    y = frame["is_fraud"].to_numpy(bool)
    ts = frame["ts"]
    detector = OnlineDetector(**dict(params or {}))
    detector.fit(features.iloc[split.train], y[split.train])
    train_end = split.delay_start
    stream = np.flatnonzero(((ts >= train_end) & (ts < split.test_end)).to_numpy())
    scores = np.full(len(frame), np.nan)
    delay = pd.Timedelta(days=delay_days)
    ts_values = ts.to_numpy()
    learned_until = train_end - delay  # training labels up to here were known at fit time
    # rows of the stream window and of the last `delay` days before it are learned once revealed
    learnable = np.flatnonzero(((ts >= learned_until) & (ts < split.test_end)).to_numpy())
    learn_pos = 0
    learned = 0
    bins = ts.iloc[stream].dt.floor(batch).to_numpy()
    edges = np.r_[0, np.flatnonzero(bins[1:] != bins[:-1]) + 1, len(stream)]
    for a, b in itertools.pairwise(edges):
        rows = stream[a:b]
        scores[rows] = detector.score_many(features.iloc[rows])
        revealed_before = ts_values[rows[-1]] - delay.to_timedelta64()
        stop = learn_pos + int(
            np.searchsorted(ts_values[learnable[learn_pos:]], revealed_before, side="right")
        )
        if stop > learn_pos:
            chunk = learnable[learn_pos:stop]
            detector.learn_many(features.iloc[chunk], y[chunk])
            learned += len(chunk)
            learn_pos = stop
    test = frame.iloc[split.test]
    test_scores = scores[split.test]
    log.info("online: learned %d rows while streaming", learned)
    context = {
        "simulated": prepared.data.world is not None,
        "data": prepared.data.describe(),
        "feature_set": prepared.feature_set,
        "detector": "online",
        "detector_params": dict(params or {}),
        "label_delay_days": delay_days,
        "batch": batch,
        "learned_online": learned,
        "test": f"{split.test_start.date()}..{(split.test_end - pd.Timedelta(days=1)).date()} "
        f"({len(split.test):,} rows)",
        "removed_from_test": split.removed_from_test,
    }
    return detector, evaluate_scores(
        test["is_fraud"].to_numpy(bool),
        test_scores,
        detector.threshold_,
        days=test["ts"],
        cards=test["customer_id"].to_numpy(),
        amounts=test["amount"].to_numpy(),
        patterns=test["fraud_pattern"].to_numpy(object) if "fraud_pattern" in test else None,
        k=k,
        threshold_info={"method": "online", "chosen_on": "the detector's threshold param"},
        importance=feature_importance(detector, features.iloc[split.test], y[split.test]),
        context=context,
    )


def train_online(
    data: DataSource | Prepared,
    feature_set: str,
    split: SplitSpec,
    params: Mapping[str, Any] | None = None,
    *,
    batch: str = "1h",
    out: str | Path | None = None,
    overwrite: bool = False,
    k: int = 100,
) -> tuple[OnlineDetector, EvaluationResult, Path | None]:
    """:func:`stream_online` on the (latest) split of ``split``, labels ``split.delay_days`` late;
    saves the detector as it stands after the test block to ``out`` (``fraudstream train
    --online-eval``). Returns ``(detector, result, folder)``."""
    delay_days = max(1, split.delay_days)
    prepared = data if isinstance(data, Prepared) else prepare(data, feature_set, label_delay_days=delay_days)
    one = make_splits(prepared.frame, split)[0]
    detector, result = stream_online(prepared, one, delay_days=delay_days, batch=batch, params=params, k=k)
    folder = None
    if out is not None:
        experiment = {
            "data": prepared.data.describe(),
            "feature_set": feature_set,
            "split": dataclasses.asdict(split),
            "detector": {"kind": "online", "preset": None, "params": dict(params or {}), "use_labels": True},
            "threshold": result.threshold,
            "k": k,
            "online_eval": {"label_delay_days": delay_days, "batch": batch},
        }
        metadata = {
            "metrics": {m: result.metrics[m] for m in ("ap", "roc_auc", "cp_at_k", "cp_at_k_oracle", "f1")},
            "training": {"data": prepared.data.describe(), "split": dataclasses.asdict(split),
                         "feature_set": feature_set},
            "experiment": experiment,
        }
        folder = registry.save(detector, out, metadata, overwrite=overwrite)
    return detector, result, folder
