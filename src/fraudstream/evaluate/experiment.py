"""Experiments: data -> features over history -> temporal split -> fit -> threshold -> evaluate -> save.

1. **Data** (:class:`DataSource`): a world (name, parameters, seed, days or rows, start) or a
   file in any supported schema (``schema=None`` detects it from the columns; ``"canonical"``
   reads canonical columns as they are). Rows are put in event-time order (ts, then tx_id).
2. **Features** (:mod:`.featuresets`): built over the whole history in event-time order, labels
   only through the feature engine's delayed-label path (delay = the split's delay, >= 1 day).
3. **Split** (:class:`SplitSpec`, never random): ``handbook`` (train 7 days, delay 7, test 7,
   known compromised cards removed from test; start 2018-07-25 when the data covers the
   Handbook's test week, else the latest 21 days), ``temporal`` (any lengths; known cards kept
   unless asked) or ``prequential`` (``folds`` splits, each ``test_days`` earlier than the last).
4. **Detector** (:class:`DetectorSpec`): any registered kind, optionally a preset
   (``iforest:seed001``, ``autoencoder:seed002``, ``forest:seed003``), plus parameters.
5. **Threshold** (:class:`ThresholdSpec`): the detector's own, or chosen on the **validation
   slice** (the last ``validation_fraction`` of the training rows, in time order) by alert budget
   (k alerts per day) or by target precision. Never on the test block.
6. **Evaluate** the test block (:func:`fraudstream.evaluate.result.evaluate_scores`) and **save**
   the model with its metadata (:mod:`fraudstream.detect.registry`).

>>> data = DataSource(world="handbook", seed=1, days=30, params={"n_customers": 300, "n_terminals": 600})
>>> run = train(data, "handbook", SplitSpec("temporal", train_days=7, delay_days=7, test_days=7),
...             DetectorSpec("gbm", params={"n_estimators": 30}))
>>> 0 <= run.results[0].metrics["ap"] <= 1, run.detector.kind
(True, 'gbm')
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.adapters import detect_adapter, get_adapter
from fraudstream.detect import detector_class, registry
from fraudstream.detect.base import Detector
from fraudstream.errors import ConfigError, InvalidRecord
from fraudstream.evaluate import thresholds
from fraudstream.evaluate.featuresets import build_feature_set, categorical_columns, parse_feature_set
from fraudstream.evaluate.importance import feature_importance
from fraudstream.evaluate.result import EvaluationResult, evaluate_scores
from fraudstream.evaluate.splits import Split, prequential_folds, temporal_split
from fraudstream.files import read_frames
from fraudstream.records import CORE_COLUMNS
from fraudstream.worlds import get_world

__all__ = [
    "DataSource",
    "DetectorSpec",
    "Prepared",
    "SplitSpec",
    "ThresholdSpec",
    "TrainRun",
    "choose_threshold",
    "evaluate_model",
    "evaluate_on_split",
    "fit_on_split",
    "make_detector",
    "make_splits",
    "model_inputs",
    "prepare",
    "train",
]

log = logging.getLogger(__name__)

HANDBOOK_START = pd.Timestamp("2018-07-25", tz="UTC")
"""First training day of the Handbook's protocol (test week 2018-08-08..14)."""

SPLIT_KINDS = ("handbook", "temporal", "prequential")
SUPERVISED_KINDS = ("gbm", "ann", "forest", "online", "ensemble")
NAN_NATIVE_KINDS = ("gbm", "forest", "rules")
"""Detectors that take missing feature values as they are; the others get them as 0."""


