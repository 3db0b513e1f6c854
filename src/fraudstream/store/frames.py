"""Frames <-> store rows: canonical frames become Arrow tables with the store's columns.

Both back ends receive the same Arrow table per write (ids as text, times as UTC timestamps,
dataset-specific attrs packed into one JSON object per row) and turn it into their own bulk
format; reading back reverses it (:func:`restore_ids`, :func:`expand_attrs`).

>>> import pandas as pd
>>> frame = pd.DataFrame({"tx_id": [1, 2], "ts": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True),
...     "customer_id": [7, 7], "merchant_id": ["M1", "M2"], "amount": [1.5, 2.0], "job": ["a\\"b", None],
...     "is_fraud": [False, True]})
>>> rows, labels = transaction_rows(frame, source="demo", label_source="file")
>>> rows.column("attrs").to_pylist()
['{"job":"a\\\\"b"}', '{"job":null}']
>>> labels.column("is_fraud").to_pylist()
[False, True]
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudstream import records
from fraudstream.errors import InvalidRecord, StoreError
from fraudstream.jsontext import arrow_column, is_missing, json_objects
from fraudstream.store.schema import TABLES_BY_NAME, Table

__all__ = [
    "LABEL_SOURCES",
    "check_label_sources",
    "expand_attrs",
    "now_utc",
    "restore_ids",
    "table_rows",
    "text_ids",
    "transaction_rows",
    "utc_times",
]

LABEL_SOURCES = ("stream", "review", "file")
"""Where a label came from: the live stream, a human review, or an imported file."""

_TEXT_FIELDS = ("customer_id", "merchant_id", "category", "channel", "item_id", "country", "region")
_FLOAT_FIELDS = ("amount", "lat", "lon", "merchant_lat", "merchant_lon")


def now_utc() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def text_ids(values: pd.Series | np.ndarray | list[Any]) -> pa.Array:
    """Ids (integers or strings) as an Arrow string array; nulls stay null."""
    array = pa.array(values, from_pandas=True) if not isinstance(values, pa.Array) else values
    if pa.types.is_floating(array.type):  # integer ids that went through NaN-able float
        array = pc.cast(array, pa.int64())
    return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())


def utc_times(values: Any, column: str) -> pa.Array:
    """Timestamps (aware or naive = UTC, or ISO strings) as Arrow ``timestamp[ns, UTC]``."""
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    aware = isinstance(series.dtype, pd.DatetimeTZDtype)
    if aware or series.dtype.kind == "M":
        stamps = series.to_numpy(dtype="datetime64[ns]")  # aware: in UTC; naive: taken as UTC
        if not aware and np.isnat(stamps).any():
            row = int(np.flatnonzero(np.isnat(stamps))[0])
            raise InvalidRecord(f"{column} must be a date-time, got NaT (row {row})")
        return pa.array(stamps, type=pa.timestamp("ns", tz="UTC"), from_pandas=True)
    series = pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")
    if series.isna().any():
        row = int(np.flatnonzero(series.isna().to_numpy())[0])
        raise InvalidRecord(f"{column} must be a date-time, got {values[row]!r} (row {row})")
    return pa.array(series.astype("datetime64[ns, UTC]"), type=pa.timestamp("ns", tz="UTC"))


def transaction_rows(
    frame: pd.DataFrame, *, source: str | None, label_source: str
) -> tuple[pa.Table, pa.Table | None]:
    """A canonical frame -> (``transactions`` rows, ``labels`` rows or None), deduplicated by
    ``tx_id`` within the frame (first row wins)."""
    records.validate(frame, source="write_transactions")
    if label_source not in LABEL_SOURCES:
        raise InvalidRecord(f"label source must be one of {', '.join(LABEL_SOURCES)}, got {label_source!r}")
    duplicated = frame["tx_id"].duplicated().to_numpy()
    if duplicated.any():
        frame = frame.loc[~duplicated]
    n = len(frame)
    stored_at = pa.array(np.full(n, now_utc().value, dtype="datetime64[ns]"), pa.timestamp("ns", tz="UTC"))
    columns: dict[str, pa.Array] = {"tx_id": text_ids(frame["tx_id"]), "ts": utc_times(frame["ts"], "ts")}
    for name in ("customer_id", "merchant_id", "amount", *_TEXT_FIELDS[2:], *_FLOAT_FIELDS[1:]):
        if name not in frame.columns:
            continue
        values = frame[name]
        columns[name] = (
            pa.array(values.to_numpy(dtype=np.float64), pa.float64())
            if name in _FLOAT_FIELDS
            else text_ids(values)
            if pd.api.types.is_integer_dtype(values)
            else pc.cast(arrow_column(values), pa.string())
        )
    columns["attrs"] = json_objects(frame[records.attr_columns(frame)])
    columns["source"] = pa.array(np.full(n, source, dtype=object), pa.string())
    columns["stored_at"] = stored_at
    rows = _complete(TABLES_BY_NAME["transactions"], columns, n)
    if "is_fraud" not in frame.columns:
        return rows, None
    pattern = frame["fraud_pattern"] if "fraud_pattern" in frame.columns else pd.Series([None] * n)
    labels = _complete(
        TABLES_BY_NAME["labels"],
        {
            "tx_id": columns["tx_id"],
            "source": pa.array(np.full(n, label_source, dtype=object), pa.string()),
            "labelled_at": columns["ts"],
            "is_fraud": pa.array(frame["is_fraud"].to_numpy(dtype=bool)),
            "fraud_pattern": pc.cast(arrow_column(pattern.reset_index(drop=True)), pa.string()),
        },
        n,
    )
    return rows, labels


_ARROW_TYPES = {
    "text": pa.string(),
    "id": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "ts": pa.timestamp("ns", tz="UTC"),
    "json": pa.string(),
    "jsontext": pa.string(),
}


def _complete(table: Table, columns: dict[str, pa.Array], n: int) -> pa.Table:
    arrays = [
        columns[c.name] if c.name in columns else pa.nulls(n, _ARROW_TYPES[c.type]) for c in table.columns
    ]
    return pa.Table.from_arrays(arrays, names=list(table.column_names))


def check_label_sources(labels: pa.Table) -> None:
    """:class:`StoreError` naming the first ``source`` of ``labels`` rows that is not one of
    :data:`LABEL_SOURCES`."""
    bad = set(labels.column("source").unique().to_pylist()) - set(LABEL_SOURCES)
    if bad:
        raise StoreError(f"labels: source must be one of {', '.join(LABEL_SOURCES)}, got {sorted(bad)[0]!r}")


def _json_column(values: pd.Series, *, sort_keys: bool) -> pa.Array:
    if isinstance(values.dtype, pd.ArrowDtype) and pa.types.is_string(values.dtype.pyarrow_dtype):
        return pa.array(values.array)  # JSON text in Arrow already (decisions' reasons): as is
    if values.dtype == object and len(values):  # already JSON text: as is
        try:
            return pa.array(values, pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # dicts or lists in it: encode row by row
            pass
    return pa.array(
        [
            None
            if is_missing(v)
            else (v if isinstance(v, str) else json.dumps(v, sort_keys=sort_keys, default=str))
            for v in values
        ],
        pa.string(),
    )


def table_rows(table: Table, frame: pd.DataFrame, defaults: dict[str, Any] | None = None) -> pa.Table:
    """``frame`` -> rows of ``table`` (a store table other than ``transactions``).

    Missing nullable columns become null, ``defaults`` fill the others; a missing required
    column is an :class:`InvalidRecord` naming it.
    """
    n = len(frame)
    defaults = defaults or {}
    columns: dict[str, pa.Array] = {}
    for column in table.columns:
        if column.name in frame.columns:
            values = frame[column.name].reset_index(drop=True)
        elif column.name in defaults:
            columns[column.name] = _repeated(defaults[column.name], column.type, n)
            continue
        elif column.nullable:
            continue
        else:
            raise InvalidRecord(
                f"{table.name}: missing column {column.name}; "
                f"needs {', '.join(c.name for c in table.columns if not c.nullable)}"
            )
        if column.type == "ts":
            columns[column.name] = utc_times(values, column.name)
        elif column.type in ("json", "jsontext"):
            columns[column.name] = _json_column(values, sort_keys=column.name == "labels")
        elif column.type in ("text", "id"):
            columns[column.name] = (
                text_ids(values)
                if pd.api.types.is_integer_dtype(values)
                else pc.cast(arrow_column(values), pa.string())
            )
        else:
            columns[column.name] = pa.array(values, _ARROW_TYPES[column.type], from_pandas=True)
        if not column.nullable and columns[column.name].null_count:
            row = int(np.flatnonzero(pc.is_null(columns[column.name]).to_numpy(zero_copy_only=False))[0])
            raise InvalidRecord(f"{table.name}: {column.name} must not be empty (row {row})")
    return _complete(table, columns, n)


def _repeated(value: Any, kind: str, n: int) -> pa.Array:
    """A default ``value`` of logical type ``kind``, ``n`` times, without a Python object per row."""
    if kind == "ts":
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return pa.repeat(pa.scalar(stamp.value, pa.int64()), n).cast(_ARROW_TYPES["ts"])
    if kind in ("json", "jsontext") and not isinstance(value, str):
        value = json.dumps(value, sort_keys=True, default=str)
    return pa.repeat(pa.scalar(value, _ARROW_TYPES[kind]), n)


_INTEGER_TEXT = r"-?(0|[1-9][0-9]{0,18})"


def restore_ids(values: pd.Series) -> pd.Series:
    """Text ids back as int64 when every one is a plain decimal integer, else unchanged.

    >>> restore_ids(pd.Series(["1", "20"])).tolist(), restore_ids(pd.Series(["1", "C7"])).tolist()
    ([1, 20], ['1', 'C7'])
    """
    if len(values) and values.notna().all() and values.astype(str).str.fullmatch(_INTEGER_TEXT).all():
        try:
            return values.astype(np.int64)
        except (OverflowError, ValueError):  # beyond int64
            return values
    return values


def expand_attrs(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace the JSON ``attrs`` column by one column per key (in first-seen order)."""
    if "attrs" not in frame.columns:
        return frame
    objects = [json.loads(v) if isinstance(v, str) else (v or {}) for v in frame["attrs"]]
    attrs = (
        pd.DataFrame.from_records(objects, index=frame.index) if objects else pd.DataFrame(index=frame.index)
    )
    attrs = attrs.drop(columns=[c for c in attrs.columns if c in frame.columns], errors="ignore")
    return pd.concat([frame.drop(columns=["attrs"]), attrs], axis=1)
