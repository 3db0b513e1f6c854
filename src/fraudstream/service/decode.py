"""Stream lines -> canonical transactions, label messages and dead letters.

:func:`decode_lines` reads one micro-batch of NDJSON lines (the classroom wire format or
canonical JSON, see :mod:`fraudstream.stream.protocol`): the welcome and unknown message types
are skipped, label messages become a label frame (``tx_id, is_fraud, fraud_pattern``), and
transactions become one canonical frame, decoded column-wise. A line that is not JSON, not an
object, misses a required field or has a value of the wrong type becomes a
:class:`~fraudstream.service.deadletter.DeadLetter` with its reason; the other lines go on.

>>> lines = [b'{"type": "connection"}', b'{"tx_id": 1, "ts": "2024-01-01T00:00:00Z", "customer_id": 7, '
...          b'"merchant_id": "M1", "amount": 12.5}', b'{"amount": ', b'{"type": "label", "tx_id": 1, '
...          b'"is_fraud": true, "fraud_pattern": "spike"}']
>>> decoded = decode_lines(lines, positions=[1, 2, 3, 4])
>>> decoded.frame["tx_id"].tolist(), decoded.labels["is_fraud"].tolist()
([1], [True])
>>> [(d.reason.split(":")[0], d.position) for d in decoded.dead]
[('not JSON', 3)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from fraudstream.errors import FraudStreamError
from fraudstream.records import validate
from fraudstream.service.deadletter import DeadLetter
from fraudstream.stream.messages import frame_of, to_canonical_label

__all__ = [
    "CANONICAL_REQUIRED",
    "CLASSROOM_REQUIRED",
    "Decoded",
    "decode_lines",
    "decode_messages",
    "empty_labels",
]

CLASSROOM_REQUIRED: tuple[str, ...] = ("transactionID", "userID", "amount", "timestamp", "itemID")
CANONICAL_REQUIRED: tuple[str, ...] = ("tx_id", "ts", "customer_id", "merchant_id", "amount")
_NUMBER = (int, float)


def empty_labels() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tx_id": pd.Series([], dtype=object),
            "is_fraud": pd.Series([], dtype=bool),
            "fraud_pattern": pd.Series([], dtype=object),
        }
    )


@dataclass
class Decoded:
    """What one micro-batch of lines held."""

    frame: pd.DataFrame
    """Canonical transactions (labels inline when the stream carried them)."""
    labels: pd.DataFrame = field(default_factory=empty_labels)
    """Label messages: ``tx_id, is_fraud, fraud_pattern``."""
    dead: list[DeadLetter] = field(default_factory=list)


def _problem(message: Mapping[str, Any]) -> str | None:
    """Why a transaction message cannot be decoded, or ``None``."""
    required = CLASSROOM_REQUIRED if "transactionID" in message else CANONICAL_REQUIRED
    for name in required:
        if message.get(name) is None:
            return f"missing field: {name} is required ({', '.join(required)})"
    amount = message["amount"]
    if not isinstance(amount, _NUMBER) or isinstance(amount, bool) or not amount >= 0:
        return f"bad value: amount must be a number >= 0, got {amount!r}"
    stamp = message.get("timestamp", message.get("ts"))
    if not isinstance(stamp, str):
        return f"bad value: timestamp must be text, got {stamp!r}"
    return None


def decode_lines(lines: Sequence[bytes], positions: Sequence[Any] | None = None) -> Decoded:
    """Decode a micro-batch of lines (see the module docstring); ``positions`` label dead letters."""
    messages: list[dict[str, Any]] = []
    where: list[int] = []
    dead: list[DeadLetter] = []
    loads = orjson.loads
    for i, line in enumerate(lines):
        try:
            message = loads(line)
        except orjson.JSONDecodeError as error:
            if line.strip():
                dead.append(DeadLetter(bytes(line), f"not JSON: {error}", _at(positions, i)))
            continue
        if not isinstance(message, dict):
            dead.append(
                DeadLetter(bytes(line), f"not an object: a JSON {type(message).__name__}", _at(positions, i))
            )
            continue
        messages.append(message)
        where.append(i)
    decoded = decode_messages(messages, [bytes(lines[i]) for i in where], [_at(positions, i) for i in where])
    decoded.dead[:0] = dead
    if positions is not None and len(decoded.dead) > 1:
        decoded.dead.sort(key=lambda d: d.position)  # in stream order
    return decoded


def decode_messages(
    messages: Sequence[dict[str, Any]],
    lines: Sequence[bytes] | None = None,
    positions: Sequence[Any] | None = None,
) -> Decoded:
    """Decode already-parsed JSON objects (see :func:`decode_lines`)."""
    transactions: list[dict[str, Any]] = []
    tx_index: list[int] = []
    labels: list[dict[str, Any]] = []
    dead: list[DeadLetter] = []
    for i, message in enumerate(messages):
        kind = message.get("type")
        if kind is None:
            problem = _problem(message)
            if problem is None:
                transactions.append(message)
                tx_index.append(i)
            else:
                dead.append(DeadLetter(_line(lines, messages, i), problem, _at(positions, i)))
        elif kind == "label":
            label = to_canonical_label(message)
            if label.get("tx_id") is None or not isinstance(label.get("is_fraud"), bool):
                dead.append(
                    DeadLetter(
                        _line(lines, messages, i),
                        "bad label: needs tx_id and a true/false is_fraud",
                        _at(positions, i),
                    )
                )
            else:
                labels.append(label)
    frame, more_dead = _frame(
        transactions,
        [_line(lines, messages, i) for i in tx_index] if lines else None,
        [_at(positions, i) for i in tx_index],
    )
    label_frame = (
        empty_labels()
        if not labels
        else pd.DataFrame(
            {
                "tx_id": [lb["tx_id"] for lb in labels],
                "is_fraud": np.array([lb["is_fraud"] for lb in labels], bool),
                "fraud_pattern": [lb.get("fraud_pattern") for lb in labels],
            }
        )
    )
    return Decoded(frame, label_frame, dead + more_dead)


def _frame(
    transactions: list[dict[str, Any]], lines: list[bytes] | None, positions: list[Any]
) -> tuple[pd.DataFrame, list[DeadLetter]]:
    """One canonical frame; on a batch-level failure, row by row to find the bad ones."""
    if not transactions:
        return pd.DataFrame(), []
    try:
        return _checked(frame_of(transactions)), []
    except (FraudStreamError, ValueError, TypeError, KeyError) as whole_error:
        good, dead = [], []
        for i, message in enumerate(transactions):
            try:
                _checked(frame_of([message]))
                good.append(message)
            except (FraudStreamError, ValueError, TypeError, KeyError) as error:
                line = lines[i] if lines else orjson.dumps(message)
                dead.append(DeadLetter(line, f"bad value: {error}", positions[i] if positions else None))
        if not good:
            return pd.DataFrame(), dead
        try:
            return _checked(frame_of(good)), dead
        except (FraudStreamError, ValueError, TypeError, KeyError):  # mixed layouts in one batch
            raise whole_error from None


def _checked(frame: pd.DataFrame) -> pd.DataFrame:
    if "amount" in frame.columns and frame["amount"].dtype != np.float64:
        frame["amount"] = frame["amount"].astype(np.float64)
    if "is_fraud" in frame.columns and frame["is_fraud"].dtype != bool:
        frame["is_fraud"] = frame["is_fraud"].fillna(False).astype(bool)
    return validate(frame, source="stream")


def _line(lines: Sequence[bytes] | None, messages: Sequence[dict[str, Any]], i: int) -> bytes:
    return lines[i] if lines else orjson.dumps(messages[i])


def _at(positions: Sequence[Any] | None, i: int) -> Any:
    return None if positions is None else positions[i]
