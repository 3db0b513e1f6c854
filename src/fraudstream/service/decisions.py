"""Decisions: features -> saved model and/or rules -> score, verdict, model version, reasons.

A :class:`Decider` holds the current model (:class:`LoadedModel`, from a folder written by
:mod:`fraudstream.detect.registry`) and optional rules (a
:class:`~fraudstream.detect.rules.RuleDetector`, hot-reloadable). :meth:`Decider.decide` turns
one micro-batch into a decision frame, one row per transaction:

============== ================================================================================
column         meaning
============== ================================================================================
``score``      the model's score (higher = more suspicious); with rules only, the rules' score
``verdict``    ``fraud`` when the model's score >= its threshold or a rule fires with a score
               >= the rules' threshold, else ``legit``
``model_version``  ``<kind>-<content hash>`` of the model (``extra.version`` when saved), plus
               ``+rules`` when rules are used; ``rules-<hash>`` with rules only
``reasons``    JSON list of the top reasons, ``{"name", "weight", "by": "model"|"rules"}``,
               rules first: the features (model) and rule ids (rules) that drove the score
``pattern``    the first reason's name (the "Pattern" of the console alert), or None
============== ================================================================================

The model's feature set is read from its metadata (``extra.feature_set``,
``extra.experiment.feature_set`` or ``training.feature_set``; default ``default``):
:class:`Featurizer` keeps the streaming :class:`~fraudstream.features.FeatureEngine` for the
engine sets (``default``, ``handbook``) and computes the per-row sets (``seed002``, ``attrs``,
...) batch by batch.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudstream.detect import registry
from fraudstream.detect.base import Detector
from fraudstream.detect.rules import RuleDetector
from fraudstream.errors import ConfigError
from fraudstream.features import FeatureEngine, FeatureSpec
from fraudstream.records import LABEL_COLUMNS, inputs

__all__ = [
    "DECISION_COLUMNS",
    "Decider",
    "Featurizer",
    "LoadedModel",
    "feature_set_of",
    "load_model",
    "load_rules",
    "reason_weights",
    "reasons_json",
    "top_weights",
]

log = logging.getLogger(__name__)

DECISION_COLUMNS = (
    "tx_id",
    "ts",
    "customer_id",
    "amount",
    "score",
    "verdict",
    "model_version",
    "reasons",
    "pattern",
)
_ENGINE_SETS = {"default": FeatureSpec.default, "handbook": FeatureSpec.handbook}


@dataclass
class LoadedModel:
    """A fitted detector with where it came from and the feature set it needs."""

    detector: Detector
    version: str
    feature_set: str = "default"
    path: Path | None = None
    content_hash: str = ""


def feature_set_of(metadata: dict[str, Any]) -> str:
    """The feature set a saved model was trained on (see the module docstring)."""
    extra = metadata.get("extra") or {}
    return str(
        extra.get("feature_set")
        or (extra.get("experiment") or {}).get("feature_set")
        or (metadata.get("training") or {}).get("feature_set")
        or "default"
    )


def load_model(path: str | Path) -> LoadedModel:
    """Load a saved model folder (verified by the registry)."""
    folder = Path(path)
    metadata = registry.read_metadata(folder)
    detector = registry.load(folder)
    version = (metadata.get("extra") or {}).get(
        "version"
    ) or f"{metadata['kind']}-{metadata['content_hash'][:12]}"
    return LoadedModel(detector, str(version), feature_set_of(metadata), folder, metadata["content_hash"])


def load_rules(path: str | Path) -> tuple[RuleDetector, str]:
    """A rules detector from a YAML/JSON rules file, and its version ``rules-<hash>``."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12] if Path(path).is_file() else "none"
    detector = RuleDetector(rules=str(path))
    detector._validate_params()  # parse now: a bad file fails at start, not at the first batch
    return detector, f"rules-{digest}"


