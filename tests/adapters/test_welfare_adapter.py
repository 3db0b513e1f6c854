"""The welfare adapter: seed 002's SQLite transactions table <-> canonical."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from fraudstream import records
from fraudstream.adapters import detect_adapter, get_adapter
from fraudstream.errors import InvalidRecord
from fraudstream.worlds import simulate

ADAPTER = get_adapter("welfare")

CREATE = """CREATE TABLE transactions (
  transaction_id INTEGER PRIMARY KEY AUTOINCREMENT, beneficiary_id INTEGER NOT NULL,
  amount REAL NOT NULL, timestamp TEXT NOT NULL, latitude REAL, longitude REAL,
  scheme_type TEXT, is_anomaly INTEGER NOT NULL, fraud_type TEXT, status TEXT, anomaly_score REAL)"""


def seed_database(path) -> None:
    """A small database as the seed's generator, live feed and monitor leave it."""
    rows = [
        (12345, 5100.0, "2023-03-01 10:15:00", 20.5, 78.9, "PM-KISAN", 0, None, None, None),
        (60010, 75000.0, "2023-03-02 11:00:00", 12.0, 80.0, "MGNREGA", 1, "Unusual Amount",
         "ANOMALY", 0.91),
        (55555, 5000.0, "2023-03-02 11:05:07", 7.5, 98.5, "Housing", 1, "Geo Out-of-Bounds", None, None),
        (23456, 4900.0, "2023-03-03 09:00:00", 30.0, 90.0, "Jan Dhan", 0, "Unusual Pattern",
         "ANOMALY", 0.40),  # the monitor's false alarm: a type on a normal row
    ]
    with sqlite3.connect(path) as db:
        db.execute(CREATE)
        db.executemany("INSERT INTO transactions (beneficiary_id, amount, timestamp, latitude, "
                       "longitude, scheme_type, is_anomaly, fraud_type, status, anomaly_score) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def read_table(path) -> pd.DataFrame:
    with sqlite3.connect(path) as db:
        return pd.read_sql_query("SELECT * FROM transactions", db)


def test_sqlite_table_round_trips_exactly(tmp_path):
    seed_database(tmp_path / "transactions.db")
    table = read_table(tmp_path / "transactions.db")
    frame = records.validate(ADAPTER.to_canonical(table))
    assert frame["tx_id"].tolist() == [1, 2, 3, 4]
    assert frame["is_fraud"].tolist() == [False, True, True, False]
    assert frame["fraud_pattern"].tolist() == [None, "Unusual Amount", "Geo Out-of-Bounds", None]
    assert frame["fraud_type"].tolist()[3] == "Unusual Pattern"
    assert (frame["merchant_id"] == frame["category"]).all() and (frame["country"] == "IN").all()
    assert str(frame["ts"].iloc[2]) == "2023-03-02 11:05:07+00:00"
    back = ADAPTER.from_canonical(frame)
    pd.testing.assert_frame_equal(back, table)


def test_world_round_trips_through_sqlite(tmp_path):
    world = simulate("welfare", rows=5000, seed=3)
    table = ADAPTER.from_canonical(world)
    assert list(table.columns) == list(ADAPTER.columns)
    with sqlite3.connect(tmp_path / "w.db") as db:
        db.execute(CREATE)
        table.to_sql("transactions", db, if_exists="append", index=False)
    back = ADAPTER.to_canonical(read_table(tmp_path / "w.db"))
    pd.testing.assert_frame_equal(back, world)


def test_unscored_rows_have_no_status_attrs():
    table = ADAPTER.from_canonical(simulate("welfare", rows=50, seed=1))
    frame = ADAPTER.to_canonical(table)
    assert "status" not in frame.columns and "anomaly_score" not in frame.columns
    assert table["status"].isna().all() and np.isnan(table["anomaly_score"]).all()


def test_missing_columns_and_bad_values_are_named(tmp_path):
    seed_database(tmp_path / "t.db")
    table = read_table(tmp_path / "t.db")
    with pytest.raises(InvalidRecord, match=r"welfare: missing column\(s\) beneficiary_id"):
        ADAPTER.to_canonical(table.drop(columns=["beneficiary_id"]))
    bad = table.copy()
    bad.loc[1, "timestamp"] = "02/03/2023"
    with pytest.raises(InvalidRecord, match=r"timestamp must be a time like 2024-01-31 13:05:00, "
                                            r"got '02/03/2023' \(row 1\)"):
        ADAPTER.to_canonical(bad)
    bad = table.astype({"latitude": object})
    bad.loc[0, "latitude"] = "north"
    with pytest.raises(InvalidRecord, match="latitude must be a number, got 'north'"):
        ADAPTER.to_canonical(bad)


def test_detected_from_its_columns():
    assert detect_adapter(ADAPTER.columns).name == "welfare"
