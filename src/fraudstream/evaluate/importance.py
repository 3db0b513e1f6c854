"""Feature importance of a fitted detector, for the report.

- ``gbm``: LightGBM's total split gain per feature, normalised to sum 1 (``method="gain"``);
- ``forest``: the forest's impurity importances (``method="impurity"``);
- any other detector: permutation importance — the drop in average precision when one column is
  shuffled, on at most ``max_rows`` rows (seeded, so repeatable; ``method="permutation_ap"``).

>>> import numpy as np, pandas as pd
>>> from fraudstream.detect.iforest import IsolationForestDetector
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"amount": np.r_[rng.normal(10, 1, 300), [80.0] * 10], "noise": rng.normal(size=310)})
>>> y = np.r_[np.zeros(300), np.ones(10)]
>>> result = feature_importance(IsolationForestDetector(n_estimators=30).fit(X), X, y)
>>> result["method"], result["names"][0]
('permutation_ap', 'amount')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fraudstream.detect.base import Detector
from fraudstream.evaluate.metrics import average_precision

__all__ = ["feature_importance"]


def feature_importance(
    detector: Detector, X: pd.DataFrame | None = None, y: Any = None, *, max_rows: int = 20_000, seed: int = 0
) -> dict[str, Any]:
    """``{"method", "names", "values"}``, largest first."""
    names = list(detector.feature_names_)
    if detector.kind == "gbm" and hasattr(detector, "booster_"):
        gain = np.asarray(detector.booster_.feature_importance(importance_type="gain"), dtype=np.float64)
        values, method = gain / max(gain.sum(), 1e-12), "gain"
    elif hasattr(detector, "feature_importances_"):
        values, method = np.asarray(detector.feature_importances_, dtype=np.float64), "impurity"
    elif X is not None and y is not None and 0 < np.asarray(y).sum() < len(np.asarray(y)):
        values, method = (
            _permutation(detector, X, np.asarray(y).astype(np.int8), max_rows, seed),
            "permutation_ap",
        )
    else:
        return {"method": "none", "names": [], "values": []}
    order = np.argsort(-values, kind="stable")
    return {"method": method, "names": [names[i] for i in order], "values": values[order].tolist()}


def _permutation(detector: Detector, X: pd.DataFrame, y: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if len(X) > max_rows:
        rows = np.sort(rng.choice(len(X), max_rows, replace=False))
        X, y = X.iloc[rows], y[rows]
        if y.sum() == 0:
            return np.zeros(len(detector.feature_names_))
    frame = X[detector.feature_names_].reset_index(drop=True)
    base = average_precision(y, detector.score_many(frame))
    drops = []
    for name in detector.feature_names_:
        shuffled = frame.copy()
        shuffled[name] = frame[name].to_numpy()[rng.permutation(len(frame))]
        drops.append(base - average_precision(y, detector.score_many(shuffled)))
    return np.asarray(drops, dtype=np.float64)