class Featurizer:
    """Streaming features of a feature set (``+``-joined parts)."""

    def __init__(self, feature_set: str = "default", engine: FeatureEngine | None = None) -> None:
        self.feature_set = feature_set
        self.parts = [p.strip() for p in feature_set.split("+") if p.strip()]
        engine_parts = [p for p in self.parts if p in _ENGINE_SETS]
        if len(engine_parts) > 1:
            raise ConfigError(
                f"feature set {feature_set!r} joins two engine sets; use one of {', '.join(_ENGINE_SETS)}"
            )
        if engine is None and engine_parts:
            engine = FeatureEngine(_ENGINE_SETS[engine_parts[0]]())
        self.engine = engine
        if not self.parts:
            raise ConfigError("feature set must not be empty")

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Features of one micro-batch (inputs only; label columns are dropped first)."""
        raw = inputs(frame)
        blocks = []
        for part in self.parts:
            if part in _ENGINE_SETS:
                assert self.engine is not None
                blocks.append(self.engine.transform_many(raw))
            else:
                from fraudstream.evaluate.featuresets import FEATURE_SETS, parse_feature_set

                parse_feature_set(part)
                blocks.append(FEATURE_SETS[part](raw, None))
        features = blocks[0] if len(blocks) == 1 else pd.concat(blocks, axis=1)
        return features.loc[:, ~features.columns.duplicated()]

    def learn_labels(self, tx_ids: Any, is_fraud: Any, known_at: Any) -> None:
        if self.engine is not None and len(tx_ids):
            self.engine.learn_labels(tx_ids, is_fraud, known_at)


class Decider:
    """Scores micro-batches with the current model and rules (see the module docstring)."""

    def __init__(
        self,
        model: LoadedModel | None = None,
        rules: RuleDetector | None = None,
        rules_version: str = "rules",
        *,
        top: int = 3,
    ) -> None:
        if model is None and rules is None:
            raise ConfigError("give a model (--model DIR) or rules (--rules FILE), or both")
        self.model = model
        self.rules = rules
        self.rules_version = rules_version
        self.top = top
        self._rules_fitted = False

    @property
    def version(self) -> str:
        if self.model is None:
            return self.rules_version
        return self.model.version + ("+rules" if self.rules is not None else "")

    def swap(self, model: LoadedModel) -> str:
        """Use ``model`` from the next batch on; returns the previous version."""
        previous = self.version
        self.model = model
        return previous

    def decide(self, frame: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
        """One decision per row of ``frame`` (canonical) given its ``features`` (same index).

        Columnar: the model's reason weights come as one matrix (path contributions for
        LightGBM, standardised deviations for the isolation forest, see :func:`reason_weights`),
        the top ``top`` per row are picked with ``argpartition`` and every row's JSON is built
        in one Arrow pass; only rows where a rule fired are put together one by one."""
        n = len(frame)
        version = self.version
        fraud = np.zeros(n, dtype=bool)
        score = np.zeros(n, dtype=np.float64)
        rule_reasons: dict[int, list[dict[str, Any]]] = {}
        if self.rules is not None:
            X = _with_inputs(features, frame)
            if not self._rules_fitted:
                self.rules.fit(X)
                self._rules_fitted = True
            rule_scores = self.rules.score_many(X)
            fired = rule_scores > 0
            fraud |= rule_scores >= self.rules.threshold_
            score = rule_scores
            if fired.any():
                rows = np.flatnonzero(fired)
                for row, row_reasons in zip(
                    rows.tolist(), self.rules.reasons_many(X.iloc[rows], self.top), strict=True
                ):
                    rule_reasons[row] = [
                        {"name": name, "weight": round(w, 6), "by": "rules"} for name, w in row_reasons
                    ]
        text: pa.Array | list[str]
        if self.model is not None:
            detector = self.model.detector
            weighted = reason_weights(detector, features)
            if weighted is not None:
                model_scores, weights, names = weighted
                index, picked = top_weights(weights, self.top)
                text, pattern = reasons_json(index, picked, names, "model")
            else:
                model_scores = detector.score_many(features)
                listed = detector.reasons_many(features, self.top)
                text, pattern = _listed_json([[(nm, w) for nm, w in r] for r in listed])
            fraud |= model_scores >= detector.threshold_
            score = model_scores
        else:
            text = pa.array(["[]"] * n, pa.string())
            pattern = np.full(n, None, dtype=object)
        if rule_reasons:
            text = text.to_pylist() if isinstance(text, pa.Array) else list(text)
            pattern = np.array(pattern, dtype=object)
            for row, reasons in rule_reasons.items():
                merged = (reasons + orjson.loads(text[row]))[: self.top]
                text[row] = orjson.dumps(merged).decode()
                pattern[row] = merged[0]["name"] if merged else None
        out = pd.DataFrame(
            {
                "tx_id": frame["tx_id"].to_numpy(),
                "ts": frame["ts"].array,  # keeps the time zone: no object array of Timestamps
                "customer_id": frame["customer_id"].to_numpy(),
                "amount": frame["amount"].to_numpy(),
                "score": score,
                "verdict": np.where(fraud, "fraud", "legit").astype(object),
                "model_version": version,
                # Arrow-backed: the store writes this JSON text as it is, with no Python str per row
                "reasons": pd.arrays.ArrowExtensionArray(text) if isinstance(text, pa.Array) else text,
                "pattern": pattern,
            }
        )
        return out


def reason_weights(
    detector: Detector, features: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """``(scores, weights, names)`` of a detector whose reasons are a weight matrix (LightGBM:
    path contributions; isolation forest and other deviation-reason detectors: standardised
    deviations from the training mean); ``None`` for the others (reasons listed row by row)."""
    if hasattr(detector, "score_and_paths"):
        try:
            scores, paths = detector.score_and_paths(features)
            return scores, paths, list(detector.feature_names_)
        except ConfigError:
            return None
    if getattr(detector, "kind", "") == "iforest":
        numeric = list(getattr(detector, "numeric_features_", []))
        scores = detector.score_many(features)
        if not numeric:
            return scores, np.zeros((len(features), 0)), []
        values = features[numeric].to_numpy(dtype=np.float64)
        std = np.where(detector.feature_std_ > 0, detector.feature_std_, 1.0)
        z = np.nan_to_num(np.abs((values - detector.feature_mean_) / std), nan=0.0)
        return scores, z, numeric
    return None


def top_weights(weights: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the columns of the ``top`` largest weights (largest first) and those weights.

    >>> index, picked = top_weights(np.array([[0.1, 0.5, 0.3, 0.0], [0.0, -1.0, 2.0, 1.0]]), 2)
    >>> index.tolist(), picked.tolist()
    ([[1, 2], [2, 3]], [[0.5, 0.3], [2.0, 1.0]])
    """
    k = min(top, weights.shape[1])
    if k == 0:
        return np.zeros((len(weights), 0), np.intp), np.zeros((len(weights), 0))
    if k <= 8:  # a few argmax passes: ordered, ties to the first feature, no per-row sort
        rest = weights.astype(np.float64, copy=True)
        rows = np.arange(len(rest))
        index = np.empty((len(rest), k), np.intp)
        for j in range(k):
            index[:, j] = rest.argmax(axis=1)
            rest[rows, index[:, j]] = -np.inf
        return index, np.take_along_axis(weights, index, axis=1)
    index = np.argpartition(-weights, k - 1, axis=1)[:, :k]
    picked = np.take_along_axis(weights, index, axis=1)
    order = np.lexsort((index, -picked), axis=1)  # largest first; ties: the first feature first
    return np.take_along_axis(index, order, axis=1), np.take_along_axis(picked, order, axis=1)


