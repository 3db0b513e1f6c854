"""The pyspark-demo world (seed 001): profiles, series, patterns and the un-flagging rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstream.errors import ConfigError
from fraudstream.worlds import get_world, simulate
from fraudstream.worlds.pyspark_demo import LOCATION_TYPES, TRANSACTION_TYPES, PySparkDemoWorld


@pytest.fixture(scope="module")
def long_run() -> tuple[PySparkDemoWorld, pd.DataFrame]:
    world = PySparkDemoWorld(seed=5)
    return world, pd.concat(list(world.generate(days=600)), ignore_index=True)


def _profile(world: PySparkDemoWorld, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.merge(world.profiles, left_on="customer_id", right_on="user_id", how="left")


def test_registered_and_deterministic():
    assert get_world("pyspark-demo") is PySparkDemoWorld
    a = simulate("pyspark-demo", days=20, seed=3)
    pd.testing.assert_frame_equal(a, simulate("pyspark-demo", days=20, seed=3))
    b = simulate("pyspark-demo", days=20, seed=4)
    assert len(a) != len(b) or not a["amount"].equals(b["amount"])


def test_users_and_profiles_follow_the_seed():
    world = PySparkDemoWorld(seed=1)
    profiles = world.profiles
    assert profiles["user_id"].tolist() == [f"user_{i}" for i in range(40)]
    assert profiles["usual_max_amount"].between(200, 1000).all()
    assert profiles["usual_locations"].map(len).isin([1, 2]).all()
    assert profiles["usual_locations"].map(lambda locs: set(locs) <= set(LOCATION_TYPES)).all()
    assert profiles["preferred_tx_type"].isin(TRANSACTION_TYPES).all()


def test_gaps_are_whole_minutes_between_1_and_360(long_run):
    _, frame = long_run
    for _, user in frame.groupby("customer_id"):
        gaps = user["ts"].diff().dropna() / pd.Timedelta(minutes=1)
        assert gaps.between(1, 360).all()
        assert (gaps == gaps.round()).all()


def test_legit_rows_follow_the_profile(long_run):
    world, frame = long_run
    rows = _profile(world, frame[~frame["is_fraud"]])
    assert (rows["amount"] >= 5.0).all()
    assert (rows["amount"] <= (rows["usual_max_amount"] * 0.5).round(2)).all()
    preferred = (rows["category"] == rows["preferred_tx_type"]).mean()
    assert 0.7 + 0.3 / 5 - 0.02 < preferred < 0.7 + 0.3 / 5 + 0.02
    assert (rows["merchant_id"] == rows["channel"]).all()
    assert rows["tx_hour"].equals(rows["ts"].dt.hour.astype(np.int64))
    assert rows["tx_day_of_week"].equals(rows["ts"].dt.weekday.astype(np.int64))


def test_each_pattern_row_by_row(long_run):
    world, frame = long_run
    rows = _profile(world, frame[frame["is_fraud"]])
    high = rows[rows["fraud_pattern"] == "high_amount"]
    assert len(high) > 1000
    assert (high["amount"] >= (high["usual_max_amount"] * 2.5).round(2)).all()
    assert (high["amount"] <= (high["usual_max_amount"] * 8).round(2)).all()
    moved = rows[rows["fraud_pattern"] == "unusual_location_freq"]
    assert len(moved) > 1000
    usual = [loc in locs for loc, locs in zip(moved["channel"], moved["usual_locations"], strict=True)]
    assert not any(usual)
    assert (moved["amount"] <= (moved["usual_max_amount"] * 0.5).round(2)).all()
    assert frame.loc[~frame["is_fraud"], "fraud_pattern"].isna().all()


def test_fraud_share_near_the_seeds_rule(long_run):
    # expected share: 0.10 (anomaly series) + 0.90 x 0.03 (random) = 0.127; the seed's run: 0.146
    _, frame = long_run
    share = frame["is_fraud"].mean()
    assert 0.09 < share < 0.17, share
    assert abs((frame["fraud_pattern"] == "high_amount").mean()
               - (frame["fraud_pattern"] == "unusual_location_freq").mean()) < 0.02


def test_anomaly_series_come_in_runs():
    frame = simulate("pyspark-demo", days=300, seed=2, random_anomaly_share=0.0)
    for _, user in frame.groupby("customer_id"):
        flags = user["is_fraud"].to_numpy()
        if flags.any():  # with no random anomalies, fraud only comes in whole series
            starts = np.flatnonzero(np.diff(flags.astype(int)) == 1)
            assert flags.sum() / max(len(starts), 1) > 20
            break
    else:
        pytest.fail("no anomaly series in 300 days")


def test_unflag_rule_applies_when_the_high_amount_is_not_high():
    # with a low factor below 1.5, some high_amount candidates land below 1.5 x usual max at a
    # usual location: the seed un-flags exactly those
    world = PySparkDemoWorld(seed=9, high_amount_low_factor=0.1, high_amount_high_factor=1.0,
                             anomaly_series_share=0.5)
    frame = pd.concat(list(world.generate(days=60)), ignore_index=True)
    rows = _profile(world, frame)
    at_usual = np.array([loc in locs for loc, locs in zip(rows["channel"], rows["usual_locations"],
                                                          strict=True)])
    low = rows["amount"] < 1.5 * rows["usual_max_amount"]
    assert not (rows["is_fraud"] & low & at_usual).any()
    assert (rows["is_fraud"] & (rows["fraud_pattern"] == "high_amount")).any()  # not all unflagged


def test_legit_mix_is_stable_over_time(long_run):
    _, frame = long_run
    legit = frame[~frame["is_fraud"]]
    middle = len(legit) // 2
    halves = (legit.iloc[:middle], legit.iloc[middle:])
    for column in ("category", "channel"):
        first, second = (h[column].value_counts(normalize=True) for h in halves)
        assert (first - second).abs().max() < 0.03, column


def test_bad_parameters():
    with pytest.raises(ConfigError, match="n_users must be >= 1"):
        PySparkDemoWorld(n_users=0)
    with pytest.raises(ConfigError, match="random_anomaly_share must be in"):
        PySparkDemoWorld(random_anomaly_share=2)