def model_inputs(kind: str, X: pd.DataFrame) -> pd.DataFrame:
    """``X`` for a detector of ``kind``: missing values (e.g. a customer's first transaction has no
    previous one) stay NaN for LightGBM, forests and rules, and become 0 for every other detector.

    >>> model_inputs("iforest", pd.DataFrame({"a": [1.0, None]}))["a"].tolist()
    [1.0, 0.0]
    """
    if kind in NAN_NATIVE_KINDS:
        return X
    numeric = X.select_dtypes(include="number").columns
    if not X[numeric].isna().to_numpy().any():
        return X
    return X.assign(**{c: X[c].fillna(0.0) for c in numeric if X[c].hasnans})


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Where the transactions come from: a world, or a file (``path``, optional ``schema``)."""

    world: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    seed: int = 0
    days: float | None = None
    rows: int | None = None
    start: str | None = None
    path: str | None = None
    schema: str | None = None

    def __post_init__(self) -> None:
        if (self.world is None) == (self.path is None):
            raise ConfigError("data: give exactly one of a world (--world) or a file (--data)")

    def load(self) -> pd.DataFrame:
        """The canonical frame, in event-time order, indexed 0..n-1."""
        if self.world is not None:
            world = get_world(self.world)(seed=self.seed, start=self.start, **dict(self.params))
            blocks = list(world.generate(rows=self.rows, days=self.days))
            frame = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()
        else:
            frame = _read_file(Path(str(self.path)), self.schema)
            if self.rows is not None:
                frame = frame.iloc[: self.rows]
        if len(frame) == 0:
            raise InvalidRecord(f"data {self.describe()} has no rows")
        if "is_fraud" not in frame.columns:
            raise InvalidRecord(
                f"data {self.describe()} has no labels (is_fraud): nothing to train or evaluate on"
            )
        order = np.lexsort(
            (
                np.arange(len(frame)),
                frame["tx_id"].to_numpy()
                if frame["tx_id"].dtype.kind in "iuf"
                else pd.factorize(frame["tx_id"].astype(str), sort=True)[0],
                frame["ts"].to_numpy(),
            )
        )
        frame = frame.iloc[order].reset_index(drop=True)
        frame["is_fraud"] = frame["is_fraud"].astype(bool)
        return frame

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (saved in the model's metadata)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {})} | (
            {"params": dict(self.params)} if self.params else {}
        )


def _read_file(path: Path, schema: str | None) -> pd.DataFrame:
    frame = pd.concat(list(read_frames(path)), ignore_index=True)
    if schema == "canonical" or (schema is None and set(CORE_COLUMNS) <= set(frame.columns)):
        if not isinstance(frame["ts"].dtype, pd.DatetimeTZDtype):
            frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        return frame
    adapter = get_adapter(schema) if schema is not None else detect_adapter(frame.columns)
    return adapter.to_canonical(frame)


@dataclasses.dataclass(frozen=True)
class SplitSpec:
    """How to split in time. ``remove_known=None``: on for handbook/prequential, off for temporal."""

    kind: str = "handbook"
    start: str | None = None
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7
    folds: int = 4
    remove_known: bool | None = None

    def __post_init__(self) -> None:
        if self.kind not in SPLIT_KINDS:
            raise ConfigError(f"split must be one of {', '.join(SPLIT_KINDS)}, got {self.kind!r}")
        if self.kind == "handbook" and (self.train_days, self.delay_days, self.test_days) != (7, 7, 7):
            raise ConfigError(
                "split handbook is 7 days train, 7 delay, 7 test; use split temporal for other lengths"
            )

    @property
    def removes_known(self) -> bool:
        return self.kind != "temporal" if self.remove_known is None else self.remove_known


def make_splits(frame: pd.DataFrame, spec: SplitSpec) -> list[Split]:
    """The split(s) of ``frame`` (one, or ``folds`` for prequential; fold 0 the latest)."""
    span = spec.train_days + spec.delay_days + spec.test_days
    first = frame["ts"].iloc[0].normalize()
    end = frame["ts"].iloc[-1].normalize() + pd.Timedelta(days=1)
    if spec.start is not None:
        start = pd.Timestamp(spec.start)
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    elif (
        spec.kind == "handbook"
        and first <= HANDBOOK_START
        and end >= HANDBOOK_START + pd.Timedelta(days=span)
    ):
        start = HANDBOOK_START
    else:
        start = end - pd.Timedelta(days=span)
    options = {"remove_known_compromised": spec.removes_known}
    if spec.kind == "prequential":
        splits = prequential_folds(
            frame, start, spec.folds, spec.train_days, spec.delay_days, spec.test_days, **options
        )
    else:
        splits = [temporal_split(frame, start, spec.train_days, spec.delay_days, spec.test_days, **options)]
    for number, split in enumerate(splits):
        if len(split.train) == 0 or len(split.test) == 0:
            raise ConfigError(
                f"split {spec.kind} (fold {number}): train {split.train_start.date()}.. and test "
                f"{split.test_start.date()}..{(split.test_end - pd.Timedelta(days=1)).date()} need data, "
                f"but the data covers {first.date()}..{(end - pd.Timedelta(days=1)).date()}; "
                "generate more days or set --split-start"
            )
    return splits


@dataclasses.dataclass(frozen=True)
class DetectorSpec:
    """A detector kind, an optional preset (a classmethod such as ``seed001``) and parameters."""

    kind: str = "gbm"
    preset: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    use_labels: bool | None = None
    """Pass training labels to ``fit``: default yes for supervised kinds and for the autoencoder
    preset ``seed002`` (which, as the seed, learns legitimate rows only), no otherwise."""

    @property
    def fits_with_labels(self) -> bool:
        if self.use_labels is not None:
            return self.use_labels
        return self.kind in SUPERVISED_KINDS or (self.kind, self.preset) == ("autoencoder", "seed002")

    @classmethod
    def parse(cls, text: str, params: Mapping[str, Any] | None = None) -> DetectorSpec:
        """``"gbm"`` or ``"iforest:seed001"``.

        >>> DetectorSpec.parse("iforest:seed001").preset
        'seed001'
        """
        kind, _, preset = text.partition(":")
        return cls(kind, preset or None, dict(params or {}))

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "preset": self.preset,
            "params": dict(self.params),
            "use_labels": self.use_labels,
        }


def make_detector(spec: DetectorSpec, features: pd.DataFrame) -> Detector:
    """A new unfitted detector for the feature frame ``features``."""
    cls = detector_class(spec.kind)
    params = dict(spec.params)
    categorical = categorical_columns(features)
    if spec.kind == "iforest" and "categorical" not in params:
        params["categorical"] = categorical
        params.setdefault("numeric", [c for c in features.columns if c not in categorical])
    if spec.preset is None:
        return cls(**params)
    if spec.preset.startswith("_") or not isinstance(vars(cls).get(spec.preset), classmethod):
        presets = [n for n, v in vars(cls).items() if isinstance(v, classmethod) and not n.startswith("_")]
        raise ConfigError(
            f"detector {spec.kind} has no preset {spec.preset!r}; presets: {', '.join(presets) or 'none'}"
        )
    try:
        detector: Detector = getattr(cls, spec.preset)(**params)
    except TypeError as exc:
        raise ConfigError(f"detector {spec.kind}:{spec.preset}: {exc}") from None
    return detector


@dataclasses.dataclass(frozen=True)
class ThresholdSpec:
    """The operating threshold: the detector's own, or by alert budget or target precision."""

    budget: int | None = None
    target_precision: float | None = None
    validation_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.budget is not None and self.target_precision is not None:
            raise ConfigError("choose the threshold by alert budget or by target precision, not both")
        if self.budget is not None and self.budget < 1:
            raise ConfigError(f"threshold budget must be >= 1 alert per day, got {self.budget}")
        if self.target_precision is not None and not 0 < self.target_precision <= 1:
            raise ConfigError(f"target precision must be in (0, 1], got {self.target_precision}")


