"""The online detector: a guarded running standardiser before River's logistic regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def test_online_logistic_learns_large_nearly_constant_columns():
    """River's StandardScaler raised "float() argument must be ... not 'complex'" on this frame."""
    from fraudstream.detect.online import OnlineDetector

    rng = np.random.default_rng(3)
    n = 640
    X = pd.DataFrame({
        "amount": rng.gamma(2.0, 30.0, n),
        "ratio": 1e9 + rng.normal(0, 1e-3, n),
        "constant": np.full(n, 0.1 + 0.2),
    })
    y = (X["amount"] > 120).to_numpy()
    detector = OnlineDetector(pos_weight=5.0).fit(X.iloc[:320], y[:320])
    detector.learn_many(X.iloc[320:], y[320:])
    scores = detector.score_many(X)
    assert np.isfinite(scores).all()
    assert scores[y].mean() > scores[~y].mean() + 0.2
    assert detector.scaler_.count.tolist() == [n, n, n]
    assert len(detector.reasons_many(X.iloc[:2], top=2)[0]) == 2


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adagrad"])
def test_online_optimizers_learn(optimizer):
    from fraudstream.detect.online import OnlineDetector
    from tests.detect.detect_cases import feature_frame

    X, y = feature_frame(n=1500)
    detector = OnlineDetector(optimizer=optimizer, learning_rate=0.05).fit(X, y)
    scores = detector.score_many(X)
    assert scores[y].mean() > scores[~y].mean()


def test_gbm_score_one_is_score_many_of_one_row_and_names_missing_features():
    from fraudstream.detect.gbm import GradientBoostingDetector
    from fraudstream.errors import InvalidRecord, LabelLeakError
    from tests.detect.detect_cases import feature_frame

    X, y = feature_frame(n=800)
    detector = GradientBoostingDetector(n_estimators=20).fit(X, y)
    for i in range(5):
        assert detector.score_one(X.iloc[i].to_dict()) == detector.score_many(X.iloc[[i]])[0]
    # the no-copy path (columns already in order) and a reordered frame give the same scores
    np.testing.assert_array_equal(detector.score_many(X), detector.score_many(X[X.columns[::-1]]))
    with pytest.raises(InvalidRecord, match="feature\\(s\\) hour missing"):
        detector.score_one({k: v for k, v in X.iloc[0].to_dict().items() if k != "hour"})
    with pytest.raises(LabelLeakError):
        detector.score_one({**X.iloc[0].to_dict(), "is_fraud": True})


def test_online_bins_learn_a_threshold_a_line_cannot():
    """Fraud in a middle band of one feature: only the step inputs can separate it."""
    from sklearn.metrics import average_precision_score

    from fraudstream.detect.online import OnlineDetector

    rng = np.random.default_rng(5)
    X = pd.DataFrame({"x": rng.uniform(0, 10, 6000), "noise": rng.normal(size=6000)})
    y = ((X["x"] > 4) & (X["x"] < 6)).to_numpy()
    plain = OnlineDetector(learning_rate=0.1).fit(X.iloc[:4000], y[:4000])
    binned = OnlineDetector(learning_rate=0.1, bins=10).fit(X.iloc[:4000], y[:4000])
    assert len(binned.bin_edges_[0]) == 9
    ap_plain = average_precision_score(y[4000:], plain.score_many(X.iloc[4000:]))
    ap_binned = average_precision_score(y[4000:], binned.score_many(X.iloc[4000:]))
    assert ap_binned > 0.9 > ap_plain + 0.3
    reasons = binned.reasons_many(X.iloc[4000:4003], top=2)
    assert {name for row in reasons for name, _ in row} <= {"x", "noise"}


def test_online_bins_survive_save_and_load(tmp_path):
    from fraudstream.detect import registry
    from fraudstream.detect.online import OnlineDetector
    from tests.detect.detect_cases import feature_frame

    X, y = feature_frame(n=800)
    detector = OnlineDetector(bins=4).fit(X, y)
    loaded = registry.load(registry.save(detector, tmp_path / "m"))
    np.testing.assert_allclose(loaded.score_many(X), detector.score_many(X))
