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
        """One decision per row of ``frame`` (canonical) given its ``features`` (same index)."""
        n = len(frame)
        version = self.version
        reasons: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        fraud = np.zeros(n, dtype=bool)
        score = np.zeros(n, dtype=np.float64)
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
                    reasons[row] = [
                        {"name": name, "weight": round(w, 6), "by": "rules"} for name, w in row_reasons
                    ]
        if self.model is not None:
            detector = self.model.detector
            model_scores = detector.score_many(features)
            fraud |= model_scores >= detector.threshold_
            score = model_scores
            for row, row_reasons in enumerate(detector.reasons_many(features, self.top)):
                reasons[row] += [
                    {"name": name, "weight": round(w, 6), "by": "model"} for name, w in row_reasons
                ]
        top = self.top
        pattern = [r[0]["name"] if r else None for r in reasons]
        dumps = orjson.dumps
        text = [dumps(r[:top] if len(r) > top else r).decode() for r in reasons]
        out = pd.DataFrame(
            {
                "tx_id": frame["tx_id"].to_numpy(),
                "ts": frame["ts"].to_numpy(),
                "customer_id": frame["customer_id"].to_numpy(),
                "amount": frame["amount"].to_numpy(),
                "score": score,
                "verdict": np.where(fraud, "fraud", "legit"),
                "model_version": version,
                "reasons": text,
                "pattern": pattern,
            }
        )
        out["ts"] = frame["ts"].reset_index(drop=True)
        return out


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
