"""The sparkov world: determinism, fraud bursts, amounts, geography and a stable legit mix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fraudstream import records
from fraudstream.errors import ConfigError
from fraudstream.worlds import get_world, simulate
from fraudstream.worlds import sparkov_profiles as prof
from fraudstream.worlds.sparkov import FRAUD_PATTERN, SparkovWorld

SEED = 5
DAYS = 364  # 52 whole weeks: every weekday equally often in each quarter compared below
NIGHT = set(prof.NIGHT_HOURS.tolist())


@pytest.fixture(scope="module")
def world() -> SparkovWorld:
    return SparkovWorld(seed=SEED)


@pytest.fixture(scope="module")
def year(world: SparkovWorld) -> pd.DataFrame:
    """A year of the default world: about 950,000 transactions."""
    return pd.concat(list(world.generate(days=DAYS)), ignore_index=True)


@pytest.fixture(scope="module")
def legit(year: pd.DataFrame) -> pd.DataFrame:
    return year[~year["is_fraud"]]


@pytest.fixture(scope="module")
def fraud(year: pd.DataFrame) -> pd.DataFrame:
    return year[year["is_fraud"]]


def total_variation(a: pd.Series, b: pd.Series) -> float:
    """Total-variation distance between the value distributions of two columns."""
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(0.5 * pa.sub(pb, fill_value=0).abs().sum())


def early_and_late(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """First 13 weeks (January-March) and last 13 weeks (October-December)."""
    week = (frame["ts"] - pd.Timestamp(SparkovWorld.default_start)).dt.days // 7
    return frame[week < 13], frame[week >= 39]


def test_is_registered_and_frames_follow_the_record_model(year):
    assert get_world("sparkov") is SparkovWorld
    records.validate(year, source="sparkov")
    assert list(year.columns) == [
        "tx_id", "ts", "customer_id", "merchant_id", "amount", "category", "lat", "lon",
        "merchant_lat", "merchant_lon", "region", "first", "last", "gender", "street", "city", "zip",
        "city_pop", "job", "dob", "trans_num", "unix_time", "is_fraud", "fraud_pattern"]
    assert year["tx_id"].tolist()[:3] == [0, 1, 2] and year["tx_id"].is_monotonic_increasing
    assert year["ts"].is_monotonic_increasing
    assert year["ts"].min() >= pd.Timestamp("2019-01-01", tz="UTC")
    assert year["ts"].max() < pd.Timestamp("2019-12-31", tz="UTC")
    assert year["customer_id"].dtype == np.int64 and year["unix_time"].dtype == np.int64
    assert (year["unix_time"] == year["ts"].astype("int64") // 10**9).all()
    assert year["trans_num"].str.fullmatch(r"[0-9a-f]{32}").all() and year["trans_num"].is_unique
    assert set(year["category"]) == set(prof.CATEGORIES)


def test_same_seed_same_data_other_seed_differs():
    a = simulate("sparkov", days=21, seed=3, n_customers=300, n_merchants=200)
    b = simulate("sparkov", days=21, seed=3, n_customers=300, n_merchants=200)
    pd.testing.assert_frame_equal(a, b)
    c = simulate("sparkov", days=21, seed=4, n_customers=300, n_merchants=200)
    assert len(a) != len(c) or not a["amount"].equals(c["amount"])
    assert set(a["customer_id"]).isdisjoint(set(c["customer_id"]))


def test_blocks_do_not_depend_on_how_much_is_asked(world, year):
    short = pd.concat(list(world.generate(days=10)), ignore_index=True)
    pd.testing.assert_frame_equal(short, year.iloc[: len(short)].reset_index(drop=True))
    assert short["ts"].max() < pd.Timestamp("2019-01-11", tz="UTC") <= year["ts"].iloc[len(short)]


def test_a_start_inside_a_day_drops_the_earlier_hours():
    world = SparkovWorld(seed=1, n_customers=200, n_merchants=100, start="2020-03-01T13:30")
    frame = pd.concat(list(world.generate(days=2)), ignore_index=True)
    assert frame["ts"].min() >= pd.Timestamp("2020-03-01T13:30", tz="UTC")
    assert frame["ts"].max() < pd.Timestamp("2020-03-03T13:30", tz="UTC")


def test_customers_have_profiles_cards_and_addresses(world, year):
    customers = world.customers
    assert len(customers) == 1000 and customers["cc_num"].is_unique
    digits = customers["cc_num"].astype(str).str.len()
    assert digits.between(13, 19).all() and digits.nunique() >= 4
    assert set(customers["profile"]) == set(range(len(prof.PROFILES)))
    age = (pd.Timestamp("2019-01-01") - pd.to_datetime(customers["dob"])).dt.days / 365
    low, high = np.array(prof.AGE_RANGES)[prof.PROFILE_AGE_BAND[customers["profile"]]].T
    assert ((age >= low - 0.01) & (age < high + 1.01)).all()
    female = prof.PROFILE_GENDER[customers["profile"]] == 0
    assert (customers["gender"].to_numpy() == np.where(female, "F", "M")).all()
    rural = prof.PROFILE_AREA[customers["profile"]] == 1
    assert customers.loc[rural, "city_pop"].max() < customers.loc[~rural, "city_pop"].min()
    assert customers["zip"].between(10000, 99999).all() and customers["street"].str.match(r"\d+ ").all()
    # the canonical rows carry the customer's attributes
    merged = year.drop_duplicates("customer_id").merge(customers, left_on="customer_id", right_on="cc_num")
    assert (merged["first_x"] == merged["first_y"]).all() and (merged["region"] == merged["state"]).all()
    assert np.allclose(merged["lat_x"], merged["lat_y"]) and np.allclose(merged["lon"], merged["long"])


def test_fraud_rate_is_near_the_target(year):
    rate = year["is_fraud"].mean()
    assert 0.0045 <= rate <= 0.0065, rate  # target 0.0055; about 300 bursts in a year
    assert (year.loc[year["is_fraud"], "fraud_pattern"] == FRAUD_PATTERN).all()


def test_fraud_rate_is_a_knob():
    frame = simulate("sparkov", days=91, seed=2, n_customers=500, fraud_rate=0.02)
    assert 0.016 <= frame["is_fraud"].mean() <= 0.024
    clean = simulate("sparkov", days=28, seed=2, n_customers=300, fraud_rate=0.0)
    assert not clean["is_fraud"].any() and clean["fraud_pattern"].isna().all()


def test_bursts_last_one_or_two_days_with_7_to_16_transactions_a_day(fraud):
    day = fraud["ts"].dt.floor("D")
    per_day = fraud.groupby([fraud["customer_id"], day]).size()
    assert per_day.between(7, 16).all(), per_day.describe()
    assert per_day.min() == 7 and per_day.max() == 16
    # a burst is a run of consecutive days of one card
    days = per_day.reset_index()[["customer_id", "ts"]]
    gap = days.groupby("customer_id")["ts"].diff()
    assert (gap.dropna() != pd.Timedelta(days=2)).all()  # bursts are never one day apart
    burst = (gap.isna() | (gap > pd.Timedelta(days=1))).cumsum()
    length = days.groupby(burst).size()
    assert set(length) == {1, 2}
    assert len(length) > 250 and 0.35 < (length == 2).mean() < 0.65


def test_fraud_is_mostly_at_night_in_fraud_prone_categories_with_large_amounts(fraud, legit):
    night = fraud["ts"].dt.hour.isin(NIGHT).mean()
    assert abs(night - 0.8) < 0.03, night
    assert legit["ts"].dt.hour.isin(NIGHT).mean() < 0.15
    shares = fraud["category"].value_counts(normalize=True)
    expected = pd.Series(prof.FRAUD_CATEGORY_WEIGHTS, index=prof.CATEGORIES)
    assert set(shares.index) == set(expected[expected > 0].index)
    assert (shares - expected[shares.index]).abs().max() < 0.03
    assert set(shares.index[:3]) <= {"shopping_net", "grocery_pos", "misc_net", "shopping_pos"}
    assert fraud["amount"].mean() > 5 * legit["amount"].mean()


def test_legit_amounts_follow_the_gamma_of_their_category_and_profile(world, legit):
    profile = legit["customer_id"].map(world.customers.set_index("cc_num")["profile"]).to_numpy()
    category = legit["category"].map({c: i for i, c in enumerate(prof.CATEGORIES)}).to_numpy()
    shape = prof.LEGIT_GAMMA_SHAPE[category]
    scale = prof.LEGIT_GAMMA_SCALE[category] * prof.PROFILE_AMOUNT_FACTOR[profile]
    table = pd.DataFrame({"category": category, "amount": legit["amount"].to_numpy(),
                          "mean": shape * scale, "var": shape * scale**2})
    for k, rows in table.groupby("category"):
        standard_error = np.sqrt(rows["var"].mean() / len(rows))
        # the $1.00 floor raises the mean of small-shape categories by a few cents
        assert abs(rows["amount"].mean() - rows["mean"].mean()) < 4 * standard_error + 0.1, prof.CATEGORIES[k]
    # the whole distribution, in one cell of one profile and category
    p, k = prof.PROFILES.index("adult_female_urban"), prof.CATEGORIES.index("gas_transport")
    cell = table.loc[(profile == p) & (category == k), "amount"]
    assert len(cell) > 3000
    gamma = stats.gamma(prof.LEGIT_GAMMA_SHAPE[k],
                        scale=prof.LEGIT_GAMMA_SCALE[k] * prof.PROFILE_AMOUNT_FACTOR[p])
    assert stats.kstest(cell, gamma.cdf).pvalue > 0.001
    assert (legit["amount"] >= 1.0).all()


def test_merchants_are_named_like_kaggle_with_one_category_and_near_home(world, year):
    assert year["merchant_id"].str.startswith("fraud_").all()
    assert (year.groupby("merchant_id")["category"].nunique() == 1).all()
    assert len(world.merchants) == 800 and world.merchants["merchant"].is_unique
    assert year["merchant_id"].nunique() > 700
    assert ((year["merchant_lat"] - year["lat"]).abs() <= 1 + 1e-6).all()
    assert ((year["merchant_lon"] - year["lon"]).abs() <= 1 + 1e-6).all()
    # legit purchases go to a few favourite merchants per category, at a fixed outlet each
    legit = year[~year["is_fraud"]]
    favourites = legit.groupby(["customer_id", "category"])["merchant_id"].nunique()
    assert favourites.max() <= 5
    outlets = legit.groupby(["customer_id", "merchant_id"])[["merchant_lat", "merchant_lon"]].nunique()
    assert (outlets.max() == 1).all()


def test_legit_category_mix_is_stable_over_time(legit):
    """Sparkov v1.0 made a legitimate transaction's category depend on its date; here the
    January-March and October-December mixes (about 200,000 rows each) agree."""
    early, late = early_and_late(legit)
    assert min(len(early), len(late)) > 150_000
    assert total_variation(early["category"], late["category"]) < 0.01
    table = pd.crosstab(pd.concat([early, late])["category"],
                        np.r_[np.zeros(len(early)), np.ones(len(late))])
    assert stats.chi2_contingency(table).pvalue > 0.001


def test_legit_merchant_mix_is_stable_over_time(legit):
    early, late = early_and_late(legit)
    # 800 merchants: sampling noise alone gives a distance of about 0.035
    assert total_variation(early["merchant_id"], late["merchant_id"]) < 0.06
    table = pd.crosstab(pd.concat([early, late])["merchant_id"],
                        np.r_[np.zeros(len(early)), np.ones(len(late))])
    assert stats.chi2_contingency(table).pvalue > 0.001


def test_the_stability_checks_catch_a_date_dependent_mix(legit):
    """The checks above can fail: a v1.0-like defect (category drawn by date) is caught."""
    early, late = early_and_late(legit)
    rng = np.random.default_rng(0)
    redraw = rng.random(len(late)) < 0.1
    # mild: 10 % of the late rows drawn from a tilted category distribution -> chi-square fails
    weights = np.linspace(0.5, 1.5, len(prof.CATEGORIES))  # favours grocery_net, travel, ...
    tilted = rng.choice(prof.CATEGORIES, size=len(late), p=weights / weights.sum())
    mild = late.assign(category=np.where(redraw, tilted, late["category"]))
    table = pd.crosstab(pd.concat([early, mild])["category"], np.r_[np.zeros(len(early)), np.ones(len(late))])
    assert stats.chi2_contingency(table).pvalue < 1e-6
    # strong: 10 % of the late rows become holiday travel -> the distance bound fails too
    strong = late.assign(category=np.where(redraw, "travel", late["category"]))
    assert total_variation(early["category"], strong["category"]) >= 0.01


def test_calendar_weights_set_the_volume(world, legit):
    daily = legit.groupby(legit["ts"].dt.floor("D")).size()
    month = daily.groupby(daily.index.month).mean()
    expected = prof.MONTH_WEIGHTS[11] / prof.MONTH_WEIGHTS[1]
    assert abs(month[12] / month[2] / expected - 1) < 0.08
    # day of week: each customer's rate times the weight of their age band
    band = prof.PROFILE_AGE_BAND[world.customers["profile"].to_numpy()]
    rate = world._population["rate"]
    expected_share = (rate[:, None] * prof.DOW_WEIGHTS[band]).sum(axis=0)
    expected_share /= expected_share.sum()
    share = legit["ts"].dt.weekday.value_counts(normalize=True).sort_index().to_numpy()
    assert np.abs(share - expected_share).max() < 0.004


def test_bad_parameters_name_the_field():
    with pytest.raises(ConfigError, match="n_merchants must be >= 14, got 5"):
        SparkovWorld(n_merchants=5)
    with pytest.raises(ConfigError, match="burst_max_per_day must be >= burst_min_per_day"):
        SparkovWorld(burst_min_per_day=9, burst_max_per_day=8)
    with pytest.raises(ConfigError, match=r"fraud_rate must be in \[0, 0.5\)"):
        SparkovWorld(fraud_rate=0.7)
    with pytest.raises(ConfigError, match="parameter n_customers must be int"):
        SparkovWorld(n_customers="many")
