"""An ensemble of detectors: rank-averaged (default) or weighted raw scores, reasons merged.

``members``: a mapping ``{name: detector}`` (or a list of ``(name, detector)``); ``fit`` fits
every member on the same frame (each picks its own feature columns; ``y`` goes to every member —
unsupervised ones ignore it or use it as their docs say). Members are fitted in place.

- ``method="rank"``: each member's score becomes its rank among that member's **training**
  scores (an empirical CDF over ``n_quantiles`` quantiles, linear in between, 0..1), so scales do
  not matter and a row's score never depends on the other rows of its batch; the ensemble score is
  the weighted mean of these ranks.
- ``method="weighted"``: the weighted mean of the raw member scores (only sensible when they
  share a scale, e.g. probabilities).

``threshold_`` is the ``1 - contamination`` quantile of the ensemble's training scores.
Reasons: each member's reasons, normalised so that its strongest reason weighs 1, times the
member weight, summed by name across members; names are features or rule ids.

>>> import numpy as np, pandas as pd
>>> from fraudstream.detect.iforest import IsolationForestDetector
>>> from fraudstream.detect.rules import RuleDetector
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"amount": rng.gamma(2, 30, 500)})
>>> ensemble = EnsembleDetector({
...     "rules": RuleDetector(rules=[{"id": "big", "feature": "amount", "op": ">", "value": 220}]),
...     "forest": IsolationForestDetector(n_estimators=50)}).fit(X)
>>> scores = ensemble.score_many(pd.DataFrame({"amount": [50.0, 900.0]}))
>>> bool(scores[1] > scores[0])
True
>>> [name for name, _ in ensemble.reasons_many(pd.DataFrame({"amount": [900.0]}))[0]]
['big', 'amount']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fraudstream.detect.base import Detector, Reason, as_frame, labels_array
from fraudstream.errors import ConfigError, InvalidRecord, NotFittedError

__all__ = ["EnsembleDetector"]

_METHODS = ("rank", "weighted")


class EnsembleDetector(Detector):
    """Combine several detectors into one score."""

    kind: ClassVar[str] = "ensemble"
    numeric_only: ClassVar[bool] = False
    libraries: ClassVar[dict[str, int]] = {}

    def __init__(self, members: Mapping[str, Detector] | Sequence[tuple[str, Detector]],
                 weights: Mapping[str, float] | None = None, method: str = "rank",
                 contamination: float = 0.01, n_quantiles: int = 1001) -> None:
        self.members = members
        self.weights = weights
        self.method = method
        self.contamination = contamination
        self.n_quantiles = n_quantiles

    def _named_members(self) -> list[tuple[str, Detector]]:
        items = list(self.members.items()) if isinstance(self.members, Mapping) else list(self.members)
        if not items:
            raise ConfigError("members must name at least one detector")
        names = [name for name, _ in items]
        if len(set(names)) != len(names):
            raise ConfigError(f"member names must be unique, got {names}")
        for name, member in items:
            if not isinstance(member, Detector):
                raise ConfigError(f"member {name} must be a Detector, got {type(member).__name__}")
        return items

    def _validate_params(self) -> None:
        if self.method not in _METHODS:
            raise ConfigError(f"method must be one of {', '.join(_METHODS)}, got {self.method!r}")
        if not 0 < self.contamination < 1:
            raise ConfigError(f"contamination must be in (0, 1), got {self.contamination!r}")
        names = [name for name, _ in self._named_members()]
        unknown = sorted(set(self.weights or {}) - set(names))
        if unknown:
            raise ConfigError(f"weights name unknown member {unknown[0]}; members: {', '.join(names)}")

    def fit(self, X: Any, y: Any = None) -> EnsembleDetector:
        frame = as_frame(X, "EnsembleDetector.fit")
        if len(frame) == 0:
            raise InvalidRecord("EnsembleDetector.fit: X has no rows; fit needs at least one")
        self._validate_params()
        if y is not None:
            labels_array(y, len(frame), "EnsembleDetector.fit")
        members = self._named_members()
        for _, member in members:
            member.fit(frame, y)
        self.members_ = members
        self._finish(frame)
        return self

    def _finish(self, frame: pd.DataFrame | None) -> None:
        members = self.members_
        self.weights_ = np.array([float((self.weights or {}).get(n, 1.0)) for n, _ in members])
        if (self.weights_ < 0).any() or self.weights_.sum() <= 0:
            raise ConfigError(f"weights must be >= 0 with a positive sum, got {self.weights_.tolist()}")
        seen: dict[str, None] = {}
        for _, member in members:
            seen.update(dict.fromkeys(member.feature_names_))
        self.feature_names_ = list(seen)
        if frame is None:
            return
        self.training_summary_ = members[0][1].training_summary_
        raw = np.column_stack([m.score_many(frame) for _, m in members])
        levels = np.linspace(0.0, 1.0, self.n_quantiles)
        self.reference_ = np.quantile(raw, levels, axis=0).T  # member x quantile
        self.threshold_ = float(np.quantile(self._combine(raw), 1 - self.contamination))

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise NotFittedError("EnsembleDetector is not fitted yet: call fit(X, y) first")

    def _combine(self, raw: np.ndarray) -> np.ndarray:
        if self.method == "rank":
            levels = np.linspace(0.0, 1.0, self.reference_.shape[1])
            columns = [np.interp(raw[:, j], self.reference_[j], levels) for j in range(raw.shape[1])]
            raw = np.column_stack(columns)
        return raw @ self.weights_ / self.weights_.sum()

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None) -> None:  # pragma: no cover - fit overridden
        raise NotImplementedError

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        return self._combine(np.column_stack([m.score_many(X) for _, m in self.members_]))

    def _reasons(self, X: pd.DataFrame, top: int) -> list[list[Reason]]:
        merged: list[dict[str, float]] = [{} for _ in range(len(X))]
        for (_, member), weight in zip(self.members_, self.weights_, strict=True):
            for row, reasons in enumerate(member.reasons_many(X, top=top)):
                if not reasons:
                    continue
                strongest = max(w for _, w in reasons)
                for name, w in reasons:
                    merged[row][name] = merged[row].get(name, 0.0) + weight * w / strongest
        return [sorted(row.items(), key=lambda item: -item[1])[:top] for row in merged]

    # -- persistence: one model folder per member ---------------------------------------------------
    def _params_for_metadata(self) -> dict[str, Any]:
        params = self.get_params()
        params["members"] = [[name, member.kind] for name, member in self.members_]
        return params

    def _save_state(self, folder: Path) -> list[str]:
        from fraudstream.detect import registry

        for name, member in self.members_:
            registry.save(member, folder / "members" / name)
        np.savez(folder / "state.npz", reference=self.reference_)
        return ["state.npz"]

    @classmethod
    def _construct(cls, params: dict[str, Any], folder: Path) -> EnsembleDetector:
        from fraudstream.detect import registry

        names = [name for name, _kind in params.pop("members")]
        members = [(name, registry.load(folder / "members" / name)) for name in names]
        return cls(members=members, **params)

    def _load_state(self, folder: Path) -> None:
        self.members_ = self._named_members()
        self._finish(None)
        with np.load(folder / "state.npz", allow_pickle=False) as state:
            self.reference_ = state["reference"]
