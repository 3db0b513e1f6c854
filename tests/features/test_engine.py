"""Feature engine contract: no leakage, label delay, save/restore, eviction, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fraudstream.features as features
from fraudstream.errors import ConfigError, InvalidRecord, LabelLeakError, ModelFileError
from fraudstream.features import FeatureEngine, FeatureSpec, build_features
from tests.features.features_testdata import SHORT_SPEC, micro_batches, random_frame


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_all_is_honest() -> None:
    for name in features.__all__:
        assert hasattr(features, name), name


def test_appending_later_events_never_changes_earlier_features() -> None:
    frame = random_frame(21)
    fraud = np.random.default_rng(0).random(len(frame)) < 0.3
    full = build_features(frame, SHORT_SPEC, labels=fraud, label_delay="1d")
    for k in (1, 137, 400):
        prefix = build_features(frame.iloc[:k], SHORT_SPEC, labels=fraud[:k], label_delay="1d")
        _assert_same(prefix, full.iloc[:k])


def test_a_label_younger_than_the_delay_never_changes_a_feature() -> None:
    frame = random_frame(22)
    fraud = np.random.default_rng(1).random(len(frame)) < 0.4
    cut = frame["ts"].iloc[350]
    delay = pd.Timedelta(SHORT_SPEC.risk_delay)
    everything = FeatureEngine(SHORT_SPEC)
    everything.learn_labels(frame["tx_id"], fraud, frame["ts"])  # every label, known at once
    only_old = FeatureEngine(SHORT_SPEC)
    old = (frame["ts"] <= cut - delay).to_numpy()
    only_old.learn_labels(frame["tx_id"][old], fraud[old], frame["ts"][old])
    a = everything.transform_many(frame)
    b = only_old.transform_many(frame)
    upto = (frame["ts"] <= cut).to_numpy()
    _assert_same(a[upto], b[upto])
    assert a.loc[~upto, "merchant_delayed_frauds_3d"].sum() > b.loc[~upto, "merchant_delayed_frauds_3d"].sum()


def test_a_label_not_yet_known_is_not_used() -> None:
    frame = random_frame(23)
    late = FeatureEngine(SHORT_SPEC)
    late.learn_labels(frame["tx_id"], np.ones(len(frame), bool), frame["ts"] + pd.Timedelta("60D"))
    out = late.transform_many(frame)
    assert (out["merchant_delayed_count_3d"] > 0).any()
    assert (out["merchant_delayed_frauds_3d"] == 0).all() and (out["merchant_risk_3d"] == 0).all()


def test_withdrawn_label_stops_counting() -> None:
    frame = random_frame(24)
    engine = FeatureEngine(SHORT_SPEC)
    engine.learn_labels(frame["tx_id"], np.ones(len(frame), bool), frame["ts"])
    engine.learn_labels(frame["tx_id"], np.zeros(len(frame), bool), frame["ts"])
    assert len(engine.labels) == 0


@pytest.mark.parametrize("spec", [SHORT_SPEC, FeatureSpec.default(), FeatureSpec.handbook()],
                         ids=["short", "default", "handbook"])
def test_save_and_load_continue_identically(tmp_path, spec: FeatureSpec) -> None:
    frame = random_frame(25, n=800, days=40)
    frame["customer_id"] = "C" + frame["customer_id"].astype(str)  # string ids round-trip too
    fraud = np.random.default_rng(2).random(len(frame)) < 0.3
    straight = FeatureEngine(spec)
    straight.learn_labels(frame["tx_id"], fraud, frame["ts"] + pd.Timedelta("3D"))
    first, second = frame.iloc[:500], frame.iloc[500:]
    expected = pd.concat([straight.transform_many(b) for b in micro_batches(frame, 3)])
    resumed = FeatureEngine(spec)
    resumed.learn_labels(frame["tx_id"], fraud, frame["ts"] + pd.Timedelta("3D"))
    got = [resumed.transform_many(b) for b in micro_batches(first, 3)]
    resumed.save(tmp_path / "engine.npz")
    restored = FeatureEngine.load(tmp_path / "engine.npz")
    assert restored.spec == spec and restored.watermark_ns == resumed.watermark_ns
    got += [restored.transform_many(b) for b in micro_batches(second, 4)]
    got_frame = pd.concat(got)
    _assert_same(got_frame.sort_index(), expected.sort_index())


def test_load_rejects_a_foreign_file(tmp_path) -> None:
    path = tmp_path / "junk.npz"
    np.savez(path, meta=np.frombuffer(b'{"format": "other"}', np.uint8))
    with pytest.raises(ModelFileError, match="format"):
        FeatureEngine.load(path)
    (tmp_path / "text.npz").write_text("not numpy")
    with pytest.raises(ModelFileError):
        FeatureEngine.load(tmp_path / "text.npz")


def _churning_customers(days: int, per_day: int = 200, seed: int = 0) -> pd.DataFrame:
    """Each customer is active for one day only: without eviction their state would pile up."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    day = np.repeat(np.arange(days), per_day)
    seconds = day * 86400 + np.sort(rng.uniform(0, 86400, n))
    return pd.DataFrame({
        "tx_id": np.arange(n, dtype=np.int64),
        "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.floor(seconds), unit="s"),
        "customer_id": (day * 50 + rng.integers(0, 50, n)).astype(np.int64),
        "merchant_id": rng.integers(0, 20, n).astype(np.int64),
        "amount": np.round(rng.uniform(1, 100, n), 2),
    })


