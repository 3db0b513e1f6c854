"""Random forest (scikit-learn), supervised: the score is the forest's fraud probability.

Preset ``seed003``: seed 003's ``RandomForestClassifier(n_estimators=100, random_state=42)``.
The seed balanced its classes with SMOTE before a random split; here the classes are balanced
by weighting instead (``class_weight="balanced"``) and nothing is split at random.

- ``threshold_`` = 0.5 (scikit-learn's ``predict``) unless replaced with ``set_threshold``.
- Reasons: largest standardised deviations from the training mean (no per-row attribution).
- ``feature_importances_``: the forest's impurity importances, in ``feature_names_`` order.
- Saved with joblib (**pickle**): load only files you trust.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"amount": rng.gamma(2, 30, 500), "noise": rng.normal(size=500)})
>>> y = (X["amount"] > 120).to_numpy()
>>> detector = RandomForestDetector(n_estimators=20).fit(X, y)
>>> scores = detector.score_many(pd.DataFrame({"amount": [20.0, 400.0], "noise": [0.0, 0.0]}))
>>> bool(scores[1] > scores[0])
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from fraudstream.detect.base import Detector
from fraudstream.errors import ConfigError, InvalidRecord

__all__ = ["RandomForestDetector"]

_CLASS_WEIGHTS = ("balanced", "balanced_subsample", None)


class RandomForestDetector(Detector):
    """scikit-learn's RandomForestClassifier behind the detector interface."""

    kind: ClassVar[str] = "forest"

    def __init__(
        self,
        features: Sequence[str] | None = None,
        n_estimators: int = 100,
        max_depth: int | None = None,
        min_samples_leaf: int = 1,
        class_weight: str | None = "balanced",
        max_features: str | float | None = "sqrt",
        random_state: int | None = 42,
        n_jobs: int = 1,
    ) -> None:
        self.features = features
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.class_weight = class_weight
        self.max_features = max_features
        self.random_state = random_state
        self.n_jobs = n_jobs

    @classmethod
    def seed003(cls, features: Sequence[str] | None = None, **overrides: Any) -> RandomForestDetector:
        """Seed 003's forest: 100 trees, ``random_state=42``; class weighting instead of SMOTE."""
        params: dict[str, Any] = {"n_estimators": 100, "random_state": 42, "class_weight": "balanced"}
        params.update(overrides)
        return cls(features=features, **params)

    def _validate_params(self) -> None:
        if not isinstance(self.n_estimators, int) or self.n_estimators < 1:
            raise ConfigError(f"n_estimators must be an int >= 1, got {self.n_estimators!r}")
        if self.class_weight not in _CLASS_WEIGHTS:
            raise ConfigError(f"class_weight must be one of {_CLASS_WEIGHTS}, got {self.class_weight!r}")

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        if y is None:
            raise InvalidRecord("RandomForestDetector.fit: y is required (a supervised detector)")
        if y.min() == y.max():
            raise InvalidRecord(
                f"RandomForestDetector.fit: y must contain both classes, got only {int(y[0])}"
            )
        self.forest_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            class_weight=self.class_weight,
            max_features=self.max_features,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        self.forest_.fit(X.to_numpy(dtype=np.float64), y)
        self.feature_importances_ = self.forest_.feature_importances_
        self._remember_moments(X)
        self.threshold_ = 0.5

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        return self.forest_.predict_proba(X.to_numpy(dtype=np.float64))[:, 1]
