"""The seed001 adapter: seed 001's notebook table <-> canonical."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from fraudstream import records
from fraudstream.adapters import detect_adapter, get_adapter
from fraudstream.errors import InvalidRecord
from fraudstream.files import read_frames, write_frames
from fraudstream.worlds import simulate

ADAPTER = get_adapter("seed001")


def seed_table(n: int = 4) -> pd.DataFrame:
    """Rows as the notebook builds them (uuid ids, naive timestamps)."""
    ts = pd.date_range("2025-06-02 08:15:00.123456", periods=n, freq="37min")
    return pd.DataFrame({
        "transaction_id": [str(uuid.UUID(int=i + 1, version=4)) for i in range(n)],
        "event_timestamp": ts,
        "user_id": [f"user_{i % 3}" for i in range(n)],
        "amount": [12.5, 4000.01, 99.0, 5.0][:n],
        "transaction_type": ["purchase", "transfer", "deposit", "payment"][:n],
        "location": ["atm", "domestic_pos", "international_online", "atm"][:n],
        "is_fraud_actual": [0, 1, 0, 1][:n],
        "tx_hour": ts.hour.astype("int64"),
        "tx_day_of_week": ts.weekday.astype("int64"),
    })


def test_seed_table_round_trips_exactly():
    table = seed_table()
    frame = records.validate(ADAPTER.to_canonical(table))
    assert frame["tx_id"].tolist() == table["transaction_id"].tolist()
    assert frame["customer_id"].tolist() == ["user_0", "user_1", "user_2", "user_0"]
    assert frame["is_fraud"].tolist() == [False, True, False, True]
    assert (frame["category"] == table["transaction_type"]).all()
    assert (frame["channel"] == table["location"]).all()
    pd.testing.assert_frame_equal(ADAPTER.from_canonical(frame), table)


def test_world_round_trips_except_the_pattern():
    world = simulate("pyspark-demo", rows=3000, seed=2)
    table = ADAPTER.from_canonical(world)
    assert list(table.columns) == list(ADAPTER.columns)
    back = ADAPTER.to_canonical(table)
    pd.testing.assert_frame_equal(back, world.assign(fraud_pattern=None))


def test_csv_file_round_trip(tmp_path):
    path = tmp_path / "seed001.csv"
    table = seed_table()
    write_frames([table], path)
    read = pd.concat(list(read_frames(path)), ignore_index=True)
    frame = ADAPTER.to_canonical(read)
    pd.testing.assert_frame_equal(frame, ADAPTER.to_canonical(table))


def test_missing_columns_and_bad_values_are_named():
    with pytest.raises(InvalidRecord, match=r"seed001: missing column\(s\) user_id"):
        ADAPTER.to_canonical(seed_table().drop(columns=["user_id"]))
    bad = seed_table()
    bad.loc[2, "amount"] = -3.0
    with pytest.raises(InvalidRecord, match=r"amount must be >= 0.0, got -3.0 \(row 2\)"):
        ADAPTER.to_canonical(bad)
    bad = seed_table()
    bad["is_fraud_actual"] = [0, 2, 0, 0]
    with pytest.raises(InvalidRecord, match="is_fraud_actual must be 0 or 1, got 2"):
        ADAPTER.to_canonical(bad)
    bad = seed_table().astype({"event_timestamp": str})
    bad.loc[1, "event_timestamp"] = "yesterday"
    with pytest.raises(InvalidRecord, match="event_timestamp must be an ISO 8601 time, got 'yesterday'"):
        ADAPTER.to_canonical(bad)


def test_detected_from_its_columns():
    assert detect_adapter(seed_table().columns).name == "seed001"
