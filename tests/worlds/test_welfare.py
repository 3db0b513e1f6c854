"""The welfare world (seed 002): normal payments, the eight anomaly patterns, geo, shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstream.errors import ConfigError
from fraudstream.worlds import get_world, simulate
from fraudstream.worlds.welfare import INDIA_BOX, PATTERNS, SCHEMES_LONG, SCHEMES_SHORT, WelfareWorld

LAT_MIN, LAT_MAX, LON_MIN, LON_MAX = INDIA_BOX


@pytest.fixture(scope="module")
def week() -> pd.DataFrame:
    return simulate("welfare", days=7, seed=4)


def _in_box(frame: pd.DataFrame) -> pd.Series:
    return frame["lat"].between(LAT_MIN, LAT_MAX) & frame["lon"].between(LON_MIN, LON_MAX)


def _pattern(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    rows = frame[frame["fraud_pattern"] == PATTERNS[key]]
    assert len(rows) > 20, key
    return rows


def test_registered_and_deterministic():
    assert get_world("welfare") is WelfareWorld
    a = simulate("welfare", rows=20_000, seed=1)
    pd.testing.assert_frame_equal(a, simulate("welfare", rows=20_000, seed=1))
    assert not a["amount"].equals(simulate("welfare", rows=20_000, seed=2)["amount"])


def test_normal_payments_follow_the_seed(week):
    normal = week[~week["is_fraud"]]
    assert set(normal["amount"]) == {4700.0, 4800.0, 4900.0, 5000.0, 5100.0, 5200.0, 5300.0}
    assert normal["customer_id"].between(10000, 50000).all()
    assert normal["ts"].dt.hour.between(9, 17).all()
    assert (normal["ts"].dt.weekday < 5).all()
    assert _in_box(normal).all()
    assert set(normal["category"]) == set(SCHEMES_SHORT)
    assert (normal["merchant_id"] == normal["category"]).all()
    assert (week["country"] == "IN").all()
    assert (week["ts"].dt.microsecond == 0).all() and (week["ts"].dt.nanosecond == 0).all()
    gaps = normal["ts"].diff().dropna() / pd.Timedelta(seconds=1)
    day_gaps = gaps[gaps < 3600]
    assert day_gaps.between(0, 3).all() and 1.5 < day_gaps.mean() < 2.0


def test_weekends_are_silent(week):
    assert (week["ts"].dt.weekday < 5).all()
    assert week["ts"].dt.date.nunique() == 5


def test_amount_patterns(week):
    rows = _pattern(week, "unusual_amount")
    assert rows["amount"].isin([50000, 75000, 150, 50]).all()
    assert rows["customer_id"].between(60000, 65000).all()
    assert set(_pattern(week, "high_amount")["amount"]) <= {20000, 50000, 70000, 100000}
    assert set(_pattern(week, "low_amount")["amount"]) <= {20, 50, 70, 99}
    for key in ("high_amount", "low_amount", "off_hours", "geo_out_of_bounds"):
        assert _pattern(week, key)["customer_id"].between(10000, 99999).all()


def test_timing_patterns_are_really_at_night(week):
    off = _pattern(week, "off_hours")
    assert off["ts"].dt.hour.between(0, 4).all()
    assert off["amount"].isin([4800, 5000, 5200]).all()
    timing = _pattern(week, "unusual_timing")
    assert (timing["amount"] == 2000).all() and timing["customer_id"].between(65000, 70000).all()
    night = timing["ts"].dt.hour.between(0, 4)
    assert (night | timing["ts"].dt.hour.between(9, 17)).all()
    assert 0.35 < night.mean() < 0.65


def test_bursts_are_one_beneficiary_one_place_minutes_apart(week):
    bursts = _pattern(week, "high_frequency")
    assert (bursts["amount"] == 2000).all() and bursts["customer_id"].between(70000, 75000).all()
    for _, burst in bursts.groupby(["customer_id", "lat"]):
        assert len(burst) == 10
        assert burst["lon"].nunique() == 1 and burst["category"].nunique() == 1
        gaps = burst["ts"].sort_values().diff().dropna()
        assert (gaps == pd.Timedelta(minutes=2)).all()


def test_collusion_rings_are_ten_consecutive_beneficiaries(week):
    rings = _pattern(week, "collusion_ring")
    assert (rings["amount"] == 2000).all()
    for _, ring in rings.groupby(["lat", "lon"]):
        ids = np.sort(ring["customer_id"].to_numpy())
        assert len(ids) == 10 and np.array_equal(ids, np.arange(ids[0], ids[0] + 10))
        assert 80000 <= ids[0] <= 85000 and ring["category"].nunique() == 1


def test_geo_in_and_out_of_the_box(week):
    out = _pattern(week, "geo_out_of_bounds")
    assert not _in_box(out).any()
    assert out["lat"].isin([7.5, 37.8, 38.0]).all() and out["lon"].isin([67.5, 97.9, 98.5]).all()
    assert _in_box(week[week["fraud_pattern"] != PATTERNS["geo_out_of_bounds"]]).all()


def test_anomaly_share_and_pattern_mix(week):
    assert abs(week["is_fraud"].mean() - 0.15) < 0.01
    counts = week.loc[week["is_fraud"], "fraud_pattern"].value_counts(normalize=True)
    assert set(counts.index) == set(PATTERNS.values())
    assert (counts - 1 / 8).abs().max() < 0.03
    low = simulate("welfare", days=3, seed=4, anomaly_share=0.02, patterns="high_amount,off_hours")
    assert abs(low["is_fraud"].mean() - 0.02) < 0.005
    assert set(low.loc[low["is_fraud"], "fraud_pattern"]) == {"High Amount", "Off-hours"}


def test_legit_mix_is_stable_over_time(week):
    legit = week[~week["is_fraud"]]
    middle = len(legit) // 2
    first, second = (part["category"].value_counts(normalize=True)
                     for part in (legit.iloc[:middle], legit.iloc[middle:]))
    assert (first - second).abs().max() < 0.01
    assert abs(legit.iloc[:middle]["amount"].mean() - legit.iloc[middle:]["amount"].mean()) < 10


def test_long_scheme_names_and_parameters():
    frame = simulate("welfare", rows=5000, seed=1, scheme_names="long")
    assert set(frame["category"]) <= set(SCHEMES_LONG)
    with pytest.raises(ConfigError, match="patterns must be a comma-separated subset"):
        WelfareWorld(patterns="bogus")
    with pytest.raises(ConfigError, match="anomaly_share must be in"):
        WelfareWorld(anomaly_share=1.0)
