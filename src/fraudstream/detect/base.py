"""The detector contract: one small interface for rules, models and ensembles.

Every detector follows scikit-learn's conventions and River's granularity suffixes:

- ``__init__`` only stores parameters; ``get_params()`` returns them;
- ``fit(X, y=None)`` validates, learns, returns ``self``; learned state ends in ``_``
  (``feature_names_``, ``threshold_``, ``training_summary_`` and the model's own state);
- ``score_many(X) -> np.ndarray`` (float64, one score per row, **higher = more suspicious**);
  ``score_one(x)`` is a thin wrapper over a batch of one;
- ``predict_many(X)`` is ``score_many(X) >= threshold_``;
- ``reasons_many(X, top=3)`` says, per row, which features or rules drove the score;
- online detectors also have ``learn_one`` / ``learn_many(X, y)``.

Inputs are feature frames (pandas DataFrames). Label columns (``is_fraud``, ``fraud_pattern``)
are refused with :class:`~fraudstream.errors.LabelLeakError`; a detector used before ``fit``
raises :class:`~fraudstream.errors.NotFittedError`.

>>> import pandas as pd
>>> from fraudstream.detect.iforest import IsolationForestDetector
>>> X = pd.DataFrame({"amount": [10.0, 11.0, 9.5, 10.5, 500.0]})
>>> detector = IsolationForestDetector(n_estimators=20).fit(X)
>>> scores = detector.score_many(X)
>>> int(scores.argmax())
4
"""

from __future__ import annotations

import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError, InvalidRecord, NotFittedError
from fraudstream.records import ensure_no_labels

__all__ = [
    "NON_FEATURE_COLUMNS",
    "Detector",
    "Reason",
    "as_frame",
    "deviation_reasons",
    "labels_array",
    "require_extra",
    "top_reasons",
]

log = logging.getLogger(__name__)

NON_FEATURE_COLUMNS: tuple[str, ...] = ("tx_id", "ts", "customer_id", "merchant_id")
"""Identifier and time columns never used as features unless named explicitly."""

Reason = tuple[str, float]
"""One reason: (feature or rule name, weight). Larger weight = pushed the score up more."""


