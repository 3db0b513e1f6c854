"""The classroom world: seed 000's profiles, limits and fraud patterns, checked statistically.

Tolerances are stated per test; runs are long enough (one to three simulated years, 70k-220k
rows, well under a second each) that a correct generator passes with a wide margin and a
wrong parameter fails.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fraudstream import records
from fraudstream.adapters.classroom import decode_line, encode_lines
from fraudstream.errors import ConfigError
from fraudstream.worlds import get_world, simulate
from fraudstream.worlds.classroom import MAX_TX_PER_DAY, ClassroomWorld
from fraudstream.worlds.classroom_fraud import BURST_GAP_S, DUPLICATE_GAP_S
from fraudstream.worlds.classroom_profiles import FRAUD_PATTERNS, PROFILE_TYPES, PROFILES, USER_PROFILES
from tests.support import seed_record

START = pd.Timestamp("2024-01-01", tz="UTC")


@pytest.fixture(scope="module")
def long_run() -> pd.DataFrame:
    """Three simulated years at the default rate (about 220,000 transactions)."""
    return simulate("classroom", days=3 * 365, seed=5, block_days=365)


@pytest.fixture(scope="module")
def classic_run() -> pd.DataFrame:
    return simulate("classroom", days=365, seed=5, classic=True)


@pytest.fixture(scope="module")
def quiet_run() -> pd.DataFrame:
    """Two years at 60 transactions a day, where no daily limit binds."""
    return simulate("classroom", days=2 * 365, seed=6, tx_per_day=60)


def legit(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["is_fraud"]]


def of_pattern(frame: pd.DataFrame, pattern: str) -> pd.DataFrame:
    rows = frame[frame["fraud_pattern"] == pattern]
    assert len(rows) >= 30, f"too few {pattern} rows to test"
    return rows


def item_numbers(rows: pd.DataFrame) -> pd.Series:
    return rows["item_id"].str[1:].astype(int)


def merchant_numbers(rows: pd.DataFrame) -> pd.Series:
    return rows["merchant_id"].str[1:].astype(int)


# -- the users and their profiles ---------------------------------------------------------------


def test_users_follow_the_profile_table(long_run):
    profile_of = long_run.groupby("customer_id")["user_profile"].unique()
    assert sorted(profile_of.index) == list(range(1, 26))
    for user, names in profile_of.items():
        assert list(names) == [PROFILE_TYPES[(user - 1) % 20]]
    assert len(set(USER_PROFILES)) == 20


@pytest.mark.parametrize("profile", [p for p in PROFILE_TYPES if p != "periodic_big_spender"])
def test_legit_amounts_are_clipped_gauss_in_the_profile_range(long_run, profile):
    low, high = PROFILES[profile].amount_range
    std = PROFILES[profile].amount_std
    amounts = legit(long_run).loc[lambda f: f["user_profile"] == profile, "amount"]
    assert len(amounts) > 1000
    assert amounts.min() >= low and amounts.max() <= high
    # the clipped gauss is symmetric around the middle: mean within 4 standard errors (+ rounding)
    assert abs(amounts.mean() - (low + high) / 2) <= 4 * std / np.sqrt(len(amounts)) + 0.01


def test_periodic_big_spender_every_seventh_own_transaction(long_run):
    rows = long_run[long_run["user_profile"] == "periodic_big_spender"].copy()
    rows["nth"] = rows.groupby("customer_id").cumcount() + 1
    big = rows[rows["nth"] % 7 == 0]["amount"]
    small = rows[rows["nth"] % 7 != 0]["amount"]
    assert big.between(300, 600).all() and len(big) > 500
    assert abs(big.mean() - 450) < 5
    assert small.min() >= 5 and (small > 60).any()  # max(5, gauss(35, 15)), not clipped to 60
    assert abs(small.mean() - 35.05) < 0.5


@pytest.mark.parametrize("profile", PROFILE_TYPES)
def test_peak_hours_get_their_share_of_activity(long_run, profile):
    peak = set(PROFILES[profile].peak_hours)
    rows = legit(long_run)[lambda f: f["user_profile"] == profile]
    expected = 1.5 * len(peak) / (1.5 * len(peak) + 0.3 * (24 - len(peak)))
    share = rows["hour_of_day"].isin(peak).mean()
    assert abs(share - expected) < 0.03, (share, expected)


def test_hour_of_day_and_weekend_match_the_timestamp(long_run):
    assert (long_run["hour_of_day"] == long_run["ts"].dt.hour).all()
    assert (long_run["is_weekend"] == (long_run["ts"].dt.weekday >= 5)).all()
    assert (long_run["ts"].dt.nanosecond == 0).all() and (long_run["ts"].dt.microsecond == 0).all()


def test_corporate_card_never_on_weekends(long_run):
    corporate = long_run[long_run["user_profile"] == "corporate_card"]
    assert len(corporate) > 1000
    assert not corporate["is_weekend"].any()


def test_weekend_warrior_triples_on_weekends(quiet_run):
    days = pd.Series(pd.date_range(START, periods=2 * 365, freq="D"))
    weekend_days = (days.dt.weekday >= 5).sum()
    rows = quiet_run[quiet_run["user_profile"] == "weekend_warrior"]
    per_weekend_day = rows["is_weekend"].sum() / weekend_days
    per_weekday = (~rows["is_weekend"]).sum() / (len(days) - weekend_days)
    # weekend_multiplier 3.0, times the ratio of the weekday and weekend normalisations (~0.99)
    assert 2.6 < per_weekend_day / per_weekday < 3.4


@pytest.mark.parametrize("rate", [200.0, MAX_TX_PER_DAY])
def test_daily_limits_are_never_exceeded(rate):
    frame = simulate("classroom", days=365, seed=8, tx_per_day=rate)
    per_day = frame.groupby(["customer_id", frame["ts"].dt.floor("D")]).size()
    limits = np.array([PROFILES[USER_PROFILES[u - 1]].daily_limit for u in per_day.index.get_level_values(0)])
    assert (per_day.to_numpy() <= limits).all()
    assert (per_day.to_numpy() == limits).any()  # limits bind at these rates
    assert abs(len(frame) / 365 - rate) < 0.02 * rate  # the overall rate holds


def test_stream_is_steady_no_daily_silence():
    frame = simulate("classroom", days=28, seed=2)
    hourly = frame.set_index("ts").resample("1h").size()
    assert len(hourly) == 28 * 24
    assert (hourly == 0).mean() < 0.03  # the quietest hour expects ~4 transactions
    empty_runs = (hourly == 0).astype(int).groupby((hourly != 0).cumsum()).sum()
    assert empty_runs.max() <= 2
    daily = frame.groupby(frame["ts"].dt.floor("D")).size()
    assert daily.between(150, 250).all()
    # every hour of the day carries at least 1 % of the traffic (the original: ~20 h of silence)
    assert frame["hour_of_day"].value_counts(normalize=True).min() > 0.01


def test_days_since_last_transaction_recomputed(long_run):
    frame = long_run
    previous = frame.groupby("customer_id")["ts"].shift()
    previous = previous.fillna(START)  # a user's first transaction counts from the world's start
    expected = ((frame["ts"] - previous) // pd.Timedelta(days=1)).astype(int)
    assert (frame["days_since_last_transaction"] == expected).all()
    low_frequency = frame[frame["user_profile"] == "luxury_buyer"]
    assert (low_frequency["days_since_last_transaction"] > 0).mean() > 0.05  # not always 0


def test_items_favourites_and_profile_categories(long_run):
    rows = legit(long_run)
    for user, group in rows.groupby("customer_id"):
        profile = PROFILES[USER_PROFILES[user - 1]]
        assert set(group["category"]) <= set(profile.item_categories)
        counts = group["item_id"].value_counts()
        n_favourites = len(counts[counts > 0.005 * len(group)])
        assert 2 * len(profile.item_categories) <= n_favourites <= 5 * len(profile.item_categories)
        favourite_share = counts.iloc[:n_favourites].sum() / len(group)
        assert abs(favourite_share - 0.7) < 0.03, (user, favourite_share)
    assert (rows["category"] == rows["item_id"].str[0]).all()


def test_merchants_usual_set_carries_behaviour_not_label(long_run):
    rows = legit(long_run)
    numbers = merchant_numbers(long_run)
    assert numbers.between(100, 899).all()  # default mode: no M900-M999 at all
    for _, group in rows.groupby("customer_id"):
        counts = group["merchant_id"].value_counts(normalize=True)
        assert counts.iloc[:6].sum() >= 0.82  # most at a few usual merchants
        assert len(counts) <= 6 + 20


def test_legit_mix_is_stable_over_time(long_run):
    rows = legit(long_run)
    third = len(rows) // 3
    first, last = rows.iloc[:third], rows.iloc[-third:]
    for column, tolerance in (("category", 0.01), ("user_profile", 0.01), ("merchant_id", 0.05)):
        a = first[column].value_counts(normalize=True)
        b = last[column].value_counts(normalize=True)
        total_variation = a.sub(b, fill_value=0).abs().sum() / 2
        assert total_variation < tolerance, (column, total_variation)


# -- fraud ----------------------------------------------------------------------------------------


def test_fraud_only_on_users_13_to_15_at_their_rates(long_run):
    fraud = long_run[long_run["is_fraud"]]
    assert set(fraud["customer_id"]) == {13, 14, 15}
    rate = long_run.groupby("customer_id")["is_fraud"].mean()
    for user, target in ((13, 0.15), (14, 0.12), (15, 0.10)):
        assert abs(rate[user] - target) < 0.015, (user, rate[user])
    assert 0.012 < long_run["is_fraud"].mean() < 0.018
    assert long_run.loc[~long_run["is_fraud"], "fraud_pattern"].isna().all()
    by_user = fraud.groupby("customer_id")["fraud_pattern"].unique()
    for user in (13, 14, 15):
        assert set(by_user[user]) == set(PROFILES[USER_PROFILES[user - 1]].fraud_patterns)
    assert set(fraud["fraud_pattern"]) == set(FRAUD_PATTERNS)


@pytest.mark.parametrize(("pattern", "low", "high"), [
    ("sudden_spike", 300, 500),  # uniform(3 * 100, 5 * 100)
    ("unusual_time", 20, 100),
    ("rapid_succession", 30, 150),  # uniform(20, 100) * 1.5
    ("location_jump", 270, 540),  # uniform(1.5 * 180, 3 * 180)
    ("duplicate_amount", 40, 180),
    ("unusual_item", 270, 540),
    ("midnight_purchase", 60, 300),  # uniform(30, 150) * 2
    ("round_numbers", 100, 500),
    ("category_switch", 225, 450),
])
def test_fraud_amounts_follow_the_original(long_run, pattern, low, high):
    amounts = of_pattern(long_run, pattern)["amount"]
    assert amounts.between(low, high).all()
    assert abs(amounts.mean() - (low + high) / 2) < 0.1 * (high - low)
    if pattern == "duplicate_amount":
        assert (amounts == amounts.round(0)).all()
    if pattern == "round_numbers":
        assert set(amounts) <= {100.0, 200.0, 300.0, 400.0, 500.0}


def test_unusual_time_outside_peak_hours_and_midnight_before_five(long_run):
    unusual = of_pattern(long_run, "unusual_time")
    assert not unusual["hour_of_day"].isin(PROFILES["fraud_prone_1"].peak_hours).any()
    assert unusual["ts"].dt.hour.nunique() >= 8
    midnight = of_pattern(long_run, "midnight_purchase")
    assert midnight["ts"].dt.hour.between(0, 4).all()
    assert midnight["ts"].dt.hour.nunique() == 5


def test_rapid_succession_is_a_real_burst(long_run):
    rows = of_pattern(long_run, "rapid_succession")
    gaps = rows["ts"].diff().dt.total_seconds()
    burst_id = (gaps.isna() | (gaps > BURST_GAP_S[1])).cumsum()
    sizes = rows.groupby(burst_id).size()
    assert sizes.min() >= 2 and (sizes.between(3, 5).mean() > 0.8)
    inner = gaps[gaps <= BURST_GAP_S[1]]
    assert inner.min() >= BURST_GAP_S[0]
    days_since = rows["days_since_last_transaction"]
    assert days_since.groupby(burst_id).apply(lambda d: (d.iloc[1:] == 0).all()).all()


def test_duplicate_amount_repeats_amount_merchant_and_item_within_minutes(long_run):
    rows = of_pattern(long_run, "duplicate_amount")
    # the same charge (a whole-dollar amount at a usual merchant) may recur days apart: pair in time
    charge = rows.groupby(["customer_id", "amount", "merchant_id", "item_id"]).ngroup()
    assert (charge.value_counts() % 2 == 0).all()  # every charge is there twice
    second = (rows.groupby(charge).cumcount() % 2 == 1).to_numpy()
    gap = rows["ts"].groupby(charge).diff().dt.total_seconds()[second]
    assert len(gap) == len(rows) // 2
    assert gap.between(*DUPLICATE_GAP_S).all()


def test_location_jump_goes_to_a_merchant_never_used_before(long_run):
    user = long_run[long_run["customer_id"] == 14].reset_index(drop=True)
    seen: set[str] = set()
    jumps = 0
    for merchant, pattern in zip(user["merchant_id"], user["fraud_pattern"], strict=True):
        if pattern == "location_jump":
            assert merchant not in seen
            jumps += 1
        seen.add(merchant)
    assert jumps >= 30


def test_item_patterns_leave_the_profile_categories(long_run):
    unusual = of_pattern(long_run, "unusual_item")
    assert set(unusual["category"]) == {"B", "F"}  # fraud_prone_2 buys C, D, E
    switch = of_pattern(long_run, "category_switch")
    assert set(switch["category"]) == {"F"}  # fraud_prone_3 buys B, C, D, E
    for rows in (unusual, switch):
        assert item_numbers(rows).between(1000, 9999).all()


def test_default_mode_has_no_tell_tale_merchants_or_items(long_run):
    fraud = long_run[long_run["is_fraud"]]
    assert merchant_numbers(fraud).max() < 900
    others = fraud[~fraud["fraud_pattern"].isin(["unusual_item", "category_switch"])]
    high_items = (item_numbers(others) >= 8000).mean()
    legit_high = (item_numbers(legit(long_run)[lambda f: f["customer_id"].isin([13, 14, 15])]) >= 8000).mean()
    assert abs(high_items - legit_high) < 0.05  # item numbers say nothing
    assert set(others["category"]) != {"E", "F"}


def test_classic_mode_restores_the_tells(classic_run):
    fraud = classic_run[classic_run["is_fraud"]]
    assert merchant_numbers(fraud).between(900, 999).all()
    assert merchant_numbers(legit(classic_run)).between(100, 999).all()
    assert (merchant_numbers(legit(classic_run)) >= 900).mean() < 0.15  # uniform over 100-999
    tells = fraud[~fraud["fraud_pattern"].isin(["unusual_item", "category_switch"])]
    assert set(tells["category"]) == {"E", "F"}
    assert item_numbers(tells).between(8000, 9999).all()
    switch = fraud[fraud["fraud_pattern"] == "category_switch"]
    assert set(switch["category"]) == {"F"} and item_numbers(switch).min() < 8000


# -- determinism, wire format, parameters -----------------------------------------------------------


def test_same_seed_identical_lines_different_seed_differs():
    a = encode_lines(simulate("classroom", rows=3000, seed=4))
    b = encode_lines(simulate("classroom", rows=3000, seed=4))
    c = encode_lines(simulate("classroom", rows=3000, seed=5))
    assert a == b
    assert a != c
    longer = encode_lines(simulate("classroom", rows=9000, seed=4))
    assert longer[:3000] == a  # output never depends on how many rows are asked


def test_start_offsets_and_partial_first_day():
    world = ClassroomWorld(seed=3, start="2024-03-02T15:30:00")
    frame = pd.concat(list(world.generate(days=3)), ignore_index=True)
    assert frame["ts"].min() >= pd.Timestamp("2024-03-02T15:30:00", tz="UTC")
    assert frame["ts"].max() < pd.Timestamp("2024-03-05T15:30:00", tz="UTC")
    assert frame["tx_id"].tolist() == list(range(1, len(frame) + 1))


def test_wire_lines_equal_json_dumps_of_the_seed_record(long_run):
    frame = pd.concat([long_run.iloc[:200], long_run[long_run["is_fraud"]].iloc[:200]])
    frame = frame.sort_values("tx_id")
    for line, row in zip(encode_lines(frame), frame.itertuples(index=False), strict=True):
        record = seed_record(row)
        assert line == (json.dumps(record) + "\n").encode()
        assert decode_line(line) == record


def test_wire_lines_equal_json_dumps_for_unusual_values(long_run):
    """The column-wise encoder spells every value as json.dumps does: whole, tiny and huge
    amounts, non-ASCII and characters to escape, a fraud without a pattern, hidden labels."""
    frame = long_run.iloc[:8].copy()
    frame["amount"] = [16.0, 1e-05, 1e16, 123456789012345.67, 0.0, 3.14, 1e15, 0.00012345]
    frame["item_id"] = ["é1", 'q"x', "a\\b", "tab\tx", "B1", "日本", "ok", "Z9"]
    frame["merchant_id"] = ["M\u2028", "M1", "M2", "M3", "M4", "M5", "M6", "M7"]
    frame["is_fraud"] = [True, True, False, True, False, False, False, False]
    frame["fraud_pattern"] = [None, "spike", None, 'x"y', None, None, None, None]
    for labels in ("inline", "hidden"):
        for line, row in zip(encode_lines(frame, labels=labels), frame.itertuples(index=False), strict=True):
            assert line == (json.dumps(seed_record(row, labels=labels)) + "\n").encode()


def test_frames_follow_the_record_model(long_run, classic_run):
    for frame in (long_run, classic_run):
        records.validate(frame, source="classroom")
        assert list(frame.columns) == [
            "tx_id", "ts", "customer_id", "merchant_id", "amount", "category", "item_id", "is_weekend",
            "hour_of_day", "days_since_last_transaction", "user_profile", "is_fraud", "fraud_pattern"]
        assert frame["tx_id"].tolist() == list(range(1, len(frame) + 1))
        assert frame["ts"].is_monotonic_increasing
        assert (frame["amount"].round(2) == frame["amount"]).all()


def test_welcome_fields():
    fields = ClassroomWorld.welcome_fields()
    assert fields["totalUsers"] == 25 and len(fields["profileTypes"]) == 20


@pytest.mark.parametrize(("params", "message"), [
    ({"tx_per_day": 0}, "tx_per_day must be a number > 0 and <= 219.6"),
    ({"tx_per_day": -5.0}, "got -5.0"),
    ({"tx_per_day": 400}, "daily limits allow on a weekend day\\), got 400"),
    ({"tx_per_day": "lots"}, "parameter tx_per_day must be float, got 'lots'"),
    ({"classic": "maybe"}, "parameter classic must be bool"),
    ({"block_days": 0}, "block_days must be an integer from 1 to 3660, got 0"),
    ({"bogus": 1}, "has no parameter 'bogus'"),
])
def test_bad_parameters_are_config_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        get_world("classroom")(**params)


def test_cli_strings_are_converted():
    world = get_world("classroom")(tx_per_day="150", classic="true", block_days="7")
    assert world.params.tx_per_day == 150.0 and world.params.classic is True and world.params.block_days == 7
