"""Guarded standardisation: near-constant columns and extreme values stay bounded (the welfare bug)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstream.detect.scaling import RunningStandardiser, Standardiser, soft_clip


def noisy_constant_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """``flag`` differs only by float rounding noise in training (std ~1e-17), as a welfare feature did."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "amount": rng.gamma(2.0, 30.0, n),
        "hour": rng.integers(0, 24, n).astype(np.float64),
        "flag": np.where(np.arange(n) % 2 == 0, 0.3, 0.1 + 0.2),
    })


def test_autoencoder_scores_stay_bounded_on_a_near_constant_training_column():
    from fraudstream.detect.autoencoder import AutoencoderDetector

    X = noisy_constant_frame()
    assert 0 < X["flag"].std() < 1e-15  # the bug's precondition: a non-zero but negligible spread
    detector = AutoencoderDetector(epochs=3, random_state=1).fit(X)
    later = X.iloc[:3].assign(flag=[0.3, 1.0, 0.3])
    later.loc[2, "amount"] = 5_000.0
    scores = detector.score_many(later)
    assert np.isfinite(scores).all()
    assert scores.max() < 100  # unguarded: ~1e16 (0.7 / 2.8e-17 standard deviations)
    assert scores[2] > scores[0]  # a 5,000 amount is still far more anomalous than a usual row
    assert detector.threshold_ < 100


def test_standardiser_floors_noise_and_keeps_real_spread():
    X = noisy_constant_frame().to_numpy()
    scaler = Standardiser.fit(X)
    assert scaler.std[2] == 1.0  # rounding noise counts as no spread: only centred
    assert scaler.std[0] == pytest.approx(X[:, 0].std())
    z = scaler.transform(X, dtype=np.float64)
    np.testing.assert_allclose(z[:, 0], (X[:, 0] - X[:, 0].mean()) / X[:, 0].std(), atol=1e-9)


def test_soft_clip_keeps_order_and_bounds_extremes():
    z = np.array([-1e12, -50.0, -10.0, 0.0, 9.5, 10.0, 11.0, 1e6, 1e300])
    clipped = soft_clip(z, 10.0)
    assert (np.diff(clipped) > 0).all()
    np.testing.assert_array_equal(clipped[2:6], z[2:6])
    assert np.abs(clipped).max() < 10 + np.log(1e300) + 1


def test_running_standardiser_matches_numpy_on_every_prefix_of_large_nearly_constant_values():
    """River's E[x²] - mean² shortcut goes negative here; the pairwise update must not."""
    rng = np.random.default_rng(3)
    values = np.column_stack([
        1e9 + rng.normal(0, 1e-3, 640),  # large and nearly constant
        rng.lognormal(0, 3, 640),  # heavy tail (amount ratios)
        np.full(640, 0.1 + 0.2),
    ])
    values[::17, 1] = np.nan
    running = RunningStandardiser(3)
    for stop in range(32, 641, 32):
        running.learn_many(values[stop - 32:stop])
        prefix = values[:stop]
        np.testing.assert_allclose(running.mean, np.nanmean(prefix, axis=0), rtol=1e-12)
        np.testing.assert_allclose(running.m2 / running.count, np.nanvar(prefix, axis=0), rtol=1e-4, atol=1e-12)
    assert (running.m2 >= 0).all()
    scaled = running.transform(values)
    assert np.isfinite(scaled).all() and np.abs(scaled).max() < 30



def test_seed002_preset_keeps_extremes_uncompressed_like_the_seeds_scaler():
    from fraudstream.detect.autoencoder import AutoencoderDetector

    X = noisy_constant_frame()
    detector = AutoencoderDetector.seed002(epochs=1).fit(X[["amount", "hour"]])
    assert detector.clip is None and detector.scaler_.clip is None
    far = detector.scaler_.transform(np.array([[1e5, 0.0]]), dtype=np.float64)[0, 0]
    assert far == pytest.approx((1e5 - X["amount"].mean()) / X["amount"].std(ddof=0), rel=1e-6)
    assert AutoencoderDetector().clip == 10.0
