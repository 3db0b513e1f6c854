"""One contract suite, run over every detector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from fraudstream.detect import DETECTOR_CLASSES, registry
from fraudstream.detect.base import Detector
from fraudstream.errors import LabelLeakError, NotFittedError
from tests.detect.detect_cases import FACTORIES, feature_frame

NAMES = sorted(FACTORIES)


@pytest.fixture(scope="module", params=NAMES)
def fitted(request, data) -> tuple[str, Detector]:
    X, y = data
    return request.param, FACTORIES[request.param]().fit(X, y)


def test_every_registered_kind_is_covered():
    kinds = {FACTORIES[name]().kind for name in NAMES}
    assert kinds == set(DETECTOR_CLASSES)


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_init_only_stores_params(name, data):
    X, y = data
    detector = FACTORIES[name]()
    learned_before = [k for k in vars(detector) if k.endswith("_")]
    assert learned_before == []
    assert detector.fit(X, y) is detector
    assert isinstance(detector.threshold_, float)
    assert detector.feature_names_


@pytest.mark.parametrize("name", NAMES)
def test_not_fitted_error_before_fit(name, data):
    X, _ = data
    detector = FACTORIES[name]()
    with pytest.raises(NotFittedError):
        detector.score_many(X)
    with pytest.raises(NotFittedError):
        detector.predict_many(X)
    with pytest.raises(NotFittedError):
        detector.reasons_many(X)


def test_score_shape_and_dtype(fitted, data):
    _, detector = fitted
    X, _ = data
    scores = detector.score_many(X.iloc[:37])
    assert scores.shape == (37,)
    assert scores.dtype == np.float64
    assert np.isfinite(scores).all()
    assert detector.score_many(X.iloc[:0]).shape == (0,)


def test_higher_is_more_suspicious(fitted):
    name, detector = fitted
    X, y = feature_frame(n=1500, seed=1)  # fresh data, same world
    prevalence = y.mean()
    ap = average_precision_score(y, detector.score_many(X))
    assert ap > 4 * prevalence, f"{name}: AP {ap:.3f} vs prevalence {prevalence:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_with_a_seed(name, data):
    X, y = data
    first = FACTORIES[name]().fit(X, y).score_many(X.iloc[:200])
    second = FACTORIES[name]().fit(X, y).score_many(X.iloc[:200])
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", NAMES)
def test_labels_in_X_raise_label_leak(name, data):
    X, y = data
    leaky = X.assign(is_fraud=y)
    with pytest.raises(LabelLeakError, match="is_fraud"):
        FACTORIES[name]().fit(leaky, y)


def test_labels_at_scoring_raise_label_leak(fitted, data):
    _, detector = fitted
    X, _y = data
    with pytest.raises(LabelLeakError, match="fraud_pattern"):
        detector.score_many(X.assign(fraud_pattern=None))


def test_save_load_gives_identical_scores(fitted, data, tmp_path):
    name, detector = fitted
    X, _ = data
    folder = registry.save(detector, tmp_path / name, {"metrics": {"note": "test"}})
    restored = registry.load(folder, columns=X.columns)
    np.testing.assert_array_equal(restored.score_many(X), detector.score_many(X))
    assert restored.threshold_ == detector.threshold_
    assert restored.feature_names_ == detector.feature_names_
    np.testing.assert_array_equal(restored.predict_many(X), detector.predict_many(X))


def test_score_one_is_a_batch_of_one(fitted, data):
    _, detector = fitted
    X, _ = data
    for i in (0, 5, 17):
        row = X.iloc[[i]]
        one = detector.score_one(row.iloc[0].to_dict())
        assert one == detector.score_many(row)[0]
        assert one == pytest.approx(detector.score_many(X.iloc[:20])[i], rel=1e-5, abs=1e-6)


def test_predict_is_score_at_least_threshold(fitted, data):
    _, detector = fitted
    X, _ = data
    np.testing.assert_array_equal(detector.predict_many(X), detector.score_many(X) >= detector.threshold_)


def test_reasons_name_features_or_rules(fitted, data):
    name, detector = fitted
    X, y = data
    rows = X[y].iloc[:10]
    reasons = detector.reasons_many(rows, top=2)
    assert len(reasons) == len(rows)
    known = set(detector.feature_names_) | {"big_amount", "burst", "night"}
    assert all(len(r) <= 2 for r in reasons)
    assert sum(len(r) for r in reasons) > 0, f"{name} gave no reason for any fraud row"
    for row in reasons:
        assert all(n in known and isinstance(w, float) for n, w in row)
        weights = [w for _, w in row]
        assert weights == sorted(weights, reverse=True)


def test_missing_feature_column_is_named(fitted, data):
    _, detector = fitted
    X, _ = data
    with pytest.raises(Exception, match="amount"):
        detector.score_many(X.drop(columns=["amount"]))


def test_get_params_rebuilds_an_equal_unfitted_detector(fitted):
    _, detector = fitted
    clone = type(detector)(**detector.get_params())
    assert clone.get_params() == detector.get_params()


def test_scores_do_not_depend_on_other_rows(fitted, data):
    _, detector = fitted
    X, _ = data
    full = detector.score_many(X.iloc[:50])
    shuffled = detector.score_many(X.iloc[:50].iloc[::-1])
    np.testing.assert_allclose(shuffled[::-1], full, rtol=1e-5, atol=1e-6)


def test_accepts_a_mapping_of_columns(fitted, data):
    _, detector = fitted
    X, _ = data
    as_dict = {c: X[c].to_numpy()[:5] for c in X.columns}
    np.testing.assert_allclose(detector.score_many(as_dict), detector.score_many(pd.DataFrame(as_dict)))
