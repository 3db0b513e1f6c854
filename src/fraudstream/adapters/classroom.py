"""The classroom wire format of seed 000 (the AIT-204 Data-Stream server).

One UTF-8 JSON line per transaction, as Python's ``json.dumps`` writes it (separators ``", "``
and ``": "``, ASCII only), fields in this exact order::

    {"transactionID": 2, "userID": 7, "amount": 293.95, "timestamp": "2026-11-22T00:13:16",
     "itemID": "F6683", "merchantID": "M652", "isWeekend": true, "hourOfDay": 0,
     "daysSinceLastTransaction": 0, "userProfile": "weekend_warrior", "isFraud": false}

``fraudPattern`` follows ``isFraud`` on fraud only. Timestamps are naive
``%Y-%m-%dT%H:%M:%S``; fraudstream reads and writes them as UTC.

Canonical mapping: ``transactionID`` -> ``tx_id``, ``userID`` -> ``customer_id``,
``itemID`` -> ``item_id`` (its letter is the ``category``), ``merchantID`` -> ``merchant_id``;
``isWeekend``, ``hourOfDay``, ``daysSinceLastTransaction`` and ``userProfile`` travel as the
attrs ``is_weekend``, ``hour_of_day``, ``days_since_last_transaction``, ``user_profile``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
import pandas as pd

from fraudstream.adapters import Adapter
from fraudstream.errors import InvalidRecord

__all__ = ["LABEL_FIELDS", "WIRE_FIELDS", "ClassroomAdapter", "decode_line", "encode_lines"]

WIRE_FIELDS: tuple[str, ...] = (
    "transactionID", "userID", "amount", "timestamp", "itemID", "merchantID", "isWeekend",
    "hourOfDay", "daysSinceLastTransaction", "userProfile", "isFraud",
)
"""Fields of every transaction line, in order (``fraudPattern`` is appended on fraud)."""

LABEL_FIELDS: tuple[str, ...] = ("isFraud", "fraudPattern", "userProfile")
"""Fields removed from the stream by ``--labels hidden`` (userProfile gives the fraud-prone away)."""

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"

LabelMode = Literal["inline", "hidden"]


def _wire_timestamps(ts: pd.Series) -> np.ndarray:
    naive = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    return np.datetime_as_string(naive, unit="s")


def _attr(frame: pd.DataFrame, name: str, default: Any) -> Any:
    return frame[name].to_numpy() if name in frame.columns else default


def encode_lines(frame: pd.DataFrame, *, labels: LabelMode = "inline") -> list[bytes]:
    """Encode a canonical classroom frame as wire lines (each ending in ``\\n``).

    The bytes equal ``(json.dumps(record) + "\\n").encode()`` of the seed's record.
    """
    n = len(frame)
    ts = frame["ts"]
    stamps = _wire_timestamps(ts)
    weekend = _attr(frame, "is_weekend", (ts.dt.weekday >= 5).to_numpy())
    hours = _attr(frame, "hour_of_day", ts.dt.hour.to_numpy())
    days = _attr(frame, "days_since_last_transaction", np.zeros(n, dtype=np.int64))
    profiles = _attr(frame, "user_profile", np.full(n, "unknown", dtype=object))
    is_fraud = _attr(frame, "is_fraud", np.zeros(n, dtype=bool))
    patterns = _attr(frame, "fraud_pattern", np.full(n, None, dtype=object))
    dumps = json.dumps
    lines = []
    for tx, user, amount, stamp, item, merchant, wknd, hour, dsl, profile, fraud, pattern in zip(
        frame["tx_id"].tolist(), frame["customer_id"].tolist(), frame["amount"].tolist(),
        stamps.tolist(), frame["item_id"].tolist(), frame["merchant_id"].tolist(),
        weekend.tolist(), hours.tolist(), days.tolist(), profiles.tolist(), is_fraud.tolist(),
        patterns.tolist(), strict=True,
    ):
        head = (
            f'{{"transactionID": {tx}, "userID": {user}, "amount": {float(amount)!r}, '
            f'"timestamp": "{stamp}", "itemID": {dumps(item)}, "merchantID": {dumps(merchant)}, '
            f'"isWeekend": {"true" if wknd else "false"}, "hourOfDay": {hour}, '
            f'"daysSinceLastTransaction": {dsl}'
        )
        if labels == "hidden":
            lines.append(f"{head}}}\n".encode())
        elif fraud:
            lines.append(f'{head}, "userProfile": {dumps(profile)}, "isFraud": true, '
                         f'"fraudPattern": {dumps(pattern)}}}\n'.encode())
        else:
            lines.append(f'{head}, "userProfile": {dumps(profile)}, "isFraud": false}}\n'.encode())
    return lines


def decode_line(line: bytes | str) -> dict[str, Any]:
    """Parse one wire line; :class:`InvalidRecord` naming the problem if it is not a JSON object."""
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRecord(f"stream line is not JSON: {exc}; got {bytes(line[:80])!r}"
                            if isinstance(line, bytes) else f"stream line is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise InvalidRecord(f"stream line must be a JSON object, got {type(message).__name__}")
    return message


class ClassroomAdapter(Adapter):
    """Seed 000's transaction messages <-> canonical columns."""

    name = "classroom"
    summary = "seed 000 classroom stream (transactionID, userID, amount, timestamp, ...)"
    columns = (*WIRE_FIELDS, "fraudPattern")
    required = ("transactionID", "userID", "amount", "timestamp", "itemID")

    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        for field in self.required:
            if field not in frame.columns:
                raise InvalidRecord(f"classroom record is missing field {field}")
        ts = pd.to_datetime(frame["timestamp"], format=TIMESTAMP_FORMAT, utc=True)
        out = pd.DataFrame({
            "tx_id": frame["transactionID"].astype(np.int64),
            "ts": ts,
            "customer_id": frame["userID"].astype(np.int64),
            "merchant_id": frame["merchantID"] if "merchantID" in frame else pd.Series(
                ["unknown"] * len(frame), index=frame.index),
            "amount": frame["amount"].astype(np.float64),
            "category": frame["itemID"].str[0],
            "item_id": frame["itemID"],
        })
        for wire, attr in (("isWeekend", "is_weekend"), ("hourOfDay", "hour_of_day"),
                           ("daysSinceLastTransaction", "days_since_last_transaction"),
                           ("userProfile", "user_profile")):
            if wire in frame.columns:
                out[attr] = frame[wire]
        if "isFraud" in frame.columns:
            out["is_fraud"] = frame["isFraud"].astype(bool)
            pattern = frame["fraudPattern"] if "fraudPattern" in frame.columns else None
            out["fraud_pattern"] = (pattern.where(out["is_fraud"], None) if pattern is not None
                                    else pd.Series([None] * len(frame), index=frame.index, dtype=object))
        return out.reset_index(drop=True)

    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        records = [json.loads(line) for line in encode_lines(frame)]
        return pd.DataFrame.from_records(records, columns=list(self.columns))
