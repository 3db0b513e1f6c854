"""What a client receives: message kinds, and decoding of transactions to canonical records.

A stream carries three kinds of JSON objects (see :mod:`fraudstream.stream.protocol`): the
welcome (``type == "connection"``), label messages (``type == "label"``, only after a
subscription) and transactions (no ``type``). Transactions come in the classroom wire format
(``transactionID``, ``userID``, ...) or, for other worlds, as canonical JSON (``tx_id``, ``ts``, ...).
:func:`to_canonical` maps either to one canonical record (a dict with ``ts`` a UTC timestamp);
:func:`frame_of` turns many into a canonical DataFrame, column-wise.

>>> tx = {"transactionID": 2, "userID": 7, "amount": 293.95, "timestamp": "2026-11-22T00:13:16",
...       "itemID": "F6683", "merchantID": "M652", "isFraud": False}
>>> message_kind(tx), message_kind({"type": "connection"}), message_kind({"type": "label"})
('transaction', 'welcome', 'label')
>>> record = to_canonical(tx)
>>> record["tx_id"], record["customer_id"], record["category"], str(record["ts"])
(2, 7, 'F', '2026-11-22 00:13:16+00:00')
>>> to_canonical_label({"type": "label", "transactionID": 2, "isFraud": True,
...                     "fraudPattern": "round_numbers"})
{'type': 'label', 'tx_id': 2, 'is_fraud': True, 'fraud_pattern': 'round_numbers'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from fraudstream.adapters.classroom import ClassroomAdapter

__all__ = [
    "MessageKind",
    "frame_of",
    "is_classroom",
    "message_kind",
    "to_canonical",
    "to_canonical_label",
]

MessageKind = Literal["welcome", "label", "transaction", "other"]

_CLASSROOM_TO_CANONICAL: dict[str, str] = {
    "transactionID": "tx_id",
    "userID": "customer_id",
    "merchantID": "merchant_id",
    "amount": "amount",
    "itemID": "item_id",
    "isWeekend": "is_weekend",
    "hourOfDay": "hour_of_day",
    "daysSinceLastTransaction": "days_since_last_transaction",
    "userProfile": "user_profile",
    "isFraud": "is_fraud",
    "fraudPattern": "fraud_pattern",
}


def message_kind(message: Mapping[str, Any]) -> MessageKind:
    """``"welcome"``, ``"label"``, ``"transaction"`` (no ``type`` key) or ``"other"``."""
    kind = message.get("type")
    if kind is None:
        return "transaction"
    if kind == "connection":
        return "welcome"
    if kind == "label":
        return "label"
    return "other"


def is_classroom(message: Mapping[str, Any]) -> bool:
    """Whether a transaction or label uses the classroom wire names (``transactionID``)."""
    return "transactionID" in message


def to_canonical(transaction: Mapping[str, Any]) -> dict[str, Any]:
    """One transaction (classroom wire or canonical JSON) as a canonical record dict."""
    if not is_classroom(transaction):
        record = dict(transaction)
        if isinstance(record.get("ts"), str):
            record["ts"] = pd.Timestamp(record["ts"]).tz_convert("UTC") if record["ts"].endswith("Z") \
                else pd.Timestamp(record["ts"], tz="UTC")
        return record
    record = {"tx_id": transaction["transactionID"],
              "ts": pd.Timestamp(transaction["timestamp"], tz="UTC"),
              "customer_id": transaction.get("userID"),
              "merchant_id": transaction.get("merchantID", "unknown"),
              "amount": transaction.get("amount")}
    item = transaction.get("itemID")
    if item is not None:
        record["category"] = item[:1]
        record["item_id"] = item
    for wire, name in _CLASSROOM_TO_CANONICAL.items():
        if name not in record and wire in transaction:
            record[name] = transaction[wire]
    if "is_fraud" in record:
        record["fraud_pattern"] = transaction.get("fraudPattern") if record["is_fraud"] else None
    return record


def to_canonical_label(label: Mapping[str, Any]) -> dict[str, Any]:
    """A label message with canonical names: ``type``, ``tx_id``, ``is_fraud``, ``fraud_pattern``."""
    if not is_classroom(label):
        return dict(label)
    is_fraud = bool(label.get("isFraud"))
    return {"type": "label", "tx_id": label["transactionID"], "is_fraud": is_fraud,
            "fraud_pattern": label.get("fraudPattern") if is_fraud else None}


def frame_of(transactions: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Many transactions of one stream as a canonical DataFrame (columnar decoding).

    Classroom lines give the same frame as
    :meth:`~fraudstream.adapters.classroom.ClassroomAdapter.to_canonical`, built column by column.
    """
    rows = list(transactions)
    if rows and "transactionID" in rows[0]:
        return _classroom_frame(rows)
    raw = pd.DataFrame.from_records(rows)
    if "ts" in raw.columns:
        raw["ts"] = pd.to_datetime(raw["ts"], utc=True, format="ISO8601")
    return raw


def _classroom_frame(rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    keys: set[str] = set().union(*rows)
    missing = [field for field in ClassroomAdapter.required if field not in keys]
    if missing:
        return ClassroomAdapter().to_canonical(pd.DataFrame.from_records(rows))  # raises, naming the field

    def column(key: str) -> list[Any]:
        return [row.get(key) for row in rows]

    items = column("itemID")
    stamps = np.array(column("timestamp"), dtype="datetime64[s]").astype("datetime64[ns]")
    out: dict[str, Any] = {
        "tx_id": np.array(column("transactionID"), dtype=np.int64),
        "ts": pd.DatetimeIndex(stamps).tz_localize("UTC"),
        "customer_id": np.array(column("userID"), dtype=np.int64),
        "merchant_id": column("merchantID") if "merchantID" in keys else ["unknown"] * len(rows),
        "amount": np.array(column("amount"), dtype=np.float64),
        "category": [item[:1] if item else None for item in items],
        "item_id": items,
    }
    for wire in ("isWeekend", "hourOfDay", "daysSinceLastTransaction", "userProfile"):
        if wire in keys:
            out[_CLASSROOM_TO_CANONICAL[wire]] = column(wire)
    if "isFraud" in keys:
        is_fraud = np.array(column("isFraud"), dtype=bool)
        out["is_fraud"] = is_fraud
        out["fraud_pattern"] = pd.Series(
            [pattern if fraud else None
             for pattern, fraud in zip(column("fraudPattern"), is_fraud, strict=True)],
            dtype=object)
    return pd.DataFrame(out)
