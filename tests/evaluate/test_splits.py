"""Temporal splits never leak; known compromised cards leave the test set as in the Handbook."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstream.errors import ConfigError, InvalidRecord
from fraudstream.evaluate.splits import prequential_folds, temporal_split


def transactions(days: int = 60, per_day: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * per_day
    ts = pd.Timestamp("2018-06-01", tz="UTC") + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, n)), "s")
    return pd.DataFrame({"ts": ts, "customer_id": rng.integers(0, 300, n), "is_fraud": rng.random(n) < 0.03})


def test_blocks_are_ordered_and_the_right_length():
    frame = transactions()
    split = temporal_split(frame, "2018-07-01", remove_known_compromised=False)
    ts = frame["ts"]
    assert ts.iloc[split.train].max() < split.delay_start <= ts.iloc[split.delay].min()
    assert ts.iloc[split.delay].max() < split.test_start <= ts.iloc[split.test].min()
    assert ts.iloc[split.test].max() < split.test_end
    assert split.test_start - split.train_start == pd.Timedelta(days=14)
    assert split.test_start - ts.iloc[split.train].max() > pd.Timedelta(days=7)
    days = ((ts - split.train_start) // pd.Timedelta(days=1))
    assert set(days.iloc[split.train]) == set(range(7))
    assert set(days.iloc[split.test]) == set(range(14, 21))
    assert not set(split.train) & set(split.test)


def test_known_compromised_cards_are_removed_like_the_handbook():
    frame = transactions()
    split = temporal_split(frame, "2018-07-01")
    full = temporal_split(frame, "2018-07-01", remove_known_compromised=False)
    # plain recomputation of the Handbook's get_train_test_set
    day = ((frame["ts"] - pd.Timestamp("2018-07-01", tz="UTC")) // pd.Timedelta(days=1)).to_numpy()
    known = set(frame.loc[(day >= 0) & (day < 7) & frame["is_fraud"], "customer_id"])
    expected = []
    for d in range(7):
        known |= set(frame.loc[(day == 7 + d - 1) & frame["is_fraud"], "customer_id"])
        rows = np.flatnonzero((day == 14 + d) & ~frame["customer_id"].isin(known).to_numpy())
        expected.extend(rows.tolist())
    assert split.test.tolist() == sorted(expected)
    assert split.removed_from_test == len(full.test) - len(split.test) > 0


def test_prequential_folds_step_back_and_never_leak():
    frame = transactions(days=75)
    folds = prequential_folds(frame, "2018-07-20", n_folds=4)
    assert [f.train_start.date().isoformat() for f in folds] == \
        ["2018-07-20", "2018-07-13", "2018-07-06", "2018-06-29"]
    for fold in folds:
        assert len(fold.train) and len(fold.test)
        assert frame["ts"].iloc[fold.test].min() - frame["ts"].iloc[fold.train].max() > pd.Timedelta(days=7)


def test_bad_arguments():
    frame = transactions(days=5)
    with pytest.raises(ConfigError, match="train_days must be an int >= 1, got 0"):
        temporal_split(frame, "2018-06-01", train_days=0)
    with pytest.raises(InvalidRecord, match="column customer_id missing"):
        temporal_split(frame.drop(columns=["customer_id"]), "2018-06-01")
    with pytest.raises(InvalidRecord, match="timezone-aware"):
        temporal_split(frame.assign(ts=frame["ts"].dt.tz_localize(None)), "2018-06-01")
