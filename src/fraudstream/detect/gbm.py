"""Gradient-boosted trees (LightGBM), supervised: the score is the predicted fraud probability.

- **Imbalance**: ``imbalance="sqrt"`` (default) sets ``scale_pos_weight = sqrt(n_legit / n_fraud)``;
  ``"balanced"`` uses ``n_legit / n_fraud``; ``"none"`` leaves the classes as they are.
- **Early stopping** on a time-ordered validation slice: the **last** ``validation_fraction`` of
  the training rows in the given order (sort the frame by time first), never a random sample.
  Training stops after ``early_stopping_rounds`` rounds without a better validation average
  precision; ``best_iteration_`` is kept. When the slice holds no fraud (or no legit) row, all
  rows are used for training and ``n_estimators`` rounds are run (logged).
- **Threshold**: ``threshold_`` maximises F1 on the validation slice (0.5 when it has no fraud).
- **Scoring**: the booster is compiled once (per booster and ``best_iteration_``: again after
  load, refit or a swapped booster) into a :class:`~fraudstream.detect.treescorer.TreeScorer`,
  numpy tables scored by numba kernels: ``score_many``, ``score_one`` and
  ``score_and_paths`` give LightGBM's ``predict`` values (raw score bit for bit in our tests) at
  about 2 us per row in micro-batches of 1,000 instead of about 35 us. A model the scorer cannot
  hold (categorical splits, more than 64 leaves per tree, ...) is scored by LightGBM (logged).
- **Reasons**: per-row SHAP contributions from LightGBM's ``pred_contrib`` (log-odds units); the
  features with the largest positive contributions are given. TreeSHAP costs about a
  millisecond per row with a few hundred trees, too slow for a live stream:
  :meth:`GradientBoostingDetector.score_and_paths` gives the score and the **path
  contributions** (Saabas: each split's change of the node value, credited to its feature; they
  sum to the raw score like SHAP values do) of every row in the same compiled pass, a few
  microseconds per row.
- Deterministic: ``deterministic=True``, ``force_row_wise``, one seed (``random_state``).
- Saved as LightGBM's own text model format (no pickle).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"amount": rng.gamma(2, 30, 2000), "noise": rng.normal(size=2000)})
>>> y = (X["amount"] > 150).to_numpy()
>>> detector = GradientBoostingDetector(n_estimators=50).fit(X, y)
>>> scores = detector.score_many(pd.DataFrame({"amount": [20.0, 400.0], "noise": [0.0, 0.0]}))
>>> bool(scores[1] > scores[0])
True
>>> detector.reasons_many(pd.DataFrame({"amount": [400.0], "noise": [0.0]}), top=1)[0][0][0]
'amount'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fraudstream.detect.base import Detector, Reason, require_extra, top_reasons
from fraudstream.detect.treescorer import TreeScorer
from fraudstream.errors import ConfigError, InvalidRecord, ModelFileError
from fraudstream.records import ensure_no_labels

__all__ = ["GradientBoostingDetector", "best_f1_threshold"]

log = logging.getLogger(__name__)
_IMBALANCE = ("sqrt", "balanced", "none")


def best_f1_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold (flag ``score >= t``) with the highest F1 on ``(y, scores)``.

    >>> best_f1_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.35
    """
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_y = scores[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    tp = np.cumsum(sorted_y)[distinct]
    flagged = distinct + 1
    f1 = 2 * tp / (flagged + y.sum())
    return float(sorted_scores[distinct][int(np.argmax(f1))])


class GradientBoostingDetector(Detector):
    """LightGBM binary classifier behind the detector interface (needs the ``gbm`` extra)."""

    kind: ClassVar[str] = "gbm"
    libraries: ClassVar[dict[str, int]] = {"lightgbm": 1}

    def __init__(self, features: Sequence[str] | None = None, n_estimators: int = 500,
                 learning_rate: float = 0.05, num_leaves: int = 31, max_depth: int = -1,
                 min_child_samples: int = 20, subsample: float = 1.0, colsample_bytree: float = 1.0,
                 reg_lambda: float = 0.0, imbalance: str = "sqrt", validation_fraction: float = 0.2,
                 early_stopping_rounds: int = 50, random_state: int | None = 42, n_jobs: int = 1) -> None:
        self.features = features
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.imbalance = imbalance
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _validate_params(self) -> None:
        require_extra("lightgbm", "gbm")
        if self.imbalance not in _IMBALANCE:
            raise ConfigError(f"imbalance must be one of {', '.join(_IMBALANCE)}, got {self.imbalance!r}")
        if not isinstance(self.n_estimators, int) or self.n_estimators < 1:
            raise ConfigError(f"n_estimators must be an int >= 1, got {self.n_estimators!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ConfigError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")

    def _params(self, n_legit: int, n_fraud: int) -> dict[str, Any]:
        ratio = n_legit / max(n_fraud, 1)
        weight = {"sqrt": np.sqrt(ratio), "balanced": ratio, "none": 1.0}[self.imbalance]
        return {
            "objective": "binary", "metric": "average_precision", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "max_depth": self.max_depth,
            "min_child_samples": self.min_child_samples, "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0, "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda, "scale_pos_weight": float(weight),
            "seed": 0 if self.random_state is None else self.random_state, "deterministic": True,
            "force_row_wise": True, "num_threads": self.n_jobs, "verbose": -1,
        }

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        lgb = require_extra("lightgbm", "gbm")
        if y is None:
            raise InvalidRecord("GradientBoostingDetector.fit: y is required (a supervised detector)")
        if y.min() == y.max():
            raise InvalidRecord("GradientBoostingDetector.fit: y must contain both classes, got only "
                                f"{int(y[0])}")
        values = X.to_numpy(dtype=np.float64)
        cut = len(values) - int(round(len(values) * self.validation_fraction))
        val_y = y[cut:]
        params = self._params(int((y == 0).sum()), int(y.sum()))
        names = list(self.feature_names_)
        if self.validation_fraction > 0 and 0 < val_y.sum() < len(val_y):
            train = lgb.Dataset(values[:cut], label=y[:cut], feature_name=names, free_raw_data=True)
            valid = lgb.Dataset(values[cut:], label=val_y, reference=train)
            self.booster_ = lgb.train(params, train, num_boost_round=self.n_estimators, valid_sets=[valid],
                                      callbacks=[lgb.early_stopping(self.early_stopping_rounds,
                                                                    verbose=False)])
            self.best_iteration_ = int(self.booster_.best_iteration or self.n_estimators)
            self.threshold_ = best_f1_threshold(val_y, self._predict(values[cut:]))
        else:
            log.info("GradientBoostingDetector: validation slice has a single class; "
                     "training on all rows for %d rounds without early stopping", self.n_estimators)
            train = lgb.Dataset(values, label=y, feature_name=names)
            self.booster_ = lgb.train(params, train, num_boost_round=self.n_estimators)
            self.best_iteration_ = self.n_estimators
            self.threshold_ = 0.5

    def _predict(self, values: np.ndarray) -> np.ndarray:
        scorer = self._scorer()
        return self._lightgbm(values) if scorer is None else scorer.probability_many(values)

    def _lightgbm(self, values: np.ndarray, **kwargs: Any) -> np.ndarray:
        # n_jobs threads (default 1): LightGBM's default, all cores, costs milliseconds of OpenMP
        # start-up and spinning per call, which dominates a micro-batch of a few hundred rows
        threads = max(1, int(getattr(self, "n_jobs", 1) or 1))
        return self.booster_.predict(values, num_iteration=self.best_iteration_, num_threads=threads, **kwargs)

    def _scorer(self) -> TreeScorer | None:
        """The model compiled into a :class:`TreeScorer`, built once per booster and number of
        trees (so again after load, refit or a swapped booster); ``None`` when it cannot be compiled
        (e.g. categorical splits): then LightGBM scores, as logged once."""
        key = (self.booster_, self.best_iteration_)
        cached = self.__dict__.get("_compiled")
        if cached is not None and cached[0][0] is key[0] and cached[0][1] == key[1]:
            return cached[1]
        try:
            scorer: TreeScorer | None = TreeScorer.from_booster(self.booster_, num_iteration=self.best_iteration_)
        except ModelFileError as exc:
            log.warning("GradientBoostingDetector: scoring with LightGBM, the model cannot be compiled: %s", exc)
            scorer = None
        self.__dict__["_compiled"] = (key, scorer)
        return scorer

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        return self._predict(X.to_numpy(dtype=np.float64))

    def score_one(self, x: Mapping[str, Any]) -> float:
        """The score of one record ``{feature: value}`` without building a DataFrame (the
        one-transaction hot path; same value as :meth:`score_many` of a batch of one)."""
        self._check_fitted()
        ensure_no_labels(x.keys(), "GradientBoostingDetector.score_one")
        missing = [name for name in self.feature_names_ if name not in x]
        if missing:
            raise InvalidRecord(f"GradientBoostingDetector.score_one: feature(s) {', '.join(missing)} "
                                f"missing from x; the detector needs {list(self.feature_names_)}")
        row = np.array([[x[name] for name in self.feature_names_]], dtype=np.float64)
        return float(self._predict(row)[0])

    def _reasons(self, X: pd.DataFrame, top: int) -> list[list[Reason]]:
        contributions = self._lightgbm(X.to_numpy(dtype=np.float64), pred_contrib=True)
        return top_reasons(np.asarray(contributions)[:, :-1], self.feature_names_, top)

    def score_and_paths(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, contributions)``: the fraud probability of each row (as :meth:`score_many`)
        and its path contributions per feature, shape ``(rows, features)``, in log-odds (see the
        module docstring), from one pass of the compiled model. A model that cannot be compiled
        gives LightGBM's SHAP values instead (``pred_contrib``, about a millisecond per row).

        >>> rng = np.random.default_rng(1)
        >>> X = pd.DataFrame({"amount": rng.gamma(2, 30, 1000), "noise": rng.normal(size=1000)})
        >>> detector = GradientBoostingDetector(n_estimators=20).fit(X, (X["amount"] > 120).to_numpy())
        >>> scores, paths = detector.score_and_paths(X.head(5))
        >>> bool(np.array_equal(scores, detector.score_many(X.head(5)))), paths.shape
        (True, (5, 2))
        """
        values = self._features(X, "GradientBoostingDetector.score_and_paths").to_numpy(dtype=np.float64)
        scorer = self._scorer()
        if scorer is None:
            return self._lightgbm(values), np.asarray(self._lightgbm(values, pred_contrib=True))[:, :-1]
        raw, contributions = scorer.paths_many(values)
        return scorer.probability(raw), contributions

    # -- persistence (used by fraudstream.detect.registry) ----------------------------------------
    def _save_state(self, folder: Path) -> list[str]:
        self.booster_.save_model(str(folder / "model.txt"), num_iteration=self.best_iteration_)
        return ["model.txt"]

    def _load_state(self, folder: Path) -> None:
        lgb = require_extra("lightgbm", "gbm")
        try:
            self.booster_ = lgb.Booster(model_file=str(folder / "model.txt"))
        except lgb.basic.LightGBMError as exc:
            raise ModelFileError(f"{folder / 'model.txt'}: not a LightGBM model ({exc})") from None
        self.best_iteration_ = self.booster_.num_trees()
        self._scorer()  # compiled here, so that a hot-swapped model scores its first batch at full speed
