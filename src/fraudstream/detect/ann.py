"""A feed-forward neural network (PyTorch), supervised — the AIT-204 course's model.

Standardised inputs (training mean/std), a ReLU MLP ``n -> hidden... -> 1`` with dropout, trained
with Adam on binary cross-entropy with **class weighting** (``pos_weight``:
``"balanced"`` = n_legit / n_fraud, ``"sqrt"`` = its square root, a number, or ``None``), mini-batches
in a seeded order, and **early stopping** on the validation loss of a time-ordered slice (the last
``validation_fraction`` of the rows): training stops after ``patience`` epochs without improvement
and the best weights are restored. Deterministic for a given ``random_state`` on CPU.

Score = the sigmoid output; with class weighting it is not a calibrated probability.
``threshold_`` maximises F1 on the validation slice (0.5 when the slice has no fraud).
Reasons: gradient x input of the logit on the standardised features (positive = pushed the score up).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"amount": rng.gamma(2, 30, 1000), "noise": rng.normal(size=1000)})
>>> y = (X["amount"] > 150).to_numpy()
>>> detector = NeuralNetDetector(hidden=(8,), epochs=20, random_state=0).fit(X, y)
>>> scores = detector.score_many(pd.DataFrame({"amount": [20.0, 400.0], "noise": [0.0, 0.0]}))
>>> bool(scores[1] > scores[0])
True
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fraudstream.detect.base import Detector, Reason, top_reasons
from fraudstream.detect.gbm import best_f1_threshold
from fraudstream.detect.torch_support import (
    Standardiser,
    limited_threads,
    load_state_dict,
    mlp,
    save_state_dict,
    seeded,
    time_ordered_split,
    torch_module,
)
from fraudstream.errors import ConfigError, InvalidRecord

__all__ = ["NeuralNetDetector"]


class NeuralNetDetector(Detector):
    """Feed-forward fraud classifier (needs the ``torch`` extra)."""

    kind: ClassVar[str] = "ann"
    libraries: ClassVar[dict[str, int]] = {"torch": 1}

    def __init__(self, features: Sequence[str] | None = None, hidden: Sequence[int] = (64, 32),
                 dropout: float = 0.1, epochs: int = 50, batch_size: int = 256,
                 learning_rate: float = 1e-3, weight_decay: float = 0.0,
                 class_weight: str | float | None = "balanced", validation_fraction: float = 0.2,
                 patience: int = 5, random_state: int | None = 42, n_jobs: int = 1) -> None:
        self.features = features
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _validate_params(self) -> None:
        torch_module()
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an int >= 1, got {value!r}")
        if not (self.class_weight in (None, "balanced", "sqrt")
                or (isinstance(self.class_weight, int | float) and self.class_weight > 0)):
            raise ConfigError(f"class_weight must be 'balanced', 'sqrt', a number > 0 or None, "
                              f"got {self.class_weight!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ConfigError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")

    def _pos_weight(self, y: np.ndarray) -> float:
        ratio = float((y == 0).sum()) / max(float(y.sum()), 1.0)
        if self.class_weight == "balanced":
            return ratio
        if self.class_weight == "sqrt":
            return float(np.sqrt(ratio))
        return 1.0 if self.class_weight is None else float(self.class_weight)

    def _fit_torch(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        torch = torch_module()
        if y is None:
            raise InvalidRecord("NeuralNetDetector.fit: y is required (a supervised detector)")
        values = X.to_numpy(dtype=np.float64)
        self._remember_moments(X)
        rng = seeded(self.random_state)
        train_idx, val_idx = time_ordered_split(len(values), self.validation_fraction)
        self.scaler_ = Standardiser.fit(values[train_idx])
        data = torch.from_numpy(self.scaler_.transform(values))
        target = torch.from_numpy(y.astype(np.float32))
        self.layer_sizes_ = [data.shape[1], *self.hidden, 1]
        self.net_ = mlp(self.layer_sizes_, dropout=self.dropout)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(self._pos_weight(y[train_idx])))
        optimiser = torch.optim.Adam(self.net_.parameters(), lr=self.learning_rate,
                                     weight_decay=self.weight_decay)
        best_loss, best_state, stale = np.inf, None, 0
        self.epochs_run_ = 0
        for _ in range(self.epochs):
            self.net_.train()
            order = torch.from_numpy(train_idx[rng.permutation(len(train_idx))])
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                optimiser.zero_grad()
                loss_fn(self.net_(data[batch]).squeeze(1), target[batch]).backward()
                optimiser.step()
            self.epochs_run_ += 1
            if len(val_idx) == 0:
                continue
            self.net_.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(self.net_(data[val_idx]).squeeze(1), target[val_idx]))
            if val_loss < best_loss - 1e-7:
                best_loss, best_state, stale = val_loss, copy.deepcopy(self.net_.state_dict()), 0
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.net_.eval()
        val_y = y[val_idx]
        if 0 < val_y.sum() < len(val_y):
            self.threshold_ = best_f1_threshold(val_y, self._probabilities(data[val_idx]))
        else:
            self.threshold_ = 0.5

    def _probabilities(self, scaled: Any) -> np.ndarray:
        torch = torch_module()
        with torch.no_grad():
            return torch.sigmoid(self.net_(scaled).squeeze(1)).numpy().astype(np.float64)

    def _score_torch(self, X: pd.DataFrame) -> np.ndarray:
        torch = torch_module()
        return self._probabilities(torch.from_numpy(self.scaler_.transform(X.to_numpy(dtype=np.float64))))

    def _reasons_torch(self, X: pd.DataFrame, top: int) -> list[list[Reason]]:
        torch = torch_module()
        scaled = torch.from_numpy(self.scaler_.transform(X.to_numpy(dtype=np.float64))).requires_grad_(True)
        (gradient,) = torch.autograd.grad(self.net_(scaled).sum(), scaled)
        attribution = (gradient * scaled).detach().numpy().astype(np.float64)
        return top_reasons(attribution, self.feature_names_, top)

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        with limited_threads(self.n_jobs):
            self._fit_torch(X, y)

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        with limited_threads(self.n_jobs):
            return self._score_torch(X)

    def _reasons(self, X: pd.DataFrame, top: int) -> list[list[Reason]]:
        with limited_threads(self.n_jobs):
            return self._reasons_torch(X, top)

    # -- persistence (used by fraudstream.detect.registry) ----------------------------------------
    def _save_state(self, folder: Path) -> list[str]:
        save_state_dict(self.net_, folder / "model.pt")
        np.savez(folder / "state.npz", scaler_mean=self.scaler_.mean, scaler_std=self.scaler_.std,
                 feature_mean=self.feature_mean_, feature_std=self.feature_std_,
                 layer_sizes=np.asarray(self.layer_sizes_))
        return ["model.pt", "state.npz"]

    def _load_state(self, folder: Path) -> None:
        with np.load(folder / "state.npz", allow_pickle=False) as state:
            self.scaler_ = Standardiser(state["scaler_mean"], state["scaler_std"])
            self.feature_mean_, self.feature_std_ = state["feature_mean"], state["feature_std"]
            self.layer_sizes_ = [int(v) for v in state["layer_sizes"]]
        self.net_ = mlp(self.layer_sizes_, dropout=self.dropout)
        load_state_dict(self.net_, folder / "model.pt")
        self.net_.eval()
