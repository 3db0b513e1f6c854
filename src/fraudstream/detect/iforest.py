"""IsolationForest (unsupervised), with the presets of seeds 001 and 004.

Score = ``-decision_function`` of scikit-learn's IsolationForest, so higher = more anomalous
and ``threshold_ = 0`` reproduces scikit-learn's ``predict == -1`` (the fitted ``offset_`` already
encodes ``contamination``); only an exact tie at 0 differs (flagged here, inlier there).

Presets:

- ``seed001``: ``StandardScaler`` on the numeric columns and
  ``OneHotEncoder(handle_unknown="ignore")`` on the categorical ones in a ``ColumnTransformer``;
  ``IsolationForest(n_estimators=100, contamination=0.15, random_state=42)``. The seed used
  ``amount, tx_hour`` and ``transaction_type, location, tx_day_of_week`` (:data:`SEED001_NUMERIC`,
  :data:`SEED001_CATEGORICAL`); pass your own column lists for other feature frames.
- ``seed004``: ``StandardScaler`` then
  ``IsolationForest(contamination=0.01, max_samples=0.8, random_state=42)`` on the numeric features
  (the seed's eight are :data:`SEED004_FEATURES`).

Reasons: the largest standardised deviations ``|x - mean| / std`` of the numeric features from
the training data (IsolationForest has no per-feature attribution).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"amount": rng.normal(50, 5, 200), "channel": rng.choice(["pos", "web"], 200)})
>>> detector = IsolationForestDetector.seed001(numeric=["amount"], categorical=["channel"]).fit(X)
>>> odd = pd.DataFrame({"amount": [50.0, 400.0], "channel": ["pos", "atm"]})
>>> detector.predict_many(odd).tolist()
[False, True]
>>> detector.reasons_many(odd)[1][0][0]
'amount'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fraudstream.detect.base import Detector, Reason, deviation_reasons
from fraudstream.errors import ConfigError, InvalidRecord

__all__ = [
    "SEED001_CATEGORICAL",
    "SEED001_NUMERIC",
    "SEED004_FEATURES",
    "IsolationForestDetector",
]

SEED001_NUMERIC = ("amount", "tx_hour")
SEED001_CATEGORICAL = ("transaction_type", "location", "tx_day_of_week")
SEED004_FEATURES = (
    "amt", "customer_avg_spending_last_7_days", "merchant_avg_spending_last_30_days", "transaction_hour",
    "day_of_week", "is_out_of_state", "total_spent_last_month", "category_deviation",
)


class IsolationForestDetector(Detector):
    """IsolationForest behind the detector interface.

    ``numeric`` / ``categorical``: column lists; ``None`` numeric = every numeric column not in
    ``categorical`` (ids and ``ts`` excluded). ``scale`` standardises numeric columns.
    """

    kind: ClassVar[str] = "iforest"
    numeric_only: ClassVar[bool] = False

    def __init__(self, numeric: Sequence[str] | None = None, categorical: Sequence[str] = (),
                 n_estimators: int = 100, contamination: float | str = "auto",
                 max_samples: float | int | str = "auto", scale: bool = True,
                 random_state: int | None = 42, n_jobs: int = 1) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.n_estimators = n_estimators
        self.contamination = contamination
        self.max_samples = max_samples
        self.scale = scale
        self.random_state = random_state
        self.n_jobs = n_jobs

    @classmethod
    def seed001(cls, numeric: Sequence[str] | None = SEED001_NUMERIC,
                categorical: Sequence[str] = SEED001_CATEGORICAL, **overrides: Any) -> IsolationForestDetector:
        """Seed 001's model: scaler + one-hot in a ColumnTransformer, contamination 0.15, 100 trees."""
        params: dict[str, Any] = {"n_estimators": 100, "contamination": 0.15, "random_state": 42}
        params.update(overrides)
        return cls(numeric=numeric, categorical=categorical, **params)

    @classmethod
    def seed004(cls, numeric: Sequence[str] | None = SEED004_FEATURES, **overrides: Any) -> IsolationForestDetector:
        """Seed 004's model: StandardScaler, contamination 0.01, max_samples 0.8, random_state 42."""
        params: dict[str, Any] = {"contamination": 0.01, "max_samples": 0.8, "random_state": 42}
        params.update(overrides)
        return cls(numeric=numeric, **params)

    def _validate_params(self) -> None:
        if not isinstance(self.n_estimators, int) or self.n_estimators < 1:
            raise ConfigError(f"n_estimators must be an int >= 1, got {self.n_estimators!r}")
        if self.contamination != "auto" and not (
                isinstance(self.contamination, float | int) and 0 < self.contamination <= 0.5):
            raise ConfigError(f"contamination must be 'auto' or in (0, 0.5], got {self.contamination!r}")

    def _explicit_features(self) -> list[str] | None:
        if self.numeric is None:
            return None
        return list(self.numeric) + [c for c in self.categorical if c not in self.numeric]

    def _choose_features(self, frame: pd.DataFrame) -> list[str]:
        categorical = list(self.categorical)
        missing = [c for c in categorical if c not in frame.columns]
        if missing:
            raise InvalidRecord(f"IsolationForestDetector.fit: categorical column {missing[0]} missing from X")
        if self.numeric is None:
            from fraudstream.detect.base import NON_FEATURE_COLUMNS

            numeric = [c for c in frame.columns if c not in NON_FEATURE_COLUMNS and c not in categorical
                       and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
        else:
            numeric = list(self.numeric)
            missing = [c for c in numeric if c not in frame.columns]
            if missing:
                raise InvalidRecord(f"IsolationForestDetector.fit: numeric column {missing[0]} missing from X")
            bad = [c for c in numeric if not (pd.api.types.is_numeric_dtype(frame[c])
                                              or pd.api.types.is_bool_dtype(frame[c]))]
            if bad:
                raise InvalidRecord(f"IsolationForestDetector.fit: numeric column {bad[0]} has dtype "
                                    f"{frame[bad[0]].dtype}; list it in categorical instead")
        if not numeric and not categorical:
            raise InvalidRecord("IsolationForestDetector.fit: no feature columns found")
        self.numeric_features_ = numeric
        self.categorical_features_ = categorical
        return numeric + categorical

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        numeric, categorical = self.numeric_features_, self.categorical_features_
        parts: list[tuple[str, Any, list[str]]] = []
        if numeric:
            parts.append(("numeric", StandardScaler() if self.scale else "passthrough", numeric))
        if categorical:
            parts.append(("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                          categorical))
        forest = IsolationForest(n_estimators=self.n_estimators, contamination=self.contamination,
                                 max_samples=self.max_samples, random_state=self.random_state,
                                 n_jobs=self.n_jobs)
        self.pipeline_ = Pipeline([("prepare", ColumnTransformer(parts, remainder="drop")),
                                   ("forest", forest)])
        self.pipeline_.fit(_categorical_as_str(X, categorical))
        self._remember_moments(X[numeric]) if numeric else None
        self.threshold_ = 0.0

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        return -self.pipeline_.decision_function(_categorical_as_str(X, self.categorical_features_))

    def _reasons(self, X: pd.DataFrame, top: int) -> list[list[Reason]]:
        numeric = self.numeric_features_
        if not numeric:
            return [[] for _ in range(len(X))]
        values = X[numeric].to_numpy(dtype=np.float64)
        return deviation_reasons(values, self.feature_mean_, self.feature_std_, numeric, top)


def _categorical_as_str(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """Categorical columns as strings, so that ints and strings never mix inside the encoder."""
    if not categorical:
        return X
    return X.assign(**{c: X[c].astype(str) for c in categorical})
