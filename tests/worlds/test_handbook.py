"""The Handbook world: counts and scenario shares against what the model implies, and the
scenario rules row by row, on a scaled-down run (500 customers, 1,000 terminals, 60 days)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fraudstream.errors import ConfigError
from fraudstream.files import write_frames
from fraudstream.worlds import get_world, simulate
from fraudstream.worlds.handbook import BLOCK_DAYS, SCENARIOS, HandbookWorld, available_terminals

SMALL = {"n_customers": 500, "n_terminals": 1000}
DAYS = 60
SEED = 5
# P(0 < trunc(N(43200, 20000)) < 86400): a time of day is kept
P_IN_DAY = 0.5 * (math.erf((86400 - 43200) / 20000 / math.sqrt(2))
                  - math.erf((1 - 43200) / 20000 / math.sqrt(2)))


@pytest.fixture(scope="module")
def world() -> HandbookWorld:
    return HandbookWorld(seed=SEED, **SMALL)


@pytest.fixture(scope="module")
def frame(world) -> pd.DataFrame:
    return pd.concat(world.generate(days=DAYS), ignore_index=True)


@pytest.fixture(scope="module")
def daily_rate(world) -> np.ndarray:
    """Expected kept transactions per customer per day."""
    population = world.population()
    return population.mean_nb_tx_per_day * P_IN_DAY * (population.n_available > 0)


def test_registered_with_the_handbook_defaults():
    world = get_world("handbook")()
    assert world.params.n_customers == 5000 and world.params.n_terminals == 10000
    assert world.params.radius == 5.0
    assert world.start == pd.Timestamp("2018-04-01", tz="UTC") and world.default_days == 183


def test_available_terminals_match_brute_force():
    rng = np.random.default_rng(0)
    customers, terminals = rng.uniform(0, 100, (300, 2)), rng.uniform(0, 100, (700, 2))
    offsets, ids = available_terminals(customers, terminals, 7.5)
    distance = np.hypot(*(customers[:, None, :] - terminals[None, :, :]).transpose(2, 0, 1))
    for c in range(len(customers)):
        assert ids[offsets[c]:offsets[c + 1]].tolist() == np.flatnonzero(distance[c] < 7.5).tolist()


def test_transaction_count_matches_the_model(frame, daily_rate):
    expected = DAYS * daily_rate.sum()
    assert abs(len(frame) - expected) < 4 * math.sqrt(expected)  # Poisson total
    per_customer = frame["customer_id"].value_counts().reindex(range(500), fill_value=0)
    assert np.corrcoef(per_customer.to_numpy(), daily_rate)[0, 1] > 0.95


def test_times_amounts_and_terminals_follow_the_profiles(world, frame):
    population = world.population()
    legit = frame[~frame["is_fraud"]]
    seconds = legit["tx_time_seconds"] - legit["tx_time_days"] * 86400
    assert seconds.between(1, 86399).all()
    assert abs(seconds.mean() - 43200) < 300 and abs(seconds.std() - 19000) < 1000  # truncated normal
    assert (legit["ts"] == pd.Timestamp(world.start) + pd.to_timedelta(legit["tx_time_seconds"], "s")).all()
    ratio = legit.groupby("customer_id")["amount"].mean() / population.mean_amount[
        legit.groupby("customer_id")["amount"].mean().index]
    assert abs(ratio.median() - 1) < 0.05
    owners = legit["customer_id"].to_numpy()
    allowed = np.repeat(np.arange(500), population.n_available) * 1000 + population.terminals
    assert np.isin(owners * 1000 + legit["merchant_id"].to_numpy(), allowed).all()
    assert (population.n_available[np.unique(owners)] > 0).all()


def test_amount_over_220_is_fraud_and_as_frequent_as_the_model_says(world, frame, daily_rate):
    assert frame.loc[frame["amount"] > 220, "is_fraud"].all()
    mean = world.population().mean_amount
    p_over = 1 - stats.norm.cdf(220, loc=mean, scale=mean / 2)
    expected = DAYS * (daily_rate * p_over).sum()
    observed = ((frame["amount"] > 220) & (frame["fraud_pattern"] != "compromised_card")).sum()
    assert abs(observed - expected) < 4 * math.sqrt(expected) + 3
    assert (frame.loc[frame["fraud_pattern"] == "amount_over_220", "amount"] > 220).all()


def _terminal_window(world, frame) -> np.ndarray:
    schedule = world.compromise_schedule(DAYS)
    terminal = schedule[schedule["scenario"] == 2]
    length = world.params.terminal_compromise_days
    keys = {(t, d + k) for d, t in zip(terminal["day"], terminal["id"], strict=True) for k in range(length)}
    pairs = zip(frame["merchant_id"], frame["tx_time_days"], strict=True)
    return np.array([(t, d) in keys for t, d in pairs])


def test_compromised_terminal_windows_hold_row_by_row(world, frame, daily_rate):
    in_window = _terminal_window(world, frame)
    pattern = frame["fraud_pattern"]
    assert frame.loc[in_window, "is_fraud"].all()
    assert (pattern[in_window] != "amount_over_220").all()
    assert ((pattern == "compromised_terminal") == (in_window & (pattern != "compromised_card"))).all()
    # expected transactions in the windows, given which terminals were compromised
    population = world.population()
    owner = np.repeat(np.arange(500), population.n_available)
    share = np.where(population.n_available > 0, daily_rate / np.maximum(population.n_available, 1), 0)
    terminal_rate = np.bincount(population.terminals, weights=share[owner], minlength=1000)
    schedule = world.compromise_schedule(DAYS)
    days_open = {(t, d + k) for d, t in zip(schedule.loc[schedule["scenario"] == 2, "day"],
                                            schedule.loc[schedule["scenario"] == 2, "id"], strict=True)
                 for k in range(28) if d + k < DAYS}
    expected = sum(terminal_rate[t] for t, _ in days_open)
    assert abs(in_window.sum() - expected) < 4 * math.sqrt(expected)


def test_compromised_cards_lose_one_third_of_their_window_at_five_times_the_amount(world, frame, daily_rate):
    clean = pd.concat(HandbookWorld(seed=SEED, compromised_customers_per_day=0, **SMALL)
                      .generate(days=DAYS), ignore_index=True)
    assert clean["tx_id"].equals(frame["tx_id"]) and clean["merchant_id"].equals(frame["merchant_id"])
    card = (frame["fraud_pattern"] == "compromised_card").to_numpy()
    assert not (clean["fraud_pattern"] == "compromised_card").any()
    once = np.isclose(frame["amount"], np.round(clean["amount"] * 5, 2), atol=0.006)
    twice = np.isclose(frame["amount"], np.round(clean["amount"] * 25, 2), atol=0.006)  # two windows
    assert (once | twice)[card].all() and twice[card].sum() < 0.02 * card.sum()
    assert (frame["amount"][~card] == clean["amount"][~card]).all()
    schedule = world.compromise_schedule(DAYS)
    windows = schedule[schedule["scenario"] == 3]
    length = world.params.card_compromise_days
    observed, expected, variance, in_any = 0, 0.0, 0.0, np.zeros(len(frame), bool)
    for day, customer in zip(windows["day"], windows["id"], strict=True):
        rows = ((frame["customer_id"] == customer)
                & frame["tx_time_days"].between(day, day + length - 1)).to_numpy()
        in_any |= rows
        overlapping = ((windows["id"] == customer) & ((windows["day"] - day).abs() < length)).sum() > 1
        if day + length <= DAYS and not overlapping:
            assert card[rows].sum() == rows.sum() // 3, (day, customer)
            observed += card[rows].sum()
            k = np.arange(400)
            pmf = stats.poisson.pmf(k, length * daily_rate[customer])
            expected += (pmf * (k // 3)).sum()
            variance += (pmf * (k // 3) ** 2).sum() - (pmf * (k // 3)).sum() ** 2
    assert not card[~in_any].any()
    assert observed > 50 and abs(observed - expected) < 4 * math.sqrt(variance)


def test_scenario_numbers_are_recoverable():
    assert SCENARIOS == {1: "amount_over_220", 2: "compromised_terminal", 3: "compromised_card"}


def test_same_seed_same_parquet_bytes_and_different_seed_differs(tmp_path):
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"]
    for path, seed in zip(paths, (3, 3, 4), strict=True):
        write_frames(HandbookWorld(seed=seed, **SMALL).generate(days=20), path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_rows_limit_is_a_prefix_across_block_boundaries(frame):
    for rows in (1, 7777, 20_001):
        short = simulate("handbook", rows=rows, seed=SEED, **SMALL)
        pd.testing.assert_frame_equal(short, frame.iloc[:rows].reset_index(drop=True))


def test_legit_mix_is_stable_over_time(world, frame):
    # a compromised terminal's transactions all turn fraud for 28 days: compare the others
    schedule = world.compromise_schedule(DAYS)
    compromised = schedule.loc[schedule["scenario"] == 2, "id"]
    legit = frame[~frame["is_fraud"] & ~frame["merchant_id"].isin(compromised)]
    first = legit[legit["tx_time_days"] < DAYS // 3]
    last = legit[legit["tx_time_days"] >= DAYS - DAYS // 3]
    table = pd.crosstab(pd.concat([first, last])["merchant_id"],
                        np.r_[np.zeros(len(first)), np.ones(len(last))])
    assert stats.chi2_contingency(table.to_numpy()).pvalue > 0.001
    assert stats.ks_2samp(first["amount"], last["amount"]).pvalue > 0.001
    hours = [part["ts"].dt.hour.value_counts(normalize=True).sort_index() for part in (first, last)]
    assert (hours[0] - hours[1]).abs().max() < 0.01


def test_scenarios_continue_past_the_reference_run():
    world = HandbookWorld(seed=2, n_customers=300, n_terminals=600)
    frame = pd.concat(world.generate(days=400), ignore_index=True)
    assert frame["tx_time_days"].max() == 399
    late = frame[frame["tx_time_days"] >= 300]
    assert set(late["fraud_pattern"].dropna()) >= {"compromised_terminal", "compromised_card"}
    assert frame["tx_id"].to_numpy().tolist() == list(range(len(frame)))
    blocks = world.blocks()
    spans = [next(blocks)["tx_time_days"] for _ in range(3)]
    assert [(int(s.min()), int(s.max())) for s in spans] == [
        (b * BLOCK_DAYS, b * BLOCK_DAYS + BLOCK_DAYS - 1) for b in range(3)]


@pytest.mark.parametrize(("params", "message"), [
    ({"radius": "-1"}, "radius must be > 0, got -1.0"),
    ({"n_customers": "0"}, "n_customers must be >= 1, got 0"),
    ({"compromised_terminals_per_day": "20", "n_terminals": "10"},
     "compromised_terminals_per_day must be between 0 and n_terminals"),
    ({"n_terminals": "many"}, "parameter n_terminals must be int, got 'many'"),
])
def test_bad_parameters_name_the_field(params, message):
    with pytest.raises(ConfigError, match=message):
        HandbookWorld(**params)
