"""The Kaggle "credit card transactions" layout: lossless both ways, the CLI, bad input."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fraudstream import records
from fraudstream.adapters import get_adapter
from fraudstream.adapters.kaggle import KAGGLE_COLUMNS, KaggleAdapter, format_times
from fraudstream.adapters.seed004 import Seed004Adapter
from fraudstream.cli.main import cli
from fraudstream.errors import InvalidRecord
from fraudstream.files import read_frames, write_frames
from fraudstream.worlds import simulate

ADAPTER = KaggleAdapter()
WORLD = {"seed": 7, "n_customers": 300, "n_merchants": 200}


@pytest.fixture(scope="module")
def canonical() -> pd.DataFrame:
    """30 days of a small sparkov world, with some fraud."""
    frame = simulate("sparkov", days=30, **WORLD)
    assert frame["is_fraud"].any()
    return frame


@pytest.fixture(scope="module")
def cards_csv(tmp_path_factory, canonical) -> str:
    """The canonical frame written in the Kaggle layout, in chunks, as the CLI does."""
    path = tmp_path_factory.mktemp("kaggle") / "cards.csv"
    chunks = [canonical.iloc[i:i + 4000] for i in range(0, len(canonical), 4000)]
    write_frames(map(ADAPTER.from_canonical, chunks), path)
    return str(path)


def test_registered_under_its_name():
    assert isinstance(get_adapter("kaggle"), KaggleAdapter)


def test_cli_writes_exactly_the_kaggle_columns_in_order(tmp_path):
    out = tmp_path / "cards.csv"
    result = CliRunner().invoke(cli, ["generate", "--world", "sparkov", "--days", "30", "--schema", "kaggle",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as handle:
        header = next(csv.reader(handle))
    assert header == list(KAGGLE_COLUMNS)
    frame = pd.read_csv(out)
    assert frame["merchant"].str.startswith("fraud_").all() and set(frame["is_fraud"]) == {0, 1}
    assert pd.to_datetime(frame["trans_date_trans_time"]).max() < pd.Timestamp("2019-01-31")


def test_a_written_file_round_trips_with_its_pandas_dtypes(cards_csv):
    kaggle = pd.read_csv(cards_csv)
    assert kaggle.dtypes.to_dict() == {
        "trans_date_trans_time": object, "cc_num": np.int64, "merchant": object, "category": object,
        "amt": np.float64, "first": object, "last": object, "gender": object, "street": object,
        "city": object, "state": object, "zip": np.int64, "lat": np.float64, "long": np.float64,
        "city_pop": np.int64, "job": object, "dob": object, "trans_num": object, "unix_time": np.int64,
        "merch_lat": np.float64, "merch_long": np.float64, "is_fraud": np.int64}
    back = ADAPTER.from_canonical(ADAPTER.to_canonical(kaggle))
    pd.testing.assert_frame_equal(back, kaggle, check_exact=True)


def test_reading_the_file_gives_the_world_back(cards_csv, canonical):
    whole = ADAPTER.to_canonical(pd.read_csv(cards_csv))
    records.validate(whole, source="cards.csv")
    pd.testing.assert_frame_equal(whole, canonical, check_exact=True)
    # chunk by chunk: the row numbers keep running, so tx_id does too
    chunks = [ADAPTER.to_canonical(chunk) for chunk in read_frames(cards_csv, chunk_rows=3000)]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), canonical, check_exact=True)


def test_canonical_to_kaggle_and_back_in_memory_keeps_tx_id(canonical):
    part = canonical.iloc[1000:1500]
    back = ADAPTER.to_canonical(ADAPTER.from_canonical(part))
    pd.testing.assert_frame_equal(back, part.reset_index(drop=True), check_exact=True)
    assert back["tx_id"].iloc[0] == 1000


def test_index_column_and_merch_zipcode_are_kept(tmp_path, cards_csv):
    kaggle = pd.read_csv(cards_csv, nrows=200)
    kaggle["merch_zipcode"] = np.where(np.arange(200) % 3 == 0, np.nan, 28600 + np.arange(200) % 50)
    kaggle.index = kaggle.index + 10
    path = tmp_path / "with_index.csv"
    kaggle.to_csv(path)  # pandas writes the leading unnamed row-number column
    again = pd.read_csv(path)
    assert list(again.columns) == ["Unnamed: 0", *KAGGLE_COLUMNS, "merch_zipcode"]
    frame = ADAPTER.to_canonical(again)
    assert frame["tx_id"].tolist()[:2] == [10, 11]
    assert list(frame.columns[-4:]) == ["Unnamed: 0", "merch_zipcode", "is_fraud", "fraud_pattern"]
    pd.testing.assert_frame_equal(ADAPTER.from_canonical(frame), again, check_exact=True)


def test_unlabelled_kaggle_data_gives_an_unlabelled_frame(cards_csv):
    kaggle = pd.read_csv(cards_csv, nrows=50).drop(columns="is_fraud")
    frame = ADAPTER.to_canonical(kaggle)
    assert "is_fraud" not in frame and "fraud_pattern" not in frame
    pd.testing.assert_frame_equal(ADAPTER.from_canonical(frame), kaggle)


def test_frauds_come_back_as_card_bursts(cards_csv):
    frame = ADAPTER.to_canonical(pd.read_csv(cards_csv))
    assert (frame.loc[frame["is_fraud"], "fraud_pattern"] == "card_burst").all()
    assert frame.loc[~frame["is_fraud"], "fraud_pattern"].isna().all()


def test_other_worlds_get_empty_card_holder_fields(make_frame):
    frame = make_frame(n=3, category=["a", "b", "c"])
    kaggle = ADAPTER.from_canonical(frame)
    assert list(kaggle.columns) == list(KAGGLE_COLUMNS)
    assert kaggle["trans_date_trans_time"].tolist()[0] == "2024-01-01 09:00:00"
    assert kaggle["unix_time"].tolist()[0] == 1704099600
    assert kaggle["trans_num"].tolist()[0] == f"{1:032x}" and (kaggle["first"] == "").all()


def test_layout_detection_prefers_the_most_specific_match(cards_csv):
    columns = pd.read_csv(cards_csv, nrows=1).columns
    assert KaggleAdapter.matches(columns) and Seed004Adapter.matches(columns)
    assert len(KaggleAdapter.required) > len(Seed004Adapter.required)
    assert not KaggleAdapter.matches(Seed004Adapter.columns)


@pytest.mark.parametrize(("column", "value", "message"), [
    ("trans_date_trans_time", "yesterday", r"trans_date_trans_time must be a date-time like %Y-%m-%d "
                                           r"%H:%M:%S, got 'yesterday' \(row 3\)"),
    ("amt", -4.5, r"amt must be a number >= 0, got -4.5 \(row 3\)"),
    ("amt", "cheap", r"amt must be a number >= 0, got 'cheap' \(row 3\)"),
    ("cc_num", "4a11", r"cc_num must be a card number of at most 19 digits \(int64\), got '4a11' \(row 3\)"),
    ("is_fraud", 2, r"is_fraud must be 0 or 1, got 2 \(row 3\)"),
    ("lat", "north", r"lat must be a number, got 'north' \(row 3\)"),
])
def test_bad_values_are_named(cards_csv, column, value, message):
    kaggle = pd.read_csv(cards_csv, nrows=10)
    kaggle[column] = kaggle[column].astype(object)
    kaggle.loc[3, column] = value
    with pytest.raises(InvalidRecord, match=message):
        ADAPTER.to_canonical(kaggle)


def test_missing_columns_are_named(cards_csv):
    kaggle = pd.read_csv(cards_csv, nrows=5).drop(columns=["amt", "dob"])
    with pytest.raises(InvalidRecord, match=r"kaggle: missing column\(s\) amt, dob; the kaggle layout needs "
                                            r"trans_date_trans_time, cc_num"):
        ADAPTER.to_canonical(kaggle)
    with pytest.raises(InvalidRecord, match=r"canonical: missing column\(s\) amount"):
        ADAPTER.from_canonical(pd.DataFrame({"tx_id": [1], "ts": pd.to_datetime(["2024-01-01"], utc=True),
                                             "customer_id": [1], "merchant_id": ["m"]}))


def test_timestamp_text_matches_strftime_over_a_century():
    ts = pd.Series(pd.date_range("1999-12-31 23:59:59", periods=20_000, freq="52h17min3s", tz="UTC"))
    ts = pd.concat([ts, pd.Series(pd.to_datetime(["2020-02-29 12:00:00", "2019-12-31 23:59:59"], utc=True))])
    expected = ts.dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy()
    assert (format_times(ts) == expected).all()
    assert len(format_times(ts.iloc[:0])) == 0