def reasons_json(
    index: np.ndarray, picked: np.ndarray, names: list[str], by: str
) -> tuple[pa.Array, np.ndarray]:
    """Each row's reasons as JSON text (the positive weights only, rounded to 6 digits), built
    column-wise, and each row's first reason name (the alert's pattern) or None.

    >>> text, pattern = reasons_json(np.array([[1, 0], [0, 1]]), np.array([[0.5, 0.25], [0.0, -1.0]]),
    ...                              ["a", "b"], "model")
    >>> text.to_pylist(), pattern.tolist()
    (['[{"name":"b","weight":0.5,"by":"model"},{"name":"a","weight":0.25,"by":"model"}]', '[]'], ['b', None])
    """
    n = len(index)
    if index.shape[1] == 0 or not names:
        return pa.array(["[]"] * n, pa.string()), np.full(n, None, dtype=object)
    quoted = pa.array([orjson.dumps(str(name)).decode() for name in names], pa.string())
    tail = f',"by":{orjson.dumps(by).decode()}}}'
    positive = picked > 0
    pieces: list[Any] = ["["]
    for j in range(index.shape[1]):
        name = quoted.take(pa.array(index[:, j]))
        weight = pc.cast(pa.array(np.round(picked[:, j], 6)), pa.string())
        item = pc.binary_join_element_wise("," if j else "", '{"name":', name, ',"weight":', weight, tail, "")
        pieces.append(pc.if_else(pa.array(positive[:, j]), item, ""))
    pieces.append("]")
    text = pc.binary_join_element_wise(*pieces, "")
    names_array = np.array([str(name) for name in names], dtype=object)
    pattern = np.where(positive[:, 0], names_array[index[:, 0]], None)
    return text, pattern


def _listed_json(listed: list[list[tuple[str, float]]]) -> tuple[list[str], np.ndarray]:
    dumps = orjson.dumps
    text = [
        dumps([{"name": name, "weight": round(w, 6), "by": "model"} for name, w in row]).decode()
        for row in listed
    ]
    return text, np.array([row[0][0] if row else None for row in listed], dtype=object)


def _with_inputs(features: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Features plus the numeric and bool input columns they lack (rules may name ``amount`` or attrs)."""
    extra = [
        c
        for c in frame.columns
        if c not in features.columns
        and c not in LABEL_COLUMNS
        and c not in ("tx_id", "ts")
        and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    if not extra:
        return features
    return pd.concat([features, frame[extra].set_axis(features.index)], axis=1)