def require_extra(module: str, extra: str) -> Any:
    """Import ``module`` or raise an ImportError naming the extra that provides it."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise ImportError(
            f"{module} is not installed: install the '{extra}' extra, "
            f"e.g. pip install 'fraudstream[{extra}]'"
        ) from exc


def as_frame(X: Any, where: str) -> pd.DataFrame:
    """``X`` as a DataFrame: a DataFrame, a mapping of columns, or one record (mapping of scalars)."""
    if isinstance(X, pd.DataFrame):
        frame = X
    elif isinstance(X, Mapping):
        values = list(X.values())
        if values and all(np.ndim(v) == 0 for v in values):
            frame = pd.DataFrame({k: [v] for k, v in X.items()})
        else:
            frame = pd.DataFrame(dict(X))
    else:
        raise InvalidRecord(
            f"{where}: X must be a pandas DataFrame or a mapping of columns, got {type(X).__name__}"
        )
    ensure_no_labels(frame.columns, where)
    return frame


def labels_array(y: Any, n_rows: int, where: str) -> np.ndarray:
    """``y`` as a 0/1 int8 array of ``n_rows``; raises naming what is wrong."""
    values = np.asarray(y)
    if values.shape != (n_rows,):
        raise InvalidRecord(f"{where}: y must have one label per row ({n_rows}), got shape {values.shape}")
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise InvalidRecord(f"{where}: y must not contain NaN")
    labels = values.astype(np.int8)
    if not np.isin(labels, (0, 1)).all():
        bad = values[~np.isin(labels, (0, 1))][0]
        raise InvalidRecord(f"{where}: y must be 0/1 or bool, got {bad!r}")
    return labels


def top_reasons(weights: np.ndarray, names: Sequence[str], top: int) -> list[list[Reason]]:
    """Per row, the ``top`` names with the largest positive weights (vectorised argsort)."""
    if weights.size == 0:
        return [[] for _ in range(weights.shape[0])]
    order = np.argsort(-weights, axis=1, kind="stable")[:, :top]
    picked = np.take_along_axis(weights, order, axis=1)
    return [
        [(names[j], float(w)) for j, w in zip(row_order, row_w, strict=True) if w > 0]
        for row_order, row_w in zip(order, picked, strict=True)
    ]


def deviation_reasons(values: np.ndarray, mean: np.ndarray, std: np.ndarray,
                      names: Sequence[str], top: int) -> list[list[Reason]]:
    """Reasons as the largest absolute standardised deviations ``|x - mean| / std`` from training."""
    safe_std = np.where(std > 0, std, 1.0)
    z = np.abs((values - mean) / safe_std)
    return top_reasons(np.nan_to_num(z, nan=0.0), names, top)


class Detector(ABC):
    """Base class of every detector; subclasses implement ``_fit`` and ``_score``."""

    kind: ClassVar[str] = "detector"
    """Registry name of the detector class (``rules``, ``iforest``, ...)."""
    online: ClassVar[bool] = False
    """Whether the detector learns incrementally (``learn_one`` / ``learn_many``)."""
    numeric_only: ClassVar[bool] = True
    """Whether the detector accepts only numeric (and bool) feature columns."""
    libraries: ClassVar[dict[str, int]] = {"scikit-learn": 2, "joblib": 1}
    """Libraries the saved state depends on -> version parts that must match at load
    (2 = major.minor, 1 = major). Checked by :mod:`fraudstream.detect.registry`."""

    # -- parameters -------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as given (scikit-learn convention)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- fit / score ------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> Detector:
        """Learn from the feature frame ``X`` (and labels ``y`` where supervised); return ``self``."""
        where = f"{type(self).__name__}.fit"
        frame = as_frame(X, where)
        if len(frame) == 0:
            raise InvalidRecord(f"{where}: X has no rows; fit needs at least one")
        self._validate_params()
        labels = None if y is None else labels_array(y, len(frame), where)
        self.feature_names_ = self._choose_features(frame)
        self.training_summary_ = _training_summary(frame, labels)
        features = frame[self.feature_names_]
        self.__dict__.pop("threshold_", None)
        self._fit(features, labels)
        if not hasattr(self, "threshold_"):
            self.threshold_ = float(getattr(self, "threshold", None) or 0.5)
        return self

    def score_many(self, X: Any) -> np.ndarray:
        """One score per row, higher = more suspicious (float64)."""
        features = self._features(X, f"{type(self).__name__}.score_many")
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self._score(features), dtype=np.float64)

    def score_one(self, x: Mapping[str, Any]) -> float:
        """The score of one record given as a mapping ``{feature: value}``."""
        return float(self.score_many(as_frame(dict(x), f"{type(self).__name__}.score_one"))[0])

    def predict_many(self, X: Any) -> np.ndarray:
        """``score >= threshold_`` per row (bool)."""
        self._check_fitted()
        return self.score_many(X) >= self.threshold_

    def reasons_many(self, X: Any, top: int = 3) -> list[list[Reason]]:
        """Per row, up to ``top`` (name, weight) pairs that drove the score, largest first."""
        if top < 1:
            raise ConfigError(f"top must be >= 1, got {top}")
        features = self._features(X, f"{type(self).__name__}.reasons_many")
        if len(features) == 0:
            return []
        return self._reasons(features, top)

    def set_threshold(self, threshold: float) -> Detector:
        """Replace the fitted ``threshold_`` (e.g. by one from :mod:`fraudstream.evaluate.thresholds`)."""
        self._check_fitted()
        self.threshold_ = float(threshold)
        return self

    # -- online -------------------------------------------------------------------------------
    def learn_one(self, x: Mapping[str, Any], y: Any = None) -> Detector:
        """Learn from one record (online detectors only): a thin wrapper over ``learn_many``."""
        frame = as_frame(dict(x), f"{type(self).__name__}.learn_one")
        return self.learn_many(frame, None if y is None else [y])

    def learn_many(self, X: Any, y: Any = None) -> Detector:
        """Update an online detector with labelled (or, for anomaly models, unlabelled) rows."""
        raise NotImplementedError(f"{type(self).__name__} is not an online detector; refit it with fit()")

    # -- hooks for subclasses -----------------------------------------------------------------
    def _validate_params(self) -> None:  # noqa: B027 - optional hook
        """Check parameters; raise ConfigError naming the bad one. Called at fit."""

    @abstractmethod
    def _fit(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        """Learn from the selected feature columns."""

    @abstractmethod
    def _score(self, X: pd.DataFrame) -> np.ndarray:
        """Scores of the selected feature columns (higher = more suspicious)."""

    def _reasons(self, X: pd.DataFrame, top: int) -> list[list[Reason]]:
        """Default: largest standardised deviations from the training mean."""
        values = X.to_numpy(dtype=np.float64)
        return deviation_reasons(values, self.feature_mean_, self.feature_std_, self.feature_names_, top)

    def _remember_moments(self, X: pd.DataFrame) -> None:
        """Store training mean/std of numeric features (for deviation reasons)."""
        values = X.to_numpy(dtype=np.float64)
        self.feature_mean_ = np.nanmean(values, axis=0) if len(values) else np.zeros(values.shape[1])
        self.feature_std_ = np.nanstd(values, axis=0) if len(values) else np.ones(values.shape[1])

    # -- persistence (used by fraudstream.detect.registry) ----------------------------------------
    _METADATA_STATE: ClassVar[tuple[str, ...]] = ("feature_names_", "threshold_", "training_summary_")

    def _save_state(self, folder: Path) -> list[str]:
        """Write the learned state into ``folder``; return the file names. Default: joblib (pickle)."""
        import joblib

        state = {k: v for k, v in vars(self).items()
                 if k.endswith("_") and not k.startswith("_") and k not in self._METADATA_STATE}
        joblib.dump(state, folder / "model.joblib")
        return ["model.joblib"]

    def _load_state(self, folder: Path) -> None:
        """Restore what :meth:`_save_state` wrote (the registry has checked the file hashes)."""
        import joblib

        self.__dict__.update(joblib.load(folder / "model.joblib"))

    @classmethod
    def _construct(cls, params: dict[str, Any], folder: Path) -> Detector:
        """A new unfitted instance from saved parameters."""
        return cls(**params)

    # -- feature selection and checks --------------------------------------------------------------
    def _explicit_features(self) -> list[str] | None:
        features = getattr(self, "features", None)
        return None if features is None else list(features)

    def _choose_features(self, frame: pd.DataFrame) -> list[str]:
        where = f"{type(self).__name__}.fit"
        explicit = self._explicit_features()
        if explicit is not None:
            _require_columns(frame, explicit, where)
            names = explicit
        else:
            names = [c for c in frame.columns if c not in NON_FEATURE_COLUMNS
                     and (not self.numeric_only or _is_numeric(frame[c]))]
        if not names:
            raise InvalidRecord(f"{where}: no feature columns found among {list(frame.columns)}; "
                                "pass features=[...] or numeric columns")
        if self.numeric_only:
            bad = [c for c in names if not _is_numeric(frame[c])]
            if bad:
                raise InvalidRecord(f"{where}: feature {bad[0]} has dtype {frame[bad[0]].dtype}; "
                                    f"{type(self).__name__} accepts numeric or bool columns only")
        return names

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(X, y) first")

    def _features(self, X: Any, where: str) -> pd.DataFrame:
        self._check_fitted()
        frame = as_frame(X, where)
        if frame.columns.equals(self._feature_index()):
            return frame  # already the feature columns in order: no copy (the scoring hot path)
        _require_columns(frame, self.feature_names_, where)
        return frame[self.feature_names_]

    def _feature_index(self) -> pd.Index:
        cached = self.__dict__.get("_feature_index_cache")
        if cached is None or cached[0] is not self.feature_names_:  # refit or load: rebuild
            cached = (self.feature_names_, pd.Index(self.feature_names_))
            self.__dict__["_feature_index_cache"] = cached
        return cached[1]


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _require_columns(frame: pd.DataFrame, names: Iterable[str], where: str) -> None:
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise InvalidRecord(f"{where}: feature column(s) {', '.join(missing)} missing from X; "
                            f"the detector needs {list(names)}")


def _training_summary(frame: pd.DataFrame, labels: np.ndarray | None) -> dict[str, Any]:
    summary: dict[str, Any] = {"rows": len(frame), "fraud_rate": None, "time_range": None}
    if labels is not None:
        summary["fraud_rate"] = float(labels.mean())
    if "ts" in frame.columns and pd.api.types.is_datetime64_any_dtype(frame["ts"]):
        summary["time_range"] = [frame["ts"].min().isoformat(), frame["ts"].max().isoformat()]
    return summary