def choose_threshold(
    detector: Detector,
    spec: ThresholdSpec,
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    days_train: np.ndarray,
) -> dict[str, Any]:
    """Set ``detector``'s threshold per ``spec`` on the validation slice; return how it was chosen."""
    if spec.budget is None and spec.target_precision is None:
        return {
            "value": float(detector.threshold_),
            "method": "detector",
            "chosen_on": "the detector's own fit (see docs/detectors.md)",
        }
    n_val = max(1, round(len(X_train) * spec.validation_fraction))
    scores = detector.score_many(X_train.iloc[-n_val:])
    first_day = str(pd.Timestamp(days_train[-n_val]).date())
    where = (
        f"validation slice: last {spec.validation_fraction:.0%} of training rows "
        f"({n_val:,} rows from {first_day})"
    )
    if spec.budget is not None:
        value = thresholds.threshold_for_alert_budget(scores, days_train[-n_val:], spec.budget)
        info = {"method": "alert_budget", "alerts_per_day": spec.budget}
    else:
        value = thresholds.threshold_for_precision(y_train[-n_val:], scores, float(spec.target_precision))
        info = {"method": "target_precision", "target_precision": spec.target_precision}
    detector.set_threshold(value)
    return {"value": float(value), **info, "chosen_on": where}


@dataclasses.dataclass
class Prepared:
    """The data and its features, aligned row by row (same index)."""

    data: DataSource
    frame: pd.DataFrame
    features: pd.DataFrame
    feature_set: str


