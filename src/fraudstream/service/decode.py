"""Stream lines -> canonical transactions, label messages and dead letters.

:func:`decode_lines` reads one micro-batch of NDJSON lines (the classroom wire format or
canonical JSON, see :mod:`fraudstream.stream.protocol`): the welcome and unknown message types
are skipped, label messages become a label frame (``tx_id, is_fraud, fraud_pattern``), and
transactions become one canonical frame, decoded column-wise. A line that is not JSON, not an
object, misses a required field or has a value of the wrong type becomes a
:class:`~fraudstream.service.deadletter.DeadLetter` with its reason; the other lines go on.

**Fast path**: the transaction lines of a batch (those without a ``"type"`` key) are parsed in
one pass by Arrow's JSON reader straight into columns (:func:`decode_columns`); only when that
batch holds something unusual (bad JSON, a missing field, a wrong type, a negative amount,
mixed layouts) do its lines go the slower line-by-line way that finds and explains the bad ones.

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

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from fraudstream.errors import FraudStreamError
from fraudstream.records import validate
from fraudstream.service.deadletter import DeadLetter
from fraudstream.stream.messages import frame_of, to_canonical_label

__all__ = [
    "CANONICAL_REQUIRED",
    "CLASSROOM_REQUIRED",
    "Decoded",
    "decode_columns",
    "decode_lines",
    "decode_messages",
    "empty_labels",
]

CLASSROOM_REQUIRED: tuple[str, ...] = ("transactionID", "userID", "amount", "timestamp", "itemID")
CANONICAL_REQUIRED: tuple[str, ...] = ("tx_id", "ts", "customer_id", "merchant_id", "amount")
_NUMBER = (int, float)


def empty_labels() -> pd.DataFrame:
    """A label frame without rows (a shallow copy of one built once: building a frame costs more
    than a batch of lines takes to decode)."""
    return _NO_LABELS.copy(deep=False)


_NO_LABELS = pd.DataFrame(
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
    if not lines:
        return Decoded(pd.DataFrame())
    if b'"type"' not in b"".join(lines):  # the usual batch: transactions only (one search, not one per line)
        frame = decode_columns(lines)
        return Decoded(frame) if frame is not None else _decode_each(lines, positions)
    typed = [i for i, line in enumerate(lines) if b'"type"' in line]
    if len(typed) == len(lines):
        return _decode_each(lines, positions)
    marked = set(typed)
    plain = [i for i in range(len(lines)) if i not in marked]
    frame = decode_columns([lines[i] for i in plain])
    if frame is None:
        return _decode_each(lines, positions)
    others = _decode_each(
        [lines[i] for i in typed], None if positions is None else [positions[i] for i in typed]
    )
    if len(others.frame):  # transactions with a "type" attr: keep one frame, decode all the slow way
        return _decode_each(lines, positions)
    return Decoded(frame, others.labels, others.dead)


def decode_columns(lines: Sequence[bytes]) -> pd.DataFrame | None:
    """Transaction lines (classroom wire or canonical JSON, one layout, no ``type`` key) as one
    canonical frame in one columnar pass; ``None`` when a line is not clean (the caller then
    decodes line by line to find and explain it).

    >>> frame = decode_columns([b'{"transactionID": 3, "userID": 5, "amount": 2, '
    ...     b'"timestamp": "2024-01-01T00:00:09", "itemID": "F1", "merchantID": "M2", "isWeekend": false}'])
    >>> frame.dtypes.astype(str).to_dict()["amount"], frame["category"].tolist(), str(frame["ts"][0])
    ('float64', ['F'], '2024-01-01 00:00:09+00:00')
    >>> decode_columns([b'{"transactionID": 3, "userID": 5, "amount": -2}']) is None
    True
    """
    try:
        table = pajson.read_json(
            io.BytesIO(b"\n".join(lines)),
            read_options=pajson.ReadOptions(
                use_threads=False, block_size=max(1 << 20, 2 * sum(map(len, lines)))
            ),
            parse_options=pajson.ParseOptions(explicit_schema=_TEXT_TIMES, unexpected_field_behavior="infer"),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(lines):
        return None
    classroom = "transactionID" in table.column_names
    unused = "ts" if classroom else "timestamp"  # the explicit schema adds both time fields
    if table.column(unused).null_count == table.num_rows:
        table = table.drop_columns([unused])
    names = set(table.column_names)
    required = CLASSROOM_REQUIRED if classroom else CANONICAL_REQUIRED
    if any(name not in names or table.column(name).null_count for name in required):
        return None
    amount = table.column("amount")
    if not (pa.types.is_integer(amount.type) or pa.types.is_floating(amount.type)):
        return None
    if not pc.all(pc.greater_equal(amount, 0)).as_py():  # NaN compares false too
        return None
    try:
        frame = _classroom_columns(table) if classroom else _canonical_columns(table)
        return _checked(frame)
    except (FraudStreamError, pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError, KeyError):
        return None


_TEXT_TIMES = pa.schema([("timestamp", pa.string()), ("ts", pa.string())])
_CLASSROOM_ATTRS = (
    ("isWeekend", "is_weekend"),
    ("hourOfDay", "hour_of_day"),
    ("daysSinceLastTransaction", "days_since_last_transaction"),
    ("userProfile", "user_profile"),
)


def _integers(column: pa.ChunkedArray) -> np.ndarray:
    if not pa.types.is_integer(column.type):
        raise TypeError(f"ids must be integers in the classroom format, got {column.type}")
    return column.to_numpy().astype(np.int64, copy=False)


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False)


def _classroom_columns(table: pa.Table) -> pd.DataFrame:
    """The same frame as :func:`fraudstream.stream.messages.frame_of` gives, from Arrow columns."""
    names = set(table.column_names)
    stamps = pc.strptime(table.column("timestamp"), format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=False)
    items = table.column("itemID")
    out: dict[str, Any] = {
        "tx_id": _integers(table.column("transactionID")),
        "ts": pd.DatetimeIndex(stamps.to_numpy().astype("datetime64[ns]")).tz_localize("UTC"),
        "customer_id": _integers(table.column("userID")),
        "merchant_id": _objects(table.column("merchantID"))
        if "merchantID" in names
        else np.full(table.num_rows, "unknown", dtype=object),
        "amount": table.column("amount").to_numpy().astype(np.float64),
        "category": _objects(pc.utf8_slice_codeunits(items, 0, 1)),
        "item_id": _objects(items),
    }
    for wire, name in _CLASSROOM_ATTRS:
        if wire in names:
            if table.column(wire).null_count:
                raise ValueError(f"{wire} has empty values")
            out[name] = table.column(wire).to_pandas().to_numpy()
    if "isFraud" in names:
        flags = table.column("isFraud")
        if flags.null_count or not pa.types.is_boolean(flags.type):
            raise TypeError("isFraud must be true/false")
        is_fraud = flags.to_numpy(zero_copy_only=False).astype(bool)
        out["is_fraud"] = is_fraud
        patterns = (
            _objects(table.column("fraudPattern"))
            if "fraudPattern" in names
            else np.full(table.num_rows, None, dtype=object)
        )
        out["fraud_pattern"] = pd.Series(np.where(is_fraud, patterns, None), dtype=object)
    return pd.DataFrame(out)


def _canonical_columns(table: pa.Table) -> pd.DataFrame:
    if not pa.types.is_string(table.column("ts").type):
        raise TypeError("ts must be text")
    frame = table.to_pandas()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    return frame


def _decode_each(lines: Sequence[bytes], positions: Sequence[Any] | None) -> Decoded:
    """Line by line: finds and explains the bad lines (the slow, careful path)."""
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
