"""The seed presets carry the seeds' settings, and the shared detector plumbing behaves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fraudstream.detect.autoencoder import AutoencoderDetector
from fraudstream.detect.base import require_extra
from fraudstream.detect.iforest import SEED001_CATEGORICAL, SEED001_NUMERIC, IsolationForestDetector
from fraudstream.errors import ConfigError, InvalidRecord
from tests.detect.detect_cases import feature_frame


def seed001_frame(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "amount": rng.uniform(5, 500, n), "tx_hour": rng.integers(0, 24, n),
        "transaction_type": rng.choice(["purchase", "transfer", "withdrawal"], n),
        "location": rng.choice(["domestic_pos", "atm"], n), "tx_day_of_week": rng.integers(0, 7, n),
    })


def test_seed001_preset():
    detector = IsolationForestDetector.seed001().fit(seed001_frame())
    prepare, forest = detector.pipeline_.named_steps["prepare"], detector.pipeline_.named_steps["forest"]
    assert isinstance(prepare, ColumnTransformer)
    numeric, categorical = prepare.transformers[0], prepare.transformers[1]
    assert isinstance(numeric[1], StandardScaler) and numeric[2] == list(SEED001_NUMERIC)
    assert isinstance(categorical[1], OneHotEncoder) and categorical[1].handle_unknown == "ignore"
    assert categorical[2] == list(SEED001_CATEGORICAL)
    assert (forest.contamination, forest.n_estimators, forest.random_state) == (0.15, 100, 42)
    flagged = detector.predict_many(seed001_frame()).mean()
    assert flagged == pytest.approx(0.15, abs=0.01)  # contamination sets the training alert rate
    unseen = seed001_frame(3).assign(location="moon")
    assert detector.score_many(unseen).shape == (3,)  # handle_unknown="ignore"


def test_seed001_matches_sklearn_predict():
    X = seed001_frame()
    detector = IsolationForestDetector.seed001().fit(X)
    sklearn_flags = detector.pipeline_.predict(X.astype({c: str for c in SEED001_CATEGORICAL})) == -1
    np.testing.assert_array_equal(detector.predict_many(X), sklearn_flags)


def test_seed004_preset():
    X, _ = feature_frame(n=500)
    detector = IsolationForestDetector.seed004(numeric=list(X.columns)).fit(X)
    forest = detector.pipeline_.named_steps["forest"]
    assert (forest.contamination, forest.max_samples, forest.random_state) == (0.01, 0.8, 42)
    assert isinstance(detector.pipeline_.named_steps["prepare"].transformers[0][1], StandardScaler)
    assert detector.predict_many(X).mean() == pytest.approx(0.01, abs=0.005)


def test_seed002_preset():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 6)), columns=[f"f{i}" for i in range(6)])
    detector = AutoencoderDetector.seed002(epochs=2).fit(X)
    assert detector.layer_sizes_ == [6, 16, 8, 2, 8, 16, 6]
    params = AutoencoderDetector.seed002().get_params()
    assert (params["epochs"], params["batch_size"], params["threshold_sigma"], params["output"]) == \
        (50, 32, 3.0, "linear")
    assert AutoencoderDetector.seed002(faithful=True).output == "sigmoid"
    linears = [m for m in detector.net_ if type(m).__name__ == "Linear"]
    relus = [m for m in detector.net_ if type(m).__name__ == "ReLU"]
    assert len(linears) == 6 and len(relus) == 5
    # threshold = mean + 3 std of the per-row MAE on the last 20 % (validation slice)
    validation = X.iloc[320:]
    errors = detector.score_many(validation)
    assert detector.threshold_ == pytest.approx(errors.mean() + 3 * errors.std(), rel=1e-5)


def test_autoencoder_sized_to_input():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 15)), columns=[f"f{i}" for i in range(15)])
    assert AutoencoderDetector(epochs=1).fit(X).layer_sizes_ == [15, 32, 16, 4, 16, 32, 15]


def test_bad_params_are_named_at_fit():
    X, y = feature_frame(n=100)
    with pytest.raises(ConfigError, match="contamination must be 'auto' or in \\(0, 0.5\\], got 0.9"):
        IsolationForestDetector(contamination=0.9).fit(X)
    with pytest.raises(ConfigError, match="output must be 'linear' or 'sigmoid', got 'tanh'"):
        AutoencoderDetector(output="tanh").fit(X)
    from fraudstream.detect.gbm import GradientBoostingDetector

    with pytest.raises(ConfigError, match="imbalance must be one of sqrt, balanced, none, got 'smote'"):
        GradientBoostingDetector(imbalance="smote").fit(X, y)
    with pytest.raises(InvalidRecord, match="y is required"):
        GradientBoostingDetector().fit(X)
    with pytest.raises(InvalidRecord, match="y must have one label per row \\(100\\)"):
        GradientBoostingDetector().fit(X, y[:10])


def test_missing_optional_dependency_names_the_extra():
    with pytest.raises(ImportError, match=r"install the 'torch' extra, e.g. pip install 'fraudstream\[torch\]'"):
        require_extra("fraudstream_no_such_module", "torch")


def test_gbm_early_stops_on_the_last_rows_and_gives_contributions():
    from fraudstream.detect.gbm import GradientBoostingDetector

    X, y = feature_frame(n=3000)
    detector = GradientBoostingDetector(n_estimators=400, learning_rate=0.2, early_stopping_rounds=10).fit(X, y)
    assert detector.best_iteration_ < 400
    contributions = detector.booster_.predict(X.iloc[:5].to_numpy(), pred_contrib=True)
    reasons = detector.reasons_many(X.iloc[:5], top=4)
    for row, reason in zip(contributions, reasons, strict=True):
        positive = {detector.feature_names_[j]: v for j, v in enumerate(row[:-1]) if v > 0}
        assert dict(reason) == pytest.approx({k: positive[k] for k in dict(reason)})


def test_online_learns_delayed_labels():
    from fraudstream.detect.online import OnlineDetector

    X, y = feature_frame(n=2000)
    detector = OnlineDetector().fit(X.iloc[:200], y[:200])
    before = detector.score_many(X[y].iloc[:20]).mean()
    detector.remember_many(list(range(200, 2000)), X.iloc[200:])
    assert detector.learn_labels(list(range(200, 2000)), y[200:]) == 1800
    assert detector.learn_labels([200], [True]) == 0  # already learned and forgotten
    assert detector.score_many(X[y].iloc[:20]).mean() > before
    assert detector.n_learned_ == 2000


def test_learn_one_is_a_batch_of_one_and_only_online_detectors_learn():
    from fraudstream.detect.online import OnlineDetector

    X, y = feature_frame(n=300)
    one = OnlineDetector().fit(X.iloc[:100], y[:100])
    many = OnlineDetector().fit(X.iloc[:100], y[:100])
    one.learn_one(X.iloc[100].to_dict(), bool(y[100]))
    many.learn_many(X.iloc[[100]], y[[100]])
    np.testing.assert_array_equal(one.score_many(X), many.score_many(X))
    with pytest.raises(NotImplementedError, match="not an online detector"):
        IsolationForestDetector(n_estimators=5).fit(X).learn_many(X, y)