def prepare(data: DataSource | pd.DataFrame, feature_set: str, *, label_delay_days: int = 7) -> Prepared:
    """Load ``data`` and build the feature set over the whole history, in event-time order."""
    parse_feature_set(feature_set)
    source = data if isinstance(data, DataSource) else DataSource(path="<frame>")
    frame = (
        data.load()
        if isinstance(data, DataSource)
        else data.sort_values(["ts", "tx_id"]).reset_index(drop=True)
    )
    features = build_feature_set(frame, feature_set, label_delay=pd.Timedelta(days=max(1, label_delay_days)))
    return Prepared(source, frame, features, feature_set)


def fit_on_split(
    prepared: Prepared,
    split: Split,
    detector_spec: DetectorSpec,
    threshold_spec: ThresholdSpec | None = None,
    *,
    shuffle_labels_seed: int | None = None,
) -> tuple[Detector, dict[str, Any]]:
    """Fit a new detector on the split's training rows and choose its threshold.

    ``shuffle_labels_seed`` permutes the training labels (a sanity check: AP must fall to the
    prevalence).
    """
    X = model_inputs(detector_spec.kind, prepared.features.iloc[split.train])
    y = prepared.frame["is_fraud"].to_numpy(bool)[split.train]
    if shuffle_labels_seed is not None:
        y = np.random.default_rng(shuffle_labels_seed).permutation(y)
    detector = make_detector(detector_spec, X)
    detector.fit(X, y if detector_spec.fits_with_labels else None)
    days = prepared.frame["ts"].iloc[split.train].dt.floor("D").to_numpy()
    info = choose_threshold(detector, threshold_spec or ThresholdSpec(), X, y, days)
    return detector, info


def evaluate_on_split(
    prepared: Prepared,
    split: Split,
    detector: Detector,
    threshold_info: Mapping[str, Any],
    *,
    k: int = 100,
    investigation_cost: float = 5.0,
    context: Mapping[str, Any] | None = None,
) -> EvaluationResult:
    """Score the split's test rows and compute every metric."""
    test = prepared.frame.iloc[split.test]
    X = model_inputs(detector.kind, prepared.features.iloc[split.test])
    y = test["is_fraud"].to_numpy(bool)
    scores = detector.score_many(X)
    importance = feature_importance(detector, X, y)
    patterns = test["fraud_pattern"].to_numpy(object) if "fraud_pattern" in test.columns else None
    ctx = {
        "simulated": prepared.data.world is not None,
        "data": prepared.data.describe(),
        "feature_set": prepared.feature_set,
        "features": list(detector.feature_names_),
        "detector": detector.kind,
        "detector_params": _plain(detector.get_params()),
        "train": f"{split.train_start.date()}..{(split.delay_start - pd.Timedelta(days=1)).date()} "
        f"({len(split.train):,} rows)",
        "delay": f"{split.delay_start.date()}..{(split.test_start - pd.Timedelta(days=1)).date()} (unused)",
        "test": f"{split.test_start.date()}..{(split.test_end - pd.Timedelta(days=1)).date()} "
        f"({len(split.test):,} rows)",
        "removed_from_test": split.removed_from_test,
        **dict(context or {}),
    }
    return evaluate_scores(
        y,
        scores,
        detector.threshold_,
        days=test["ts"],
        cards=test["customer_id"].to_numpy(),
        amounts=test["amount"].to_numpy(),
        patterns=patterns,
        k=k,
        investigation_cost=investigation_cost,
        threshold_info=threshold_info,
        importance=importance,
        context=ctx,
    )


@dataclasses.dataclass
class TrainRun:
    """A trained detector (fold 0 for prequential), its per-fold results and where it was saved."""

    detector: Detector
    threshold: dict[str, Any]
    results: list[EvaluationResult]
    folder: Path | None
    prepared: Prepared

    @property
    def result(self) -> EvaluationResult:
        """The latest fold's result, with the per-fold table (prequential) in its context."""
        return self.results[0]

    def mean(self, metric: str) -> float:
        return float(np.mean([r.metrics[metric] for r in self.results]))


