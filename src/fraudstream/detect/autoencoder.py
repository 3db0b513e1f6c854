"""An autoencoder (PyTorch): the score is the reconstruction error, higher = more anomalous.

Inputs are standardised (training mean/std) with the guards of :mod:`fraudstream.detect.scaling`:
a standard deviation at rounding-noise level counts as none, and beyond ``clip`` (10) standard
deviations values are compressed logarithmically (``clip=None``: not compressed). The network is a ReLU MLP
``n -> hidden... -> bottleneck -> ...reversed hidden -> n`` trained with Adam on the mean absolute
error (MAE). The score of a row is its MAE over the standardised features; ``threshold_`` is
``mean + threshold_sigma * std`` of the MAE on a validation slice (the **last**
``validation_fraction`` of the training rows, in the given order — time order for feature frames).
When labels are given to ``fit``, only the legitimate rows are learned (as seed 002 trains on
``is_anomaly = 0``).

Preset ``seed002`` is seed 002's network ``6-16-8-2-8-16-6`` (ReLU, Adam, MAE, 50 epochs,
batch 32, threshold mean + 3·std of validation MAE). The seed put a **sigmoid** on the output
while feeding standardised (often negative) inputs, so it could never reconstruct them; the preset
fixes this with a linear output by default, and ``seed002(faithful=True)`` keeps the sigmoid. The
preset does not compress extreme values (``clip=None``), as the seed's ``StandardScaler``.

The general version sizes itself to the input: ``hidden=None`` gives ``(h, h/2)`` with ``h`` the
smallest power of two >= 2n (at least 8), bottleneck ``max(2, ceil(n/4))`` — 16, 8, 2 for n = 6.

Reasons: the features with the largest absolute reconstruction error (standardised units).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
>>> detector = AutoencoderDetector(epochs=5, random_state=1).fit(X)
>>> detector.layer_sizes_
[3, 8, 4, 2, 4, 8, 3]
>>> odd = pd.DataFrame({"a": [0.0, 9.0], "b": [0.0, 0.0], "c": [0.0, 0.0]})
>>> bool(detector.score_many(odd)[1] > detector.score_many(odd)[0])
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fraudstream.detect.base import Detector, Reason, top_reasons
from fraudstream.detect.scaling import DEFAULT_CLIP
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
from fraudstream.errors import ConfigError

__all__ = ["AutoencoderDetector", "auto_layer_sizes"]


def auto_layer_sizes(n_features: int) -> tuple[tuple[int, ...], int]:
    """(hidden, bottleneck) sized to ``n_features``.

    >>> auto_layer_sizes(6)
    ((16, 8), 2)
    """
    first = max(8, 1 << math.ceil(math.log2(max(2 * n_features, 1))))
    return (first, first // 2), max(2, math.ceil(n_features / 4))


class AutoencoderDetector(Detector):
    """Reconstruction-error anomaly detector (needs the ``torch`` extra)."""

    kind: ClassVar[str] = "autoencoder"
    libraries: ClassVar[dict[str, int]] = {"torch": 1}

    def __init__(self, features: Sequence[str] | None = None, hidden: Sequence[int] | None = None,
                 bottleneck: int | None = None, output: str = "linear", epochs: int = 50,
                 batch_size: int = 32, learning_rate: float = 1e-3, validation_fraction: float = 0.2,
                 threshold_sigma: float = 3.0, clip: float | None = DEFAULT_CLIP,
                 random_state: int | None = 42, n_jobs: int = 1) -> None:
        self.features = features
        self.hidden = hidden
        self.bottleneck = bottleneck
        self.output = output
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.threshold_sigma = threshold_sigma
        self.clip = clip
        self.random_state = random_state
        self.n_jobs = n_jobs

    @classmethod
    def seed002(cls, features: Sequence[str] | None = None, faithful: bool = False,
                **overrides: Any) -> AutoencoderDetector:
        """Seed 002's 6-16-8-2-8-16-6 autoencoder (linear output unless ``faithful``)."""
        params: dict[str, Any] = {"hidden": (16, 8), "bottleneck": 2, "epochs": 50, "batch_size": 32,
                                  "learning_rate": 1e-3, "validation_fraction": 0.2,
                                  "threshold_sigma": 3.0, "random_state": 42, "clip": None,
                                  "output": "sigmoid" if faithful else "linear"}
        params.update(overrides)
        return cls(features=features, **params)

    def _validate_params(self) -> None:
        torch_module()
        if self.output not in ("linear", "sigmoid"):
            raise ConfigError(f"output must be 'linear' or 'sigmoid', got {self.output!r}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an int >= 1, got {value!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ConfigError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")

    def _layer_sizes(self, n_features: int) -> list[int]:
        auto_hidden, auto_bottleneck = auto_layer_sizes(n_features)
        hidden = list(self.hidden) if self.hidden is not None else list(auto_hidden)
        bottleneck = self.bottleneck if self.bottleneck is not None else auto_bottleneck
        return [n_features, *hidden, bottleneck, *reversed(hidden), n_features]

    def _fit_torch(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        torch = torch_module()
        values = X.to_numpy(dtype=np.float64)
        if y is not None and (y == 0).any():
            values = values[y == 0]
        self._remember_moments(X)
        self.scaler_ = Standardiser.fit(values, clip=self.clip)
        data = self.scaler_.transform(values)
        rng = seeded(self.random_state)
        self.layer_sizes_ = self._layer_sizes(data.shape[1])
        self.net_ = mlp(self.layer_sizes_, self.output)
        train_idx, val_idx = time_ordered_split(len(data), self.validation_fraction)
        optimiser = torch.optim.Adam(self.net_.parameters(), lr=self.learning_rate)
        train = torch.from_numpy(data[train_idx])
        self.net_.train()
        for _ in range(self.epochs):
            order = torch.from_numpy(rng.permutation(len(train)))
            for start in range(0, len(train), self.batch_size):
                batch = train[order[start:start + self.batch_size]]
                optimiser.zero_grad()
                loss = torch.mean(torch.abs(self.net_(batch) - batch))
                loss.backward()
                optimiser.step()
        self.net_.eval()
        errors = self._errors(data[val_idx] if len(val_idx) else data[train_idx]).mean(axis=1)
        self.threshold_ = float(errors.mean() + self.threshold_sigma * errors.std())

    def _errors(self, scaled: np.ndarray) -> np.ndarray:
        torch = torch_module()
        with torch.no_grad():
            batch = torch.from_numpy(scaled)
            return torch.abs(self.net_(batch) - batch).numpy().astype(np.float64)

    def _score_torch(self, X: pd.DataFrame) -> np.ndarray:
        return self._errors(self.scaler_.transform(X.to_numpy(dtype=np.float64))).mean(axis=1)

    def _reasons_torch(self, X: pd.DataFrame, top: int) -> list[list[Reason]]:
        errors = self._errors(self.scaler_.transform(X.to_numpy(dtype=np.float64)))
        return top_reasons(errors, self.feature_names_, top)

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
            self.scaler_ = Standardiser(state["scaler_mean"], state["scaler_std"], clip=self.clip)
            self.feature_mean_, self.feature_std_ = state["feature_mean"], state["feature_std"]
            self.layer_sizes_ = [int(v) for v in state["layer_sizes"]]
        self.net_ = mlp(self.layer_sizes_, self.output)
        load_state_dict(self.net_, folder / "model.pt")
        self.net_.eval()
