"""TreeScorer: a compiled LightGBM model gives LightGBM's own raw scores, probabilities and leaves
(NaN, zero and tiny inputs included), path contributions equal to a plain walk down each tree,
and refuses the models it cannot hold with a clear error."""

from __future__ import annotations

import collections

import lightgbm as lgb
import numpy as np
import pytest

from fraudstream.detect.treescorer import MAX_LEAVES, TreeScorer
from fraudstream.errors import InvalidRecord, ModelFileError

ZERO = float(np.float32(1e-35))
SPECIAL = np.array([np.nan, 0.0, -0.0, ZERO, -ZERO, 1e-36, -1e-36, 2e-35, -2e-35, np.inf, -np.inf, 1e300])


def make_data(n: int, seed: int, nan_columns: tuple[int, ...] = (1, 3, 4)) -> tuple[np.ndarray, np.ndarray]:
    """Five columns: normal, small integers (many zeros), zero-or-signed, and NaN in ``nan_columns``;
    the label depends on the NaNs, so splits send them both ways."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[:, 1] = np.round(X[:, 1] * 2)
    X[:, 2] = rng.exponential(size=n) * (rng.random(n) < 0.5) - rng.exponential(size=n) * (rng.random(n) < 0.2)
    for column in nan_columns:
        X[rng.random(n) < 0.15, column] = np.nan
    logit = (1.5 * np.nan_to_num(X[:, 0]) + 2 * np.isnan(X[:, 1]) - 1.5 * np.isnan(X[:, 4])
             + (X[:, 2] > 0) - (X[:, 2] < 0) + np.nan_to_num(X[:, 3]))
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def scoring_rows(seed: int) -> np.ndarray:
    """Fresh rows (NaN in every column, also where training had none) plus every special value in
    every column: NaN, signed zeros, values at and inside LightGBM's zero band, infinities."""
    X, _ = make_data(1500, seed, nan_columns=(0, 1, 2, 3, 4))
    rng = np.random.default_rng(seed + 1)
    special = rng.choice(SPECIAL, size=(600, 5))
    return np.vstack([X, special, np.where(rng.random((600, 5)) < 0.5, special, X[:600])])


def train(X: np.ndarray, y: np.ndarray, rounds: int = 60, **params) -> lgb.Booster:
    base = {"objective": "binary", "num_leaves": 15, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1,
            "deterministic": True, "seed": 1}
    return lgb.train({**base, **params}, lgb.Dataset(X, y), rounds)


def split_kinds(booster: lgb.Booster) -> collections.Counter:
    kinds: collections.Counter = collections.Counter()
    stack = [info["tree_structure"] for info in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            kinds[node["missing_type"], node["default_left"]] += 1
            stack += [node["left_child"], node["right_child"]]
    return kinds


@pytest.fixture(scope="module")
def nan_model() -> lgb.Booster:
    X, y = make_data(3000, 0)
    return train(X, y)


@pytest.fixture(scope="module")
def zero_model() -> lgb.Booster:
    X, y = make_data(3000, 0)
    return train(X, y, zero_as_missing=True)


def assert_same_as_lightgbm(booster: lgb.Booster, X: np.ndarray, num_iteration: int | None = None) -> None:
    scorer = TreeScorer.from_booster(booster, num_iteration=num_iteration)
    raw = booster.predict(X, raw_score=True, num_iteration=num_iteration)
    np.testing.assert_array_equal(scorer.raw_many(X), raw)
    np.testing.assert_allclose(scorer.probability_many(X), booster.predict(X, num_iteration=num_iteration),
                               rtol=0, atol=1e-15)
    np.testing.assert_array_equal(scorer.leaves_many(X), booster.predict(X, pred_leaf=True,
                                                                        num_iteration=num_iteration))
    paths_raw, _ = scorer.paths_many(X)
    np.testing.assert_array_equal(paths_raw, raw)


def test_nan_splits_both_ways_and_nan_where_training_had_none(nan_model):
    kinds = split_kinds(nan_model)
    assert kinds["NaN", True] and kinds["NaN", False] and kinds["None", True]
    assert_same_as_lightgbm(nan_model, scoring_rows(7))


def test_zero_as_missing_sends_zero_tiny_and_nan_values_to_the_default_side(zero_model):
    kinds = split_kinds(zero_model)
    assert kinds["Zero", True] and kinds["Zero", False]
    assert_same_as_lightgbm(zero_model, scoring_rows(8))


def test_thresholds_are_lightgbms_doubles_except_inside_the_zero_band(nan_model):
    scorer = TreeScorer.from_booster(nan_model)
    text = nan_model.model_to_string()
    exact = np.concatenate([np.array(line.split("=")[1].split(), dtype=np.float64)
                            for line in text.splitlines() if line.startswith("threshold=")])
    compiled = scorer.node_threshold
    assert len(compiled) == len(exact)
    assert np.isin(np.array([ZERO, -ZERO]), exact).all()  # LightGBM split at the edges of its zero band
    assert np.isinf(exact).any()  # a split of NaN against every number (dump_model writes 1e300)
    outside = np.abs(exact) > ZERO
    np.testing.assert_array_equal(np.sort(compiled[np.abs(compiled) > np.nextafter(ZERO, np.inf)]),
                                  np.sort(exact[outside]))


def test_only_the_first_num_iteration_trees_are_compiled(nan_model):
    scorer = TreeScorer.from_booster(nan_model, num_iteration=25)
    assert (scorer.n_trees, nan_model.num_trees()) == (25, 60)
    assert_same_as_lightgbm(nan_model, scoring_rows(9), num_iteration=25)


def test_single_leaf_trees():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3))
    y = (rng.random(400) < 0.3).astype(int)
    booster = train(X, y, rounds=10, min_data_in_leaf=300)  # no split can keep 300 rows on each side
    assert all(info["num_leaves"] == 1 for info in booster.dump_model()["tree_info"])
    assert_same_as_lightgbm(booster, X)


