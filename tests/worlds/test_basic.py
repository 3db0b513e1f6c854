"""The basic world: seed 000's stream_server.py random stream."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fraudstream import records
from fraudstream.errors import ConfigError
from fraudstream.stream.feed import encode_basic_lines
from fraudstream.worlds import WORLD_MODULES, get_world, simulate
from fraudstream.worlds.basic import BLOCK_ROWS


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return simulate("basic", rows=200_000, seed=3)


def test_registered():
    assert WORLD_MODULES["basic"] == "fraudstream.worlds.basic"
    assert get_world("basic").name == "basic"


def test_uniform_users_amounts_and_items(frame):
    records.validate(frame, source="basic")
    users = frame["customer_id"]
    assert users.min() == 1 and users.max() == 100
    assert users.value_counts().between(2000 * 0.85, 2000 * 1.15).all()  # 2,000 expected each
    amount = frame["amount"]
    assert amount.between(5, 500).all() and (amount.round(2) == amount).all()
    assert abs(amount.mean() - 252.5) < 1.5  # uniform(5, 500): sd 143, standard error 0.32
    assert frame["item_id"].str.fullmatch(r"[ECBDF][1-9]\d{3}").all()
    assert (frame["category"] == frame["item_id"].str[0]).all()
    letters = frame["category"].value_counts(normalize=True)
    assert set(letters.index) == set("ECBDF") and (abs(letters - 0.2) < 0.01).all()
    numbers = frame["item_id"].str[1:].astype(int)
    assert numbers.min() == 1000 and numbers.max() == 9999


def test_no_labels_but_a_labelled_frame(frame):
    assert not frame["is_fraud"].any() and frame["is_fraud"].dtype == bool
    assert frame["fraud_pattern"].isna().all()
    assert (frame["merchant_id"] == "unknown").all()


def test_one_transaction_per_interval_across_blocks(frame):
    assert len(frame) > BLOCK_ROWS  # spans several blocks
    assert frame["tx_id"].tolist() == list(range(1, len(frame) + 1))
    seconds = (frame["ts"] - frame["ts"].iloc[0]).dt.total_seconds().to_numpy()
    assert np.array_equal(seconds, np.arange(len(frame), dtype=float))
    half = simulate("basic", rows=10, seed=3, interval_s=0.5)
    assert half["ts"].dt.second.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_wire_lines_have_the_five_seed_fields(frame):
    part = frame.iloc[:100]
    for line, row in zip(encode_basic_lines(part), part.itertuples(index=False), strict=True):
        record = {"transactionID": row.tx_id, "userID": row.customer_id, "amount": row.amount,
                  "timestamp": row.ts.strftime("%Y-%m-%dT%H:%M:%S"), "itemID": row.item_id}
        assert line == (json.dumps(record) + "\n").encode()


def test_deterministic_and_prefix_stable(frame):
    again = simulate("basic", rows=1000, seed=3)
    pd.testing.assert_frame_equal(again, frame.iloc[:1000].reset_index(drop=True))
    other = simulate("basic", rows=1000, seed=4)
    assert not again["amount"].equals(other["amount"])


@pytest.mark.parametrize(("params", "message"), [
    ({"interval_s": 0}, "interval_s must be a number of seconds > 0"),
    ({"interval_s": "fast"}, "parameter interval_s must be float"),
    ({"n_users": 0}, "n_users must be an integer >= 1, got 0"),
])
def test_bad_parameters(params, message):
    with pytest.raises(ConfigError, match=message):
        get_world("basic")(**params)
