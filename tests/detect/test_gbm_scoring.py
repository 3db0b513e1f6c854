"""GradientBoostingDetector scores through its compiled model: the same values as LightGBM's
predict (NaN inputs included), the same after a save/load or a swapped booster, and LightGBM
itself for a model that cannot be compiled."""

from __future__ import annotations

import logging

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from fraudstream.detect import registry
from fraudstream.detect.gbm import GradientBoostingDetector
from tests.detect.detect_cases import feature_frame


def frame_with_nans(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = feature_frame(n=n, seed=seed)
    rng = np.random.default_rng(seed)
    X = X.astype(np.float64)
    X.loc[rng.random(n) < 0.1, "customer_mean_30d"] = np.nan  # as for a customer's first transaction
    X.loc[rng.random(n) < 0.05, "customer_count_1h"] = np.nan
    return X, y


@pytest.fixture(scope="module")
def fitted() -> tuple[GradientBoostingDetector, pd.DataFrame]:
    X, y = frame_with_nans(3000, 0)
    detector = GradientBoostingDetector(n_estimators=200, learning_rate=0.1, num_leaves=15,
                                        early_stopping_rounds=20).fit(X, y)
    scoring, _ = frame_with_nans(1500, 1)
    scoring.loc[scoring.index[:50], "amount"] = np.nan  # NaN where training had none
    return detector, scoring


def lightgbm_scores(detector: GradientBoostingDetector, X: pd.DataFrame, **kwargs) -> np.ndarray:
    return detector.booster_.predict(X[detector.feature_names_].to_numpy(np.float64),
                                     num_iteration=detector.best_iteration_, **kwargs)


def test_scores_equal_lightgbms_predict(fitted):
    detector, X = fitted
    expected = lightgbm_scores(detector, X)
    np.testing.assert_allclose(detector.score_many(X), expected, rtol=0, atol=1e-12)
    for i in (0, 1, 2, 60):
        assert detector.score_one(X.iloc[i].to_dict()) == detector.score_many(X.iloc[[i]])[0]


def test_score_and_paths_gives_the_scores_and_contributions_that_sum_to_the_log_odds(fitted):
    detector, X = fitted
    scores, paths = detector.score_and_paths(X)
    np.testing.assert_array_equal(scores, detector.score_many(X))
    assert paths.shape == (len(X), len(detector.feature_names_))
    raw = lightgbm_scores(detector, X, raw_score=True)
    np.testing.assert_allclose(detector._scorer().bias + paths.sum(axis=1), raw, rtol=0, atol=1e-12)


def test_save_load_gives_identical_scores_and_paths(fitted, tmp_path):
    detector, X = fitted
    loaded = registry.load(registry.save(detector, tmp_path / "gbm"))
    np.testing.assert_array_equal(loaded.score_many(X), detector.score_many(X))
    scores, paths = loaded.score_and_paths(X)
    np.testing.assert_array_equal(scores, detector.score_many(X))
    # internal node values are stored with 6 digits in LightGBM's text format
    np.testing.assert_allclose(paths, detector.score_and_paths(X)[1], rtol=0, atol=1e-5)


def test_a_swapped_booster_or_fewer_trees_are_compiled_again(fitted):
    detector, X = fitted
    swapped = GradientBoostingDetector(n_estimators=30).fit(*frame_with_nans(2000, 5))
    before = detector.score_many(X)
    original = (detector.booster_, detector.best_iteration_)
    try:
        detector.booster_ = swapped.booster_
        detector.best_iteration_ = swapped.best_iteration_
        np.testing.assert_allclose(detector.score_many(X), lightgbm_scores(detector, X), rtol=0, atol=1e-12)
        detector.best_iteration_ = 10
        np.testing.assert_allclose(detector.score_many(X), lightgbm_scores(detector, X), rtol=0, atol=1e-12)
    finally:
        detector.booster_, detector.best_iteration_ = original
    np.testing.assert_array_equal(detector.score_many(X), before)


def test_a_model_with_categorical_splits_is_scored_by_lightgbm(caplog):
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"channel": rng.integers(0, 6, 2000).astype(float), "amount": rng.gamma(2, 30, 2000)})
    y = np.isin(X["channel"], (1, 4)) & (X["amount"] > 40)
    detector = GradientBoostingDetector(n_estimators=10).fit(X, y)
    detector.booster_ = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, "min_data_per_group": 5,
                                   "cat_smooth": 1},
                                  lgb.Dataset(X.to_numpy(), y.astype(int), feature_name=list(X.columns),
                                              categorical_feature=[0]), 10)
    detector.best_iteration_ = 10
    with caplog.at_level(logging.WARNING, logger="fraudstream.detect.gbm"):
        scores = detector.score_many(X)
    assert "categorical split on feature 'channel'" in caplog.text
    np.testing.assert_array_equal(scores, lightgbm_scores(detector, X))
    scores, contributions = detector.score_and_paths(X.head(20))
    shap = lightgbm_scores(detector, X.head(20), pred_contrib=True)
    np.testing.assert_array_equal(contributions, shap[:, :-1])
