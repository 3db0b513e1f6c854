"""The hacker world (seed 003): the two producers, their ranges, rates and the accounts."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudstream.errors import ConfigError
from fraudstream.worlds import get_world, simulate
from fraudstream.worlds.hacker import LOCATIONS, METHODS, HackerWorld


@pytest.fixture(scope="module")
def hours() -> pd.DataFrame:
    return simulate("hacker", days=0.25, seed=8)


def test_registered_and_deterministic():
    assert get_world("hacker") is HackerWorld
    a = simulate("hacker", rows=5000, seed=1)
    pd.testing.assert_frame_equal(a, simulate("hacker", rows=5000, seed=1))
    assert not a["amount"].equals(simulate("hacker", rows=5000, seed=2)["amount"])


def test_both_producers_send_one_message_per_second(hours):
    assert len(hours) == 2 * 6 * 3600
    per_second = hours.groupby(["ts", "is_fraud"]).size()
    assert (per_second == 1).all()
    assert hours["is_fraud"].mean() == 0.5


def test_normal_producer_ranges(hours):
    normal = hours[~hours["is_fraud"]]
    assert normal["amount"].between(1, 1000).all()
    assert set(normal["user_transactions_last_24h"]) == {0, 1, 2, 3}
    assert normal["fraud_pattern"].isna().all()


def test_hacker_producer_ranges(hours):
    hacker = hours[hours["is_fraud"]]
    assert hacker["amount"].between(950, 1500).all()
    assert set(hacker["user_transactions_last_24h"]) == {7, 8, 9}
    assert (hacker["fraud_pattern"] == "hacker").all()


def test_accounts_locations_methods(hours):
    assert set(hours["customer_id"]) == {11111, 22222}
    assert set(hours["country"]) == set(LOCATIONS) and set(hours["channel"]) == set(METHODS)
    assert (hours["merchant_id"] == "unknown").all()
    for column in ("customer_id", "country", "channel"):
        shares = hours[column].value_counts(normalize=True)
        assert (shares - 1 / len(shares)).abs().max() < 0.02, column


def test_signup_and_account_age_as_the_seed_derives(hours):
    first = hours[hours["customer_id"] == 11111].iloc[0]
    assert first["signup_time"] == pd.Timestamp("2022-09-18 14:35:22", tz="UTC")
    assert first["account_age"] == (first["ts"] - first["signup_time"]).days
    second = hours[hours["customer_id"] == 22222].iloc[0]
    assert second["signup_time"] == pd.Timestamp("2021-08-05 09:15:37", tz="UTC")


def test_rate_share_and_accounts_are_parameters():
    frame = simulate("hacker", days=1 / 24, seed=3, rate_per_s=10, hacker_share=0.1, n_accounts=5)
    assert len(frame) == 36_000
    assert abs(frame["is_fraud"].mean() - 0.1) < 1e-9
    assert set(frame["customer_id"]) == {11111, 22222, 33333, 44444, 55555}
    assert (frame["ts"].dt.nanosecond == 0).all() and (frame["ts"].dt.microsecond == 0).all()
    assert not simulate("hacker", rows=1000, seed=3, hacker_share=0)["is_fraud"].any()


def test_legit_mix_is_stable_over_time():
    legit = simulate("hacker", days=1, seed=2).query("not is_fraud")
    middle = len(legit) // 2
    for column in ("country", "channel"):
        first, second = (part[column].value_counts(normalize=True)
                         for part in (legit.iloc[:middle], legit.iloc[middle:]))
        assert (first - second).abs().max() < 0.01, column


def test_bad_parameters():
    with pytest.raises(ConfigError, match="hacker_share must be in"):
        HackerWorld(hacker_share=1.5)
    with pytest.raises(ConfigError, match="rate_per_s must be > 0"):
        HackerWorld(rate_per_s=0)
