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
import pyarrow as pa
import pyarrow.compute as pc

from fraudstream.adapters import Adapter
from fraudstream.errors import InvalidRecord
from fraudstream.jsontext import Piece, arrow_column, join_pieces, json_values

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


def _json(values: Any) -> list[Piece]:
    return json_values(arrow_column(pd.Series(values)), like_python=True)


def encode_lines(frame: pd.DataFrame, *, labels: LabelMode = "inline") -> list[bytes]:
    """Encode a canonical classroom frame as wire lines (each ending in ``\\n``), column-wise.

    The bytes equal ``(json.dumps(record) + "\\n").encode()`` of the seed's record.
    """
    n = len(frame)
    ts = frame["ts"]
    column = frame.get
    pieces: list[Piece] = [
        '{"transactionID": ', *_json(frame["tx_id"]),
        ', "userID": ', *_json(frame["customer_id"]),
        ', "amount": ', *_json(frame["amount"].astype(np.float64)),
        ', "timestamp": "', pa.array(_wire_timestamps(ts), pa.string()),
        '", "itemID": ', *_json(frame["item_id"]),
        ', "merchantID": ', *_json(frame["merchant_id"]),
        ', "isWeekend": ', *_json(column("is_weekend", (ts.dt.weekday >= 5).to_numpy())),
        ', "hourOfDay": ', *_json(column("hour_of_day", ts.dt.hour.to_numpy())),
        ', "daysSinceLastTransaction": ', *_json(column("days_since_last_transaction", np.zeros(n, np.int64))),
    ]
    if labels == "inline":
        fraud = pa.array(column("is_fraud", np.zeros(n, dtype=bool)), pa.bool_())
        patterns = join_pieces(['true, "fraudPattern": ', *_json(column("fraud_pattern", [None] * n))])
        pieces += [
            ', "userProfile": ', *_json(column("user_profile", np.full(n, "unknown", dtype=object))),
            ', "isFraud": ', pc.if_else(fraud, patterns, "false"),
        ]
    pieces.append("}\n")
    return pc.cast(join_pieces(pieces), pa.binary()).to_pylist()


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
