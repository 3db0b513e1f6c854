"""The paysim adapter: PaySim CSV <-> canonical."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudstream import records
from fraudstream.adapters import detect_adapter, get_adapter
from fraudstream.adapters.paysim import BASE_TIME
from fraudstream.errors import InvalidRecord

ADAPTER = get_adapter("paysim")

CSV = """\
step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud,\
isFlaggedFraud
1,PAYMENT,9839.64,C1231006815,170136.0,160296.36,M1979787155,0.0,0.0,0,0
1,TRANSFER,181.0,C1305486145,181.0,0.0,C553264065,0.0,0.0,1,0
1,CASH_OUT,181.0,C840083671,181.0,0.0,C38997010,21182.0,0.0,1,0
743,TRANSFER,10000000.0,C1685995037,10399045.08,399045.08,C1410794718,0.0,0.0,1,1
"""


@pytest.fixture
def table(tmp_path) -> pd.DataFrame:
    path = tmp_path / "paysim.csv"
    path.write_text(CSV)
    return pd.read_csv(path)


def test_csv_round_trips_exactly(table):
    frame = records.validate(ADAPTER.to_canonical(table))
    assert frame["ts"].tolist()[:2] == [BASE_TIME + pd.Timedelta(hours=1)] * 2
    assert frame["ts"].iloc[3] == BASE_TIME + pd.Timedelta(hours=743)
    assert frame["customer_id"].iloc[1] == "C1305486145" and frame["merchant_id"].iloc[1] == "C553264065"
    assert frame["category"].tolist() == ["PAYMENT", "TRANSFER", "CASH_OUT", "TRANSFER"]
    assert frame["is_fraud"].tolist() == [False, True, True, True]
    assert frame["isFlaggedFraud"].tolist() == [0, 0, 0, 1]
    pd.testing.assert_frame_equal(ADAPTER.from_canonical(frame), table)


def test_canonical_round_trip(table):
    frame = ADAPTER.to_canonical(table)
    pd.testing.assert_frame_equal(ADAPTER.to_canonical(ADAPTER.from_canonical(frame)), frame)


def test_missing_columns_and_bad_values_are_named(table):
    with pytest.raises(InvalidRecord, match=r"paysim: missing column\(s\) nameDest"):
        ADAPTER.to_canonical(table.drop(columns=["nameDest"]))
    bad = table.copy()
    bad["step"] = bad["step"].astype(object)
    bad.loc[2, "step"] = "one"
    with pytest.raises(InvalidRecord, match=r"step must be a number, got 'one' \(row 2\)"):
        ADAPTER.to_canonical(bad)
    bad = table.copy()
    bad.loc[1, "isFraud"] = 3
    with pytest.raises(InvalidRecord, match="isFraud must be 0 or 1, got 3"):
        ADAPTER.to_canonical(bad)


def test_detected_from_its_columns(table):
    assert detect_adapter(table.columns).name == "paysim"
