"""The hacker adapter: seed 003's Kafka message (+ is_fraud) <-> canonical."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from fraudstream import records
from fraudstream.adapters import detect_adapter, get_adapter
from fraudstream.errors import InvalidRecord
from fraudstream.worlds import simulate

ADAPTER = get_adapter("hacker")

MESSAGES = [  # as the seed's producers serialise them (json.dumps)
    '{"account_id": 11111, "transaction_amount": 123.45, "transaction_time": "2024-05-01 10:00:00", '
    '"location": "India", "transaction_method": "PayPal", "user_transactions_last_24h": 2}',
    '{"account_id": 22222, "transaction_amount": 1402.1, "transaction_time": "2024-05-01 10:00:01", '
    '"location": "China", "transaction_method": "Cryptocurrency", "user_transactions_last_24h": 9}',
]


def messages() -> pd.DataFrame:
    return pd.DataFrame([json.loads(m) for m in MESSAGES])


def test_kafka_messages_round_trip_exactly():
    table = messages()
    frame = records.validate(ADAPTER.to_canonical(table))
    assert frame["tx_id"].tolist() == [1, 2]
    assert frame["customer_id"].tolist() == [11111, 22222]
    assert frame["country"].tolist() == ["India", "China"]
    assert frame["channel"].tolist() == ["PayPal", "Cryptocurrency"]
    assert "is_fraud" not in frame.columns  # the seed's messages carry no label
    pd.testing.assert_frame_equal(ADAPTER.from_canonical(frame), table)


def test_labelled_table_round_trips():
    table = messages().assign(is_fraud=[False, True])
    frame = ADAPTER.to_canonical(table)
    assert frame["fraud_pattern"].tolist() == [None, "hacker"]
    pd.testing.assert_frame_equal(ADAPTER.from_canonical(frame), table)


def test_world_round_trips_except_the_account_attrs():
    world = simulate("hacker", rows=2000, seed=5)
    table = ADAPTER.from_canonical(world)
    assert list(table.columns) == list(ADAPTER.columns)
    back = ADAPTER.to_canonical(table)
    pd.testing.assert_frame_equal(back, world.drop(columns=["signup_time", "account_age"]))


def test_table_export_columns_are_used():
    table = messages().assign(transaction_id=[7, 8], account_age=[500, 900], transaction_hour=[10, 10])
    frame = ADAPTER.to_canonical(table)
    assert frame["tx_id"].tolist() == [7, 8] and frame["account_age"].tolist() == [500, 900]


def test_missing_columns_and_bad_values_are_named():
    with pytest.raises(InvalidRecord, match=r"hacker: missing column\(s\) transaction_method"):
        ADAPTER.to_canonical(messages().drop(columns=["transaction_method"]))
    bad = messages()
    bad.loc[1, "transaction_time"] = "2024-05-01T10:00:01Z"
    with pytest.raises(InvalidRecord, match="transaction_time must be a time like 2024-01-31 13:05:00"):
        ADAPTER.to_canonical(bad)
    bad = messages().astype({"user_transactions_last_24h": float})
    bad.loc[0, "user_transactions_last_24h"] = 2.5
    with pytest.raises(InvalidRecord, match=r"user_transactions_last_24h must be a whole number, got 2\.5"):
        ADAPTER.to_canonical(bad)
    with pytest.raises(InvalidRecord, match="attr user_transactions_last_24h is missing"):
        ADAPTER.from_canonical(simulate("pyspark-demo", rows=3, seed=1))


def test_detected_from_its_columns():
    assert detect_adapter(messages().columns).name == "hacker"
