"""Seed 004's PostgreSQL transactions table: round trips in the table's types, bad input."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from fraudstream import records
from fraudstream.adapters import get_adapter
from fraudstream.adapters.kaggle import KaggleAdapter
from fraudstream.adapters.seed004 import ANOMALY_COLUMNS, SEED004_COLUMNS, Seed004Adapter
from fraudstream.errors import InvalidRecord
from fraudstream.files import write_frames
from fraudstream.worlds import simulate

ADAPTER = Seed004Adapter()
SHARED = ["tx_id", "ts", "customer_id", "merchant_id", "amount", "category", "region", "city"]


@pytest.fixture(scope="module")
def canonical() -> pd.DataFrame:
    return simulate("sparkov", days=14, seed=3, n_customers=200, n_merchants=150)


def table_rows(n: int = 4) -> pd.DataFrame:
    """Rows as a query on the seed's table returns them (after the analysis script ran)."""
    return pd.DataFrame({
        "trans_date_trans_time": pd.to_datetime(["2019-01-01 00:00:18", "2019-01-01 00:00:44",
                                                 "2019-01-01 00:00:51", "2019-01-01 00:01:16"][:n]),
        "cc_num": ["2703186189652095", "630423337322", "38859492057661", "3534093764340240"][:n],
        "merchant": ["fraud_Rippin, Kub and Mann", "fraud_Heller, Gutmann and Zieme",
                     "fraud_Lind-Buckridge", "fraud_Kutch, Hermiston and Farrell"][:n],
        "category": ["misc_net", "grocery_pos", "entertainment", "gas_transport"][:n],
        "amt": [4.97, 107.23, 220.11, 45.0][:n],
        "city": ["Moravian Falls", "Orient", "Malad City", "Boulder"][:n],
        "state": ["NC", "WA", "ID", "MT"][:n],
        "anomaly_score": [0.07812, -0.01234, np.nan, 0.1][:n],
        "is_anomaly": pd.array([1, -1, None, 1][:n], dtype="Int64"),
    })


def test_registered_under_its_name_and_unlabelled():
    assert isinstance(get_adapter("seed004"), Seed004Adapter)
    frame = ADAPTER.to_canonical(table_rows())
    assert "is_fraud" not in frame and "fraud_pattern" not in frame
    records.validate(frame, source="seed004")
    assert frame["customer_id"].dtype == np.int64
    assert frame["ts"].iloc[0] == pd.Timestamp("2019-01-01 00:00:18", tz="UTC")


def test_table_rows_round_trip_in_the_tables_types():
    table = table_rows()
    back = ADAPTER.from_canonical(ADAPTER.to_canonical(table))
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    plain = table[list(SEED004_COLUMNS)]
    pd.testing.assert_frame_equal(ADAPTER.from_canonical(ADAPTER.to_canonical(plain)), plain)


def test_card_numbers_that_are_not_plain_integers_stay_text():
    table = table_rows().assign(cc_num=["0703186189652095", "630423337322", "x-1", "99999999999999999999"])
    frame = ADAPTER.to_canonical(table)
    assert frame["customer_id"].tolist()[0] == "0703186189652095"
    pd.testing.assert_frame_equal(ADAPTER.from_canonical(frame), table)


def test_text_timestamps_and_decimal_amounts_as_drivers_return_them():
    table = table_rows(2).assign(
        trans_date_trans_time=["2019-01-01 00:00:18", "2019-01-01T00:00:44"],
        amt=[Decimal("4.97"), Decimal("107.23")], cc_num=[2703186189652095, 630423337322])
    frame = ADAPTER.to_canonical(table)
    assert frame["amount"].tolist() == [4.97, 107.23]
    assert frame["ts"].tolist() == [pd.Timestamp("2019-01-01 00:00:18", tz="UTC"),
                                    pd.Timestamp("2019-01-01 00:00:44", tz="UTC")]
    assert frame["customer_id"].tolist() == [2703186189652095, 630423337322]


def test_the_world_through_the_seeds_table_keeps_the_columns_it_has(canonical):
    table = ADAPTER.from_canonical(canonical)
    assert list(table.columns) == list(SEED004_COLUMNS)
    assert table["trans_date_trans_time"].dtype == "datetime64[ns]"
    assert table["cc_num"].map(type).eq(str).all()
    back = ADAPTER.to_canonical(table)
    pd.testing.assert_frame_equal(back, canonical[SHARED], check_exact=True)


def test_the_etl_input_is_a_kaggle_file(tmp_path, canonical):
    """The seed's ETL reads the Kaggle CSV and keeps 7 columns: same rows, same values."""
    path = tmp_path / "credit_card_transactions.csv"
    write_frames([KaggleAdapter().from_canonical(canonical)], path)
    kaggle = pd.read_csv(path)
    frame = ADAPTER.to_canonical(kaggle[list(SEED004_COLUMNS)])
    pd.testing.assert_frame_equal(frame, canonical[SHARED], check_exact=True)


@pytest.mark.parametrize(("column", "value", "message"), [
    ("trans_date_trans_time", "soon", r"trans_date_trans_time must be a date-time, got 'soon' \(row 1\)"),
    ("amt", "lots", r"amt must be a number >= 0, got 'lots' \(row 1\)"),
    ("amt", -1.0, r"amt must be a number >= 0, got -1.0 \(row 1\)"),
    ("city", None, r"city must not be empty \(row 1\)"),
    ("is_anomaly", 0, r"is_anomaly must be -1 \(anomaly\), 1 \(normal\) or empty, got 0 \(row 1\)"),
    ("anomaly_score", "high", r"anomaly_score must be a number, got 'high' \(row 1\)"),
])
def test_bad_values_are_named(column, value, message):
    table = table_rows()
    table[column] = table[column].astype(object)
    table.loc[1, column] = value
    with pytest.raises(InvalidRecord, match=message):
        ADAPTER.to_canonical(table)


def test_missing_columns_are_named():
    table = table_rows().drop(columns=["merchant", "state"])
    with pytest.raises(InvalidRecord, match=r"seed004: missing column\(s\) merchant, state"):
        ADAPTER.to_canonical(table)
    assert set(ANOMALY_COLUMNS) <= set(Seed004Adapter.columns)
    assert not Seed004Adapter.matches(["trans_date_trans_time", "cc_num", "amt"])
