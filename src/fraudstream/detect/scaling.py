"""Guarded standardisation for the neural and online detectors: ``(x - mean) / scale``, bounded.

Plain standardisation breaks on two kinds of feature frames found in practice:

- **A near-constant training column.** A column whose training values differ only by rounding
  noise (or by one tiny value) has a standard deviation of, say, 1e-17; a later value of 1.0 is
  then 1e16 standard deviations away, and a reconstruction error or a logit built on it is
  meaningless (the autoencoder scored ~1e14 on the welfare world this way). The **scale floor**:
  a standard deviation below ``rel_floor * max(|mean|, 1)`` (default 1e-6) — or not finite —
  counts as zero, and a column with zero spread keeps scale 1 (values are only centred).
- **Extreme values** (amount ratios of 1e4): every standardised value beyond ``clip`` (default
  10) standard deviations is compressed logarithmically, ``sign(z) * (clip + log1p(|z| - clip))``:
  the order of values is kept, but no single feature can dominate by orders of magnitude.

:class:`Standardiser` is fitted once on a block of rows; :class:`RunningStandardiser` updates
its moments with every mini-batch (Chan et al.'s pairwise update of count, mean and the sum of
squared deviations, each batch centred on its own mean — numerically stable, unlike the
``E[x²] - mean²`` shortcut whose result can go negative on large, nearly constant values).
NaN inputs are ignored by the moments and become 0 (the mean) after scaling.

>>> import numpy as np
>>> train = np.array([[0.3, 1.0], [0.1 + 0.2, 3.0]])   # first column: rounding noise only
>>> scaler = Standardiser.fit(train)
>>> scaler.std.tolist()
[1.0, 1.0]
>>> scaler.transform(np.array([[1.0, 2.0]]), dtype=np.float64).round(3).tolist()
[[0.7, 0.0]]
>>> float(soft_clip(np.array([1e6]), 10.0)[0]).__round__(2)
23.82
>>> running = RunningStandardiser(2)
>>> running.learn_many(train[:1]).learn_many(train[1:]).std.round(6).tolist()
[1.0, 1.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_CLIP", "DEFAULT_REL_FLOOR", "RunningStandardiser", "Standardiser", "guarded_std",
           "soft_clip"]

DEFAULT_CLIP = 10.0
"""Standardised values beyond this many standard deviations are compressed logarithmically."""
DEFAULT_REL_FLOOR = 1e-6
"""A standard deviation below this fraction of ``max(|mean|, 1)`` counts as zero spread."""


def guarded_std(mean: np.ndarray, std: np.ndarray, rel_floor: float = DEFAULT_REL_FLOOR) -> np.ndarray:
    """``std`` where it is a real spread, 1.0 where it is zero, noise or not finite.

    >>> guarded_std(np.array([1e6, 0.0, 5.0]), np.array([1e-3, 0.0, 2.0])).tolist()
    [1.0, 1.0, 2.0]
    """
    mean = np.nan_to_num(np.asarray(mean, dtype=np.float64))
    std = np.asarray(std, dtype=np.float64)
    real = np.isfinite(std) & (std > rel_floor * np.maximum(np.abs(mean), 1.0))
    return np.where(real, std, 1.0)


def soft_clip(z: np.ndarray, clip: float | None = DEFAULT_CLIP) -> np.ndarray:
    """``z`` unchanged within ``[-clip, clip]``, logarithmically compressed beyond (order kept).

    >>> soft_clip(np.array([-3.0, 12.0]), 10.0).round(4).tolist()
    [-3.0, 11.0986]
    """
    if clip is None:
        return z
    magnitude = np.abs(z)
    over = magnitude > clip
    if not over.any():
        return z
    out = z.copy()
    out[over] = np.sign(z[over]) * (clip + np.log1p(magnitude[over] - clip))
    return out


def _scale(values: np.ndarray, mean: np.ndarray, std: np.ndarray, clip: float | None,
           dtype: type) -> np.ndarray:
    z = np.nan_to_num((np.asarray(values, dtype=np.float64) - mean) / std, nan=0.0, posinf=0.0, neginf=0.0)
    return soft_clip(z, clip).astype(dtype, copy=False)


class Standardiser:
    """Column means and guarded standard deviations fitted on one block; bounded transform."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, clip: float | None = DEFAULT_CLIP) -> None:
        self.mean = mean
        self.std = std
        self.clip = clip

    @classmethod
    def fit(cls, values: np.ndarray, clip: float | None = DEFAULT_CLIP,
            rel_floor: float = DEFAULT_REL_FLOOR) -> Standardiser:
        values = np.asarray(values, dtype=np.float64)
        if values.shape[0] == 0:
            return cls(np.zeros(values.shape[1]), np.ones(values.shape[1]), clip)
        finite = np.where(np.isfinite(values), values, np.nan)
        present = ~np.isnan(finite).all(axis=0)
        safe = np.where(present, finite, 0.0) if not present.all() else finite
        mean = np.nan_to_num(np.nanmean(safe, axis=0))
        std = np.nanstd(safe, axis=0)
        return cls(mean, guarded_std(mean, std, rel_floor), clip)

    def transform(self, values: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """Standardised, soft-clipped values (float32 by default, for torch)."""
        return _scale(values, self.mean, self.std, self.clip, dtype)


class RunningStandardiser:
    """Moments updated mini-batch by mini-batch (stable pairwise update); bounded transform."""

    def __init__(self, n_features: int, clip: float | None = DEFAULT_CLIP,
                 rel_floor: float = DEFAULT_REL_FLOOR) -> None:
        self.clip = clip
        self.rel_floor = rel_floor
        self.count = np.zeros(n_features)
        self.mean = np.zeros(n_features)
        self.m2 = np.zeros(n_features)

    @property
    def std(self) -> np.ndarray:
        """The guarded standard deviation of everything learned so far."""
        with np.errstate(invalid="ignore", divide="ignore"):
            variance = np.where(self.count > 0, self.m2 / np.maximum(self.count, 1), 0.0)
        return guarded_std(self.mean, np.sqrt(np.maximum(variance, 0.0)), self.rel_floor)

    def learn_many(self, values: np.ndarray) -> RunningStandardiser:
        """Merge the moments of ``values`` (rows x features; NaN ignored per column)."""
        values = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(values)
        n_b = finite.sum(axis=0).astype(np.float64)
        if not n_b.any():
            return self
        filled = np.where(finite, values, 0.0)
        mean_b = filled.sum(axis=0) / np.maximum(n_b, 1)
        m2_b = (np.where(finite, values - mean_b, 0.0) ** 2).sum(axis=0)
        total = self.count + n_b
        delta = mean_b - self.mean
        share = np.divide(n_b, total, out=np.zeros_like(total), where=total > 0)
        self.mean = self.mean + delta * share
        self.m2 = self.m2 + m2_b + delta**2 * self.count * share
        self.count = total
        return self

    def transform(self, values: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """Standardised, soft-clipped values (float64 by default)."""
        return _scale(values, self.mean, self.std, self.clip, dtype)