def test_eviction_bounds_entities_and_memory_without_changing_window_features() -> None:
    spec = FeatureSpec(entities=("customer",), windows=("1h", "1d"), velocity=(), history_window="1d",
                       repeat_window=None, novelty_window="1d", risk_windows=(), ttl="2d")
    long_ttl = FeatureSpec(**{**spec.to_dict(), "ttl": None})
    frame = _churning_customers(days=60)
    bounded, unbounded = FeatureEngine(spec), FeatureEngine(long_ttl)
    sizes, nbytes = [], []
    a, b = [], []
    for start in range(0, len(frame), 100):
        batch = frame.iloc[start:start + 100]
        a.append(bounded.transform_many(batch))
        b.append(unbounded.transform_many(batch))
        sizes.append(bounded.n_entities()["customer"])
        nbytes.append(bounded.nbytes())
    assert max(sizes) <= 50 * 4 and unbounded.n_entities()["customer"] > 2500
    assert bounded.evicted > 2500
    assert max(nbytes[len(nbytes) // 2:]) <= 2 * max(nbytes[: len(nbytes) // 2])  # flat, not growing
    a_frame, b_frame = pd.concat(a), pd.concat(b)
    windows = [c for c in a_frame.columns if c != "customer_seconds_since_prev"]
    _assert_same(a_frame[windows], b_frame[windows])


def test_max_entities_evicts_the_least_recently_seen() -> None:
    spec = FeatureSpec(entities=("customer",), windows=("1h",), velocity=(), risk_windows=(),
                       max_entities=100)
    engine = FeatureEngine(spec)
    frame = _churning_customers(days=5)
    for start in range(0, len(frame), 100):
        engine.transform_many(frame.iloc[start:start + 100])
        assert engine.n_entities()["customer"] <= 110
    last = frame.iloc[-100:]["customer_id"].unique()
    assert set(last) <= set(engine.states["customer"].index)


def test_ties_are_broken_by_tx_id_also_for_text_ids(make_frame) -> None:
    frame = make_frame(n=3, tx_id=np.array(["b", "a", "c"], dtype=object),
                       ts=pd.to_datetime(["2024-01-01T10:00:00"] * 3, utc=True)).drop(
        columns=["is_fraud", "fraud_pattern"])
    out = FeatureEngine(FeatureSpec(entities=("customer",), windows=("1h",))).transform_many(frame)
    assert out["customer_count_1h"].tolist() == [2.0, 1.0, 3.0]


def test_transform_one_equals_a_batch_of_one() -> None:
    frame = random_frame(26, n=50)
    a, b = FeatureEngine(SHORT_SPEC), FeatureEngine(SHORT_SPEC)
    for i in range(len(frame)):
        one = b.transform_one(frame.iloc[i].to_dict())
        row = a.transform_many(frame.iloc[i:i + 1]).iloc[0]
        assert one.keys() == row.to_dict().keys()
        np.testing.assert_array_equal(np.array(list(one.values())), row.to_numpy())


def test_late_events_beyond_the_tolerance_are_refused(make_frame) -> None:
    frame = make_frame(n=4).drop(columns=["is_fraud", "fraud_pattern"])
    engine = FeatureEngine(FeatureSpec(max_lateness_s=150))
    engine.transform_many(frame.iloc[2:])
    tolerated = engine.transform_many(frame.iloc[1:2])  # 2 minutes late: processed at the watermark
    assert tolerated["customer_count_1m"].iloc[0] == 2.0  # counted with the event at the watermark
    with pytest.raises(InvalidRecord, match=r"tx_id 1 .* 180 s before .* max_lateness_s=150"):
        engine.transform_many(frame.iloc[:1])


def test_bad_input_is_refused_with_a_clear_error(make_frame) -> None:
    frame = make_frame(n=3)
    engine = FeatureEngine()
    with pytest.raises(LabelLeakError, match="is_fraud"):
        engine.transform_many(frame)
    with pytest.raises(LabelLeakError):
        engine.fit_transform(frame)
    with pytest.raises(InvalidRecord, match="missing column"):
        engine.transform_many(frame.drop(columns=["is_fraud", "fraud_pattern", "amount"]))
    with pytest.raises(InvalidRecord, match="ts must be timezone-aware"):
        engine.transform_many(frame.drop(columns=["is_fraud", "fraud_pattern"]).assign(
            ts=pd.date_range("2024-01-01", periods=3, freq="min")))
    inputs = frame.drop(columns=["is_fraud", "fraud_pattern"])
    engine.transform_many(inputs.assign(category="food"))
    with pytest.raises(InvalidRecord, match="missing column.*category"):
        engine.transform_many(inputs.assign(ts=inputs["ts"] + pd.Timedelta("1h")))
    with pytest.raises(InvalidRecord, match="is_fraud must be bool"):
        engine.learn_labels([1], [1.5], inputs["ts"].iloc[:1])
    with pytest.raises(InvalidRecord, match="labels must have one value per history row"):
        FeatureEngine().fit_transform(inputs, labels=[True])


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ConfigError, match="stats may only hold"):
        FeatureSpec(stats=("median",))
    with pytest.raises(ConfigError, match="ttl must be at least"):
        FeatureSpec(ttl="1d")
    with pytest.raises(ConfigError, match="window must be"):
        FeatureSpec(risk_delay="a week")
    with pytest.raises(ConfigError, match="select names"):
        build_features(random_frame(1, n=5), FeatureSpec(select=("no_such_feature",)))
    assert FeatureSpec.from_dict(FeatureSpec.handbook().to_dict()) == FeatureSpec.handbook()


def test_compaction_between_every_batch_changes_nothing() -> None:
    frame = random_frame(27, n=500, days=6)
    plain, compacted = FeatureEngine(SHORT_SPEC), FeatureEngine(SHORT_SPEC)
    for batch in micro_batches(frame, 5):
        expected = plain.transform_many(batch)
        got = compacted.transform_many(batch)
        _assert_same(got, expected)
        for state in compacted.states.values():
            state.compact()


def test_transform_one_refuses_labels_and_incomplete_records() -> None:
    engine = FeatureEngine(SHORT_SPEC)
    tx = {"tx_id": 1, "ts": "2024-01-01T10:00:00", "customer_id": 1, "merchant_id": "M1", "amount": 5.0}
    with pytest.raises(LabelLeakError, match="is_fraud"):
        engine.transform_one({**tx, "is_fraud": True})
    with pytest.raises(InvalidRecord, match="missing field.*amount"):
        engine.transform_one({k: v for k, v in tx.items() if k != "amount"})
    with pytest.raises(InvalidRecord, match="amount must be a number >= 0, got -1.0"):
        engine.transform_one({**tx, "amount": -1.0})
    assert engine.transform_one(tx)["customer_count_1h"] == 1.0  # naive ts taken as UTC
