"""The ulb adapter: creditcard.csv <-> canonical."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstream import records
from fraudstream.adapters import detect_adapter, get_adapter
from fraudstream.adapters.ulb import BASE_TIME, FEATURES
from fraudstream.errors import InvalidRecord
from fraudstream.files import read_frames

ADAPTER = get_adapter("ulb")


def creditcard(n: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"Time": np.sort(rng.integers(0, 172_792, n)).astype(float)})
    for name in FEATURES:
        table[name] = rng.normal(size=n)
    table["Amount"] = np.round(rng.exponential(88.0, n), 2)
    table["Class"] = (rng.random(n) < 0.3).astype(np.int64)
    return table


def test_csv_round_trips_exactly(tmp_path):
    path = tmp_path / "creditcard.csv"
    table = creditcard(250)
    table.to_csv(path, index=False)
    chunks = [ADAPTER.to_canonical(chunk) for chunk in read_frames(path, chunk_rows=100)]
    frame = records.validate(pd.concat(chunks, ignore_index=True))
    assert frame["tx_id"].tolist() == list(range(250))  # row numbers continue across chunks
    assert (frame["customer_id"] == "unknown").all() and (frame["merchant_id"] == "unknown").all()
    assert frame["ts"].iloc[0] == BASE_TIME + pd.Timedelta(seconds=table["Time"].iloc[0])
    assert list(frame.columns[5:33]) == list(FEATURES)
    assert frame["is_fraud"].tolist() == table["Class"].astype(bool).tolist()
    back = ADAPTER.from_canonical(frame)
    pd.testing.assert_frame_equal(back, pd.read_csv(path))


def test_canonical_round_trip():
    frame = ADAPTER.to_canonical(creditcard())
    pd.testing.assert_frame_equal(ADAPTER.to_canonical(ADAPTER.from_canonical(frame)), frame)


def test_unlabelled_file_has_no_labels():
    frame = ADAPTER.to_canonical(creditcard().drop(columns=["Class"]))
    assert "is_fraud" not in frame.columns


def test_missing_columns_and_bad_values_are_named():
    with pytest.raises(InvalidRecord, match=r"ulb: missing column\(s\) V7, Amount"):
        ADAPTER.to_canonical(creditcard().drop(columns=["V7", "Amount"]))
    bad = creditcard()
    bad.loc[3, "V12"] = np.nan
    with pytest.raises(InvalidRecord, match=r"V12 must be a number, got nan \(row 3\)"):
        ADAPTER.to_canonical(bad)
    bad = creditcard()
    bad.loc[0, "Time"] = -1.0
    with pytest.raises(InvalidRecord, match=r"Time must be >= 0\.0, got -1\.0"):
        ADAPTER.to_canonical(bad)


def test_detected_from_its_columns():
    assert detect_adapter(creditcard().columns).name == "ulb"