def train(
    data: DataSource | Prepared,
    feature_set: str,
    split: SplitSpec,
    detector: DetectorSpec,
    threshold: ThresholdSpec | None = None,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    k: int = 100,
    investigation_cost: float = 5.0,
) -> TrainRun:
    """Fit on each split (fold), evaluate its test block, save the latest fold's model to ``out``."""
    prepared = (
        data if isinstance(data, Prepared) else prepare(data, feature_set, label_delay_days=split.delay_days)
    )
    splits = make_splits(prepared.frame, split)
    results, fitted = [], []
    for number, one in enumerate(splits):
        model, info = fit_on_split(prepared, one, detector, threshold)
        results.append(
            evaluate_on_split(
                prepared,
                one,
                model,
                info,
                k=k,
                investigation_cost=investigation_cost,
                context={"split": split.kind, "fold": number},
            )
        )
        fitted.append((model, info))
        log.info(
            "fold %d: AP %.4f, ROC AUC %.4f, CP@%d %.4f",
            number,
            results[-1].metrics["ap"],
            results[-1].metrics["roc_auc"],
            k,
            results[-1].metrics["cp_at_k"],
        )
    if len(results) > 1:
        folds = [
            {
                "fold": i,
                "train_start": str(s.train_start.date()),
                "test_start": str(s.test_start.date()),
                **{m: r.metrics[m] for m in ("ap", "roc_auc", "cp_at_k", "cp_at_k_oracle")},
            }
            for i, (s, r) in enumerate(zip(splits, results, strict=True))
        ]
        folds.append(
            {
                "fold": "mean",
                "train_start": "",
                "test_start": "",
                **{
                    m: float(np.mean([f[m] for f in folds]))
                    for m in ("ap", "roc_auc", "cp_at_k", "cp_at_k_oracle")
                },
            }
        )
        results[0].context["folds"] = folds
    model, info = fitted[0]
    folder = None
    if out is not None:
        metadata = {
            "metrics": {
                m: results[0].metrics[m] for m in ("ap", "roc_auc", "cp_at_k", "cp_at_k_oracle", "f1")
            },
            "training": {
                "data": prepared.data.describe(),
                "split": dataclasses.asdict(split),
                "feature_set": feature_set,
            },
            "experiment": {
                "data": prepared.data.describe(),
                "feature_set": feature_set,
                "split": dataclasses.asdict(split),
                "detector": detector.describe(),
                "threshold": info,
                "k": k,
                "investigation_cost": investigation_cost,
            },
        }
        folder = registry.save(model, out, metadata, overwrite=overwrite)
    return TrainRun(model, info, results, folder, prepared)


def evaluate_model(
    model_dir: str | Path,
    data: DataSource | None = None,
    split: SplitSpec | None = None,
    *,
    k: int | None = None,
    investigation_cost: float | None = None,
) -> EvaluationResult:
    """Evaluate a saved model on the test block of ``split`` (default: the model's own) of ``data``
    (default: the data it was trained on); features are rebuilt with the model's feature set."""
    meta = registry.read_metadata(model_dir)
    experiment = meta.get("extra", {}).get("experiment")
    if experiment is None:
        raise ConfigError(f"model {model_dir} was not saved by fraudstream train (no experiment metadata)")
    if data is None:
        recorded = dict(experiment["data"])
        data = DataSource(**recorded)
    split = split or SplitSpec(**experiment["split"])
    prepared = prepare(data, experiment["feature_set"], label_delay_days=split.delay_days)
    detector = registry.load(model_dir, columns=prepared.features.columns)
    one = make_splits(prepared.frame, split)[0]
    threshold_info = dict(experiment.get("threshold", {"method": "detector"}))
    threshold_info["value"] = float(detector.threshold_)
    return evaluate_on_split(
        prepared,
        one,
        detector,
        threshold_info,
        k=k if k is not None else int(experiment.get("k", 100)),
        investigation_cost=investigation_cost
        if investigation_cost is not None
        else float(experiment.get("investigation_cost", 5.0)),
        context={"split": split.kind, "model": str(model_dir)},
    )


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in params.items()
        if v is None or isinstance(v, bool | int | float | str | list | tuple)
    }
