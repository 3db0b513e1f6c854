"""The Handbook file layout <-> canonical columns: lossless both ways, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudstream import records
from fraudstream.adapters import get_adapter
from fraudstream.adapters.handbook import COLUMNS, HandbookAdapter, pattern_of, scenario_of
from fraudstream.errors import InvalidRecord
from fraudstream.files import read_frames, write_frames
from fraudstream.worlds import simulate


@pytest.fixture(scope="module")
def canonical() -> pd.DataFrame:
    # long enough for every scenario to appear
    return simulate("handbook", days=30, seed=2, n_customers=300, n_terminals=600)


def handbook_rows() -> pd.DataFrame:
    """Rows as the Handbook publishes them (naive datetimes, 0/1 labels, scenario numbers)."""
    return pd.DataFrame({
        "TRANSACTION_ID": [0, 1, 2, 3],
        "TX_DATETIME": pd.to_datetime(["2018-04-01 00:00:31", "2018-04-01 00:02:10",
                                       "2018-04-01 00:07:56", "2018-04-01 00:09:29"]),
        "CUSTOMER_ID": [596, 4961, 2, 4128],
        "TERMINAL_ID": [3156, 3412, 1365, 8737],
        "TX_AMOUNT": [57.16, 81.51, 146.00, 2640.65],
        "TX_TIME_SECONDS": [31, 130, 476, 569],
        "TX_TIME_DAYS": [0, 0, 0, 0],
        "TX_FRAUD": [0, 1, 1, 1],
        "TX_FRAUD_SCENARIO": [0, 2, 3, 1],
    })


def test_registered_and_detected_from_the_columns():
    assert isinstance(get_adapter("handbook"), HandbookAdapter)
    assert HandbookAdapter.matches([c.lower() for c in COLUMNS])
    assert not HandbookAdapter.matches(COLUMNS[:4])


def test_handbook_rows_round_trip(canonical):
    rows = handbook_rows()
    adapter = HandbookAdapter()
    mapped = adapter.to_canonical(rows)
    records.validate(mapped)
    assert mapped["fraud_pattern"].tolist() == [None, "compromised_terminal", "compromised_card",
                                                "amount_over_220"]
    assert mapped["ts"].iloc[0] == pd.Timestamp("2018-04-01 00:00:31", tz="UTC")
    pd.testing.assert_frame_equal(adapter.from_canonical(mapped), rows)


def test_canonical_frames_round_trip(canonical):
    assert set(canonical["fraud_pattern"].dropna()) == {"amount_over_220", "compromised_terminal",
                                                        "compromised_card"}
    adapter = HandbookAdapter()
    external = adapter.from_canonical(canonical)
    assert tuple(external.columns) == COLUMNS
    assert external["TX_FRAUD"].sum() == canonical["is_fraud"].sum()
    pd.testing.assert_frame_equal(adapter.to_canonical(external), canonical)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".ndjson"])
def test_round_trip_through_files(tmp_path, canonical, suffix):
    adapter = HandbookAdapter()
    path = tmp_path / f"handbook{suffix}"
    write_frames([adapter.from_canonical(canonical)], path)
    back = pd.concat(read_frames(path), ignore_index=True)
    assert list(back.columns) == list(COLUMNS)
    pd.testing.assert_frame_equal(adapter.to_canonical(back), canonical)


def test_unknown_scenarios_and_extra_columns_survive():
    rows = handbook_rows().assign(TX_FRAUD_SCENARIO=[0, 7, 3, 1], NOTE=["a", "b", "c", "d"])
    adapter = HandbookAdapter()
    mapped = adapter.to_canonical(rows)
    assert mapped["fraud_pattern"].iloc[1] == "scenario_7" and mapped["NOTE"].tolist() == list("abcd")
    pd.testing.assert_frame_equal(adapter.from_canonical(mapped), rows)


def test_unlabelled_files_are_read_without_labels():
    rows = handbook_rows().drop(columns=["TX_FRAUD", "TX_FRAUD_SCENARIO"])
    mapped = HandbookAdapter().to_canonical(rows)
    assert "is_fraud" not in mapped.columns
    pd.testing.assert_frame_equal(HandbookAdapter().from_canonical(mapped), rows)


def test_other_worlds_get_times_from_their_first_midnight(make_frame):
    frame = make_frame(n=3, fraud_pattern=[None, "card_testing", None],
                       is_fraud=[False, True, False])
    external = HandbookAdapter().from_canonical(frame)
    assert external["TX_TIME_SECONDS"].tolist() == [9 * 3600, 9 * 3600 + 60, 9 * 3600 + 120]
    assert external["TX_TIME_DAYS"].tolist() == [0, 0, 0]
    assert external["TX_FRAUD_SCENARIO"].tolist() == [0, -1, 0]
    assert scenario_of("card_testing") == -1 and pattern_of(-1) == "scenario_-1"


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.drop(columns=["TERMINAL_ID"]), "missing column.s. TERMINAL_ID; the layout has"),
    (lambda r: r.drop(columns=["TX_FRAUD"]), "missing column.s. TX_FRAUD"),
    (lambda r: r.assign(TRANSACTION_ID=["0", "x", "2", "3"]),
     "TRANSACTION_ID must be an integer, got 'x' .row 1."),
    (lambda r: r.assign(CUSTOMER_ID=[1.5, 2, 3, 4]), "CUSTOMER_ID must be an integer, got 1.5 .row 0."),
    (lambda r: r.assign(TX_DATETIME=["2018-04-01", "yesterday", "2018-04-01", "2018-04-01"]),
     "TX_DATETIME must be a date and time .*got 'yesterday' .row 1."),
    (lambda r: r.assign(TX_AMOUNT=[1.0, "lots", 2.0, 3.0]), "TX_AMOUNT must be a number, got 'lots' .row 1."),
    (lambda r: r.assign(TX_AMOUNT=[1.0, -2.0, 2.0, 3.0]), "amount must be a number >= 0, got -2.0"),
    (lambda r: r.assign(TX_FRAUD=[0, 2, 1, 1]), "TX_FRAUD must be 0 or 1, got 2 .row 1."),
])
def test_bad_rows_are_invalid_records(change, message):
    with pytest.raises(InvalidRecord, match=message):
        HandbookAdapter().to_canonical(change(handbook_rows()))