def test_save_load_round_trip_gives_identical_scores(nan_model, tmp_path):
    path = tmp_path / "model.txt"
    nan_model.save_model(str(path))
    loaded = lgb.Booster(model_file=str(path))
    X = scoring_rows(10)
    before = TreeScorer.from_booster(nan_model)
    after = TreeScorer.from_booster(loaded)
    np.testing.assert_array_equal(after.raw_many(X), before.raw_many(X))
    np.testing.assert_array_equal(after.probability_many(X), before.probability_many(X))
    assert_same_as_lightgbm(loaded, X)


def test_batches_of_any_size_give_the_same_rows(nan_model):
    scorer = TreeScorer.from_booster(nan_model)
    X = scoring_rows(11)
    whole = scorer.raw_many(X)
    for size in (1, 3, 1023, 1024, 1025, 2100):
        parts = np.concatenate([scorer.raw_many(X[i:i + size]) for i in range(0, len(X), size)])
        np.testing.assert_array_equal(parts, whole)
    assert scorer.raw_many(X[:0]).shape == (0,)
    np.testing.assert_array_equal(scorer.raw_many(np.asfortranarray(X)), whole)


def reference_paths(booster: lgb.Booster, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(leaves, contributions)`` from a plain walk down each tree of the model dump, LightGBM's
    split rules written out row by row (Saabas path contributions)."""
    trees = booster.dump_model()["tree_info"]
    leaves = np.zeros((len(X), len(trees)), np.int64)
    out = np.zeros(X.shape)
    for t, info in enumerate(trees):
        for i, row in enumerate(X):
            node = info["tree_structure"]
            while "split_feature" in node:
                x = row[node["split_feature"]]
                if abs(x) <= ZERO:
                    x = 0.0
                missing = node["missing_type"]
                if np.isnan(x) and missing != "NaN":
                    x = 0.0
                threshold = node["threshold"]
                if abs(threshold) >= 1e300:  # dump_model's stand-in for an infinite threshold
                    threshold = np.copysign(np.inf, threshold)
                if (missing == "Zero" and x == 0.0) or (missing == "NaN" and np.isnan(x)):
                    go_left = node["default_left"]
                else:
                    go_left = x <= threshold
                child = node["left_child"] if go_left else node["right_child"]
                value = child.get("internal_value", child.get("leaf_value"))
                out[i, node["split_feature"]] += value - node["internal_value"]
                node = child
            leaves[i, t] = node.get("leaf_index", 0)
    return leaves, out


@pytest.mark.parametrize("model", ["nan_model", "zero_model"])
def test_path_contributions_equal_a_walk_down_each_tree_and_sum_to_the_raw_score(model, request):
    booster = request.getfixturevalue(model)
    scorer = TreeScorer.from_booster(booster)
    X = scoring_rows(12)[::10]
    raw, contributions = scorer.paths_many(X)
    leaves, expected = reference_paths(booster, X)
    np.testing.assert_array_equal(leaves, booster.predict(X, pred_leaf=True))  # the walk is LightGBM's
    np.testing.assert_allclose(contributions, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scorer.bias + contributions.sum(axis=1), raw, rtol=0, atol=1e-12)


def test_x_of_the_wrong_width_is_refused_naming_the_shape(nan_model):
    scorer = TreeScorer.from_booster(nan_model)
    with pytest.raises(InvalidRecord, match=r"X must have shape \(rows, 5\), got \(2, 4\)"):
        scorer.raw_many(np.zeros((2, 4)))


def test_categorical_splits_are_refused_naming_the_feature():
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.integers(0, 6, 2000), rng.normal(size=2000)]).astype(float)
    y = np.isin(X[:, 0], (1, 4)).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, "min_data_per_group": 5,
                         "cat_smooth": 1},
                        lgb.Dataset(X, y, feature_name=["channel", "amount"], categorical_feature=[0]), 5)
    with pytest.raises(ModelFileError, match="categorical split on feature 'channel'"):
        TreeScorer.from_booster(booster)


def test_too_many_leaves_other_objectives_and_linear_trees_are_refused():
    X, y = make_data(4000, 6, nan_columns=())
    with pytest.raises(ModelFileError, match=f"leaves; at most {MAX_LEAVES} are allowed"):
        TreeScorer.from_booster(train(X, y, rounds=2, num_leaves=100, min_data_in_leaf=2))
    with pytest.raises(ModelFileError, match="binary models only, got objective 'regression'"):
        TreeScorer.from_booster(train(X, y.astype(float), rounds=2, objective="regression"))
    with pytest.raises(ModelFileError, match="linear tree"):
        TreeScorer.from_booster(train(X, y, rounds=2, linear_tree=True))
