"""The canonical transaction record, as columns.

Every stage of fraudstream works on micro-batches of transactions held as a pandas DataFrame
(numpy / Arrow columns underneath) with these columns:

============================  =====================================================
column                        meaning
============================  =====================================================
``tx_id``                     unique id (int64 or string)
``ts``                        event time, ``datetime64[ns, UTC]``
``customer_id``               user / card / account / beneficiary (int64 or string)
``merchant_id``               merchant / terminal (int64 or string)
``amount``                    amount in currency units, 2 decimals, float64
``category`` ...              optional columns, see :data:`OPTIONAL_COLUMNS`
anything else                 world- or dataset-specific extras ("attrs")
``is_fraud``, ``fraud_pattern``  labels: kept apart from detector inputs
============================  =====================================================

Labels travel with the data for storage and evaluation, but detectors and the feature engine
only ever receive :func:`inputs` of a frame, and :func:`ensure_no_labels` guards their entry.

>>> import pandas as pd
>>> frame = pd.DataFrame({"tx_id": [1], "ts": pd.to_datetime(["2024-01-01T10:00"], utc=True),
...     "customer_id": [7], "merchant_id": ["M1"], "amount": [12.5], "is_fraud": [False],
...     "fraud_pattern": [None]})
>>> list(inputs(frame).columns)
['tx_id', 'ts', 'customer_id', 'merchant_id', 'amount']
>>> list(labels_of(frame).columns)
['is_fraud', 'fraud_pattern']
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from fraudstream.errors import InvalidRecord, LabelLeakError

__all__ = [
    "CORE_COLUMNS",
    "LABEL_COLUMNS",
    "OPTIONAL_COLUMNS",
    "attr_columns",
    "canonical_order",
    "ensure_no_labels",
    "inputs",
    "labels_of",
    "validate",
]

CORE_COLUMNS: tuple[str, ...] = ("tx_id", "ts", "customer_id", "merchant_id", "amount")
"""Columns every canonical frame has."""

OPTIONAL_COLUMNS: tuple[str, ...] = (
    "category",  # item category / scheme / transaction type
    "channel",  # payment method or location type
    "item_id",
    "lat",  # customer location
    "lon",
    "merchant_lat",
    "merchant_lon",
    "country",
    "region",
)
"""Columns with a fixed meaning that a world or dataset may have."""

LABEL_COLUMNS: tuple[str, ...] = ("is_fraud", "fraud_pattern")
"""Ground truth. Never a detector input."""

_KNOWN = frozenset(CORE_COLUMNS + OPTIONAL_COLUMNS + LABEL_COLUMNS)
_FLOAT_COLUMNS = ("amount", "lat", "lon", "merchant_lat", "merchant_lon")


def attr_columns(frame: pd.DataFrame) -> list[str]:
    """The world- or dataset-specific extra columns of ``frame``, in frame order."""
    return [c for c in frame.columns if c not in _KNOWN]


def canonical_order(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with columns ordered core, optional, attrs, labels."""
    present = set(frame.columns)
    order = [c for c in CORE_COLUMNS + OPTIONAL_COLUMNS if c in present]
    order += attr_columns(frame)
    order += [c for c in LABEL_COLUMNS if c in present]
    return frame[order]


def inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its label columns: what a detector may see."""
    labels = [c for c in LABEL_COLUMNS if c in frame.columns]
    return frame.drop(columns=labels) if labels else frame


def labels_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The label columns of ``frame`` (``is_fraud`` and, where present, ``fraud_pattern``)."""
    if "is_fraud" not in frame.columns:
        raise InvalidRecord("is_fraud is missing: this data carries no labels")
    return frame[[c for c in LABEL_COLUMNS if c in frame.columns]]


def ensure_no_labels(columns: Iterable[str], where: str) -> None:
    """Raise :class:`LabelLeakError` if any label column is among ``columns``.

    >>> ensure_no_labels(["amount", "is_fraud"], "IsolationForest.fit")
    Traceback (most recent call last):
    ...
    fraudstream.errors.LabelLeakError: label column is_fraud reached IsolationForest.fit: \
only inputs are allowed (use fraudstream.records.inputs(frame))
    """
    leaked = [c for c in columns if c in LABEL_COLUMNS]
    if leaked:
        raise LabelLeakError(
            f"label column {', '.join(leaked)} reached {where}: only inputs are allowed "
            "(use fraudstream.records.inputs(frame))"
        )


def validate(frame: pd.DataFrame, *, source: str = "frame") -> pd.DataFrame:
    """Check that ``frame`` follows the record model; return it unchanged.

    Raises :class:`InvalidRecord` naming the column, the first bad value and what is allowed.
    """
    missing = [c for c in CORE_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidRecord(f"{source}: missing column(s) {', '.join(missing)}; "
                            f"a transaction needs {', '.join(CORE_COLUMNS)}")
    ts = frame["ts"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype) or str(ts.dt.tz) != "UTC":
        raise InvalidRecord(f"{source}: ts must be timezone-aware UTC datetimes, got dtype {ts.dtype}")
    for column in _FLOAT_COLUMNS:
        if column in frame.columns and not pd.api.types.is_float_dtype(frame[column]):
            raise InvalidRecord(f"{source}: {column} must be float, got dtype {frame[column].dtype}")
    amount = frame["amount"].to_numpy()
    bad = ~(amount >= 0)  # catches NaN too
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidRecord(f"{source}: amount must be a number >= 0, got {float(amount[row])} (row {row})")
    for column in ("tx_id", "customer_id", "merchant_id"):
        if frame[column].isna().any():
            row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            raise InvalidRecord(f"{source}: {column} must not be empty (row {row})")
    if "is_fraud" in frame.columns and not pd.api.types.is_bool_dtype(frame["is_fraud"]):
        raise InvalidRecord(f"{source}: is_fraud must be bool, got dtype {frame['is_fraud'].dtype}")
    return frame
