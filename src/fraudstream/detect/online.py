"""Online learners from River that keep learning from delayed labels while the stream runs.

``model="logistic"`` (default): a :class:`~fraudstream.detect.scaling.RunningStandardiser`
(guarded, soft-clipped standardisation whose moments grow with every learned chunk) feeding a River
``LogisticRegression``, learned with River's mini-batch API (``learn_many``: one optimiser step
per mini-batch of ``batch_size`` rows); score = predicted fraud probability; reasons = weight x
standardised value per feature. ``bins`` (>= 2) adds, per feature, a
step input ``x > q`` at each of its training quantiles ``1/bins .. (bins-1)/bins`` (edges fixed at
``fit``): the regression becomes a piecewise-constant plus linear additive model, able to learn a
threshold such as "amount above 220". ``log_inputs`` puts every input through ``sign(x) log(1 + |x|)``
before standardising (heavy-tailed counts and amount ratios become nearly linear). ``optimizer``
is ``sgd`` (learning rate ``learning_rate``),
``adam`` or ``adagrad``; ``pos_weight`` weighs the fraud rows in the log loss (class imbalance).
River's own ``StandardScaler`` is not used: its mini-batch variance ``E[x²] - mean²`` goes negative
on large, nearly constant columns (the default feature set has some) and its transform then fails
with a ``complex`` error.

``model="hst"``: River ``MinMaxScaler | HalfSpaceTrees`` (unsupervised); score = HST anomaly
score in [0, 1]; labelled rows given to ``learn_many`` teach it legitimate behaviour only (fraud
rows are skipped). HST has only per-row methods, so scoring loops over rows in Python (slow:
prefer ``logistic`` on hot paths). Reasons: largest standardised deviations from the data seen
at ``fit``.

Delayed labels: a stream scores transactions now and learns them when their labels arrive.
``remember_many(tx_ids, X)`` keeps the features of scored transactions (at most
``max_pending``, oldest dropped first) and ``learn_labels(tx_ids, is_fraud)`` learns the ones it
still holds and forgets them. ``learn_many(X, y)`` learns rows directly.

The River model is saved with joblib (pickle): load only files you trust — the registry checks a
SHA-256 content hash before unpickling.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"amount": rng.gamma(2, 30, 2000)})
>>> y = (X["amount"] > 150).to_numpy()
>>> detector = OnlineDetector().fit(X, y)
>>> scores = detector.score_many(pd.DataFrame({"amount": [20.0, 400.0]}))
>>> bool(scores[1] > scores[0])
True
>>> detector.remember_many([1, 2], pd.DataFrame({"amount": [20.0, 400.0]})).learn_labels([2], [True])
1
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np
import pandas as pd

from fraudstream.detect.base import Detector, Reason, labels_array, require_extra, top_reasons
from fraudstream.detect.scaling import DEFAULT_CLIP, RunningStandardiser
from fraudstream.errors import ConfigError, InvalidRecord

__all__ = ["OnlineDetector"]

_MODELS = ("logistic", "hst")
_OPTIMIZERS = ("sgd", "adam", "adagrad")


class OnlineDetector(Detector):
    """River online learner behind the detector interface (needs the ``online`` extra)."""

    kind: ClassVar[str] = "online"
    online: ClassVar[bool] = True
    libraries: ClassVar[dict[str, int]] = {"river": 2, "joblib": 1}

    def __init__(self, features: Sequence[str] | None = None, model: str = "logistic",
                 learning_rate: float = 0.05, l2: float = 0.0, batch_size: int = 32,
                 optimizer: str = "sgd", pos_weight: float = 1.0, clip: float | None = DEFAULT_CLIP,
                 log_inputs: bool = False, bins: int = 0,
                 n_trees: int = 25, height: int = 8, window_size: int = 250,
                 threshold: float = 0.5, max_pending: int = 100_000, random_state: int | None = 42) -> None:
        self.features = features
        self.model = model
        self.learning_rate = learning_rate
        self.l2 = l2
        self.optimizer = optimizer
        self.pos_weight = pos_weight
        self.clip = clip
        self.log_inputs = log_inputs
        self.bins = bins
        self.batch_size = batch_size
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.threshold = threshold
        self.max_pending = max_pending
        self.random_state = random_state

    def _validate_params(self) -> None:
        require_extra("river", "online")
        if self.model not in _MODELS:
            raise ConfigError(f"model must be one of {', '.join(_MODELS)}, got {self.model!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be an int >= 1, got {self.batch_size!r}")
        if self.optimizer not in _OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(_OPTIMIZERS)}, got {self.optimizer!r}")
        if not isinstance(self.bins, int) or self.bins < 0 or self.bins == 1:
            raise ConfigError(f"bins must be 0 (off) or an int >= 2, got {self.bins!r}")
        if not float(self.pos_weight) > 0:
            raise ConfigError(f"pos_weight must be > 0, got {self.pos_weight!r}")

    def _new_model(self) -> Any:
        require_extra("river", "online")
        from river import anomaly, linear_model, optim, preprocessing

        if self.model == "logistic":
            optimizer = {"sgd": optim.SGD, "adam": optim.Adam, "adagrad": optim.AdaGrad}[self.optimizer]
            return linear_model.LogisticRegression(
                optimizer=optimizer(self.learning_rate), l2=self.l2,
                loss=optim.losses.Log(weight_pos=float(self.pos_weight)))
        return preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(
            n_trees=self.n_trees, height=self.height, window_size=self.window_size, seed=self.random_state)

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        if self.model == "logistic" and y is None:
            raise InvalidRecord("OnlineDetector.fit: y is required for model='logistic'")
        self._remember_moments(X)
        self.model_ = self._new_model()
        self.scaler_: RunningStandardiser | None = (
            RunningStandardiser(len(self.feature_names_), clip=self.clip)
            if self.model == "logistic" else None)
        self.pending_: OrderedDict[Any, dict[str, float]] = OrderedDict()
        self.n_learned_ = 0
        self.bin_edges_ = self._bin_edges(X.to_numpy(dtype=np.float64)) if self.model == "logistic" else []
        self._learn(X, y)
        self.threshold_ = float(self.threshold)

    def _learn(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        if self.model == "logistic":
            values = self._scaled(X, learn=True)
            target = pd.Series(y.astype(bool))
            for start in range(0, len(values), self.batch_size):
                stop = start + self.batch_size
                self.model_.learn_many(values.iloc[start:stop], target.iloc[start:stop])
        else:
            values = X.astype(np.float64).reset_index(drop=True)
            keep = np.ones(len(values), dtype=bool) if y is None else (y == 0)
            for record in values[keep].to_dict("records"):
                self.model_.learn_one(record)
        self.n_learned_ += len(X)

    def _scaled(self, X: pd.DataFrame, learn: bool = False) -> pd.DataFrame:
        """The logistic model's input: ``X`` through the running standardiser (learning it first
        when ``learn``); models saved before the standardiser existed carry River's in ``model_``."""
        if self.scaler_ is None:
            return X.astype(np.float64).reset_index(drop=True)
        values = X.to_numpy(dtype=np.float64)
        if self.log_inputs:
            values = np.sign(values) * np.log1p(np.abs(values))
        if learn:
            self.scaler_.learn_many(values)
        scaled = self.scaler_.transform(values)
        edges = getattr(self, "bin_edges_", [])
        if not any(len(e) for e in edges):
            return pd.DataFrame(scaled, columns=self.feature_names_)
        raw = X.to_numpy(dtype=np.float64)
        steps = [(raw[:, [j]] > e).astype(np.float64) for j, e in enumerate(edges) if len(e)]
        return pd.DataFrame(np.hstack([scaled, *steps]), columns=self._input_names())

    def _bin_edges(self, values: np.ndarray) -> list[np.ndarray]:
        """Per feature, the distinct training quantiles ``1/bins .. (bins-1)/bins`` below its maximum."""
        if self.bins < 2:
            return [np.zeros(0) for _ in self.feature_names_]
        levels = np.arange(1, self.bins) / self.bins
        edges = []
        for column in values.T:
            finite = column[np.isfinite(column)]
            if len(finite) == 0:
                edges.append(np.zeros(0))
                continue
            cuts = np.unique(np.quantile(finite, levels))
            edges.append(cuts[cuts < finite.max()])
        return edges

    def _input_names(self) -> list[str]:
        """The regression's inputs: the standardised features, then one step ``f>edge`` per bin edge."""
        cached = self.__dict__.get("_input_names_cache")
        if cached is None:
            cached = list(self.feature_names_) + [
                f"{name}>edge{k}" for name, e in zip(self.feature_names_, self.bin_edges_, strict=True)
                for k in range(len(e))]
            self.__dict__["_input_names_cache"] = cached
        return cached

    def learn_many(self, X: Any, y: Any = None) -> OnlineDetector:
        """Learn labelled rows (``y`` required for ``logistic``; HST skips fraud rows)."""
        features = self._features(X, "OnlineDetector.learn_many")
        if y is None and self.model == "logistic":
            raise InvalidRecord("OnlineDetector.learn_many: y is required for model='logistic'")
        labels = None if y is None else labels_array(y, len(features), "OnlineDetector.learn_many")
        self._learn(features, labels)
        return self

    def remember_many(self, tx_ids: Sequence[Any], X: Any) -> OnlineDetector:
        """Keep the features of scored transactions until their labels arrive."""
        features = self._features(X, "OnlineDetector.remember_many")
        if len(tx_ids) != len(features):
            raise InvalidRecord(f"OnlineDetector.remember_many: {len(tx_ids)} tx_ids for {len(features)} rows")
        for tx_id, record in zip(tx_ids, features.astype(np.float64).to_dict("records"), strict=True):
            self.pending_[tx_id] = record
        while len(self.pending_) > self.max_pending:
            self.pending_.popitem(last=False)
        return self

    def learn_labels(self, tx_ids: Sequence[Any], is_fraud: Sequence[Any]) -> int:
        """Learn the remembered transactions among ``tx_ids``; return how many were learned."""
        labels = labels_array(is_fraud, len(tx_ids), "OnlineDetector.learn_labels")
        found = [(self.pending_.pop(t), label) for t, label in zip(tx_ids, labels, strict=True)
                 if t in self.pending_]
        if found:
            frame = pd.DataFrame([record for record, _ in found], columns=self.feature_names_)
            self._learn(frame, np.array([label for _, label in found], dtype=np.int8))
        return len(found)

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        if self.model == "logistic":
            proba = self.model_.predict_proba_many(self._scaled(X))
            return proba[True].to_numpy() if True in proba.columns else np.zeros(len(X))
        values = X.astype(np.float64).reset_index(drop=True)
        return np.array([self.model_.score_one(r) for r in values.to_dict("records")], dtype=np.float64)

    def _reasons(self, X: pd.DataFrame, top: int) -> list[list[Reason]]:
        if self.model != "logistic":
            return super()._reasons(X, top)
        if self.scaler_ is None:
            scaler, regression = self.model_.steps.values()
            scaled = scaler.transform_many(X.astype(np.float64).reset_index(drop=True))
        else:
            regression, scaled = self.model_, self._scaled(X)
        weights = np.array([regression.weights.get(name, 0.0) for name in scaled.columns])
        contributions = scaled.to_numpy(dtype=np.float64) * weights
        n = len(self.feature_names_)
        edges = getattr(self, "bin_edges_", [])
        owner = np.r_[np.arange(n), np.repeat(np.arange(n), [len(e) for e in edges] or 0)]
        per_feature = np.zeros((len(scaled), n))
        np.add.at(per_feature.T, owner[: contributions.shape[1]], contributions.T)
        return top_reasons(per_feature, self.feature_names_, top)

    # -- persistence (used by fraudstream.detect.registry) ----------------------------------------
    def _save_state(self, folder: Path) -> list[str]:
        joblib.dump({"model": self.model_, "scaler": self.scaler_, "bin_edges": self.bin_edges_,
                     "feature_mean": self.feature_mean_,
                     "feature_std": self.feature_std_, "n_learned": self.n_learned_}, folder / "model.joblib")
        return ["model.joblib"]

    def _load_state(self, folder: Path) -> None:
        state = joblib.load(folder / "model.joblib")
        self.model_ = state["model"]
        self.scaler_ = state.get("scaler")
        self.bin_edges_ = state.get("bin_edges", [])
        self.feature_mean_, self.feature_std_ = state["feature_mean"], state["feature_std"]
        self.n_learned_ = state["n_learned"]
        self.pending_ = OrderedDict()
