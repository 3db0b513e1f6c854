import pandas as pd
import pytest

from fraudstream import records
from fraudstream.errors import InvalidRecord, LabelLeakError


def test_inputs_drop_every_label(make_frame):
    frame = make_frame()
    assert not set(records.LABEL_COLUMNS) & set(records.inputs(frame).columns)
    assert list(records.labels_of(frame).columns) == ["is_fraud", "fraud_pattern"]


def test_ensure_no_labels_names_the_column_and_the_place():
    with pytest.raises(LabelLeakError, match="fraud_pattern reached fit"):
        records.ensure_no_labels(["amount", "fraud_pattern"], "fit")
    records.ensure_no_labels(["amount", "ts"], "fit")


def test_attrs_are_the_unknown_columns_and_order_is_canonical(make_frame):
    frame = make_frame(user_profile=["a", "b", "c"], category=["x"] * 3)
    assert records.attr_columns(frame) == ["user_profile"]
    ordered = records.canonical_order(frame[["is_fraud", "user_profile", "amount", "ts", "tx_id",
                                             "customer_id", "merchant_id", "category"]])
    assert list(ordered.columns) == ["tx_id", "ts", "customer_id", "merchant_id", "amount",
                                     "category", "user_profile", "is_fraud"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="amount"), "missing column\\(s\\) amount"),
        (lambda f: f.assign(amount=[1.0, -3.5, 2.0]), "amount must be a number >= 0, got -3.5 \\(row 1\\)"),
        (lambda f: f.assign(ts=f["ts"].dt.tz_localize(None)), "ts must be timezone-aware UTC"),
        (lambda f: f.assign(customer_id=[1, None, 2]), "customer_id must not be empty \\(row 1\\)"),
        (lambda f: f.assign(is_fraud=[0, 1, 0]), "is_fraud must be bool"),
    ],
)
def test_validate_names_field_value_and_rule(make_frame, change, message):
    with pytest.raises(InvalidRecord, match=message):
        records.validate(change(make_frame()))


def test_validate_accepts_a_good_frame(make_frame):
    frame = make_frame()
    assert records.validate(frame) is frame
    assert isinstance(frame["ts"].dtype, pd.DatetimeTZDtype)
