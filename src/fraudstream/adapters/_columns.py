"""Column checks and conversions shared by the file-layout adapters (private).

Each function validates one external column and raises :class:`InvalidRecord` naming the
schema, the column, the first bad value and its row.

>>> import pandas as pd
>>> numbers(pd.DataFrame({"amount": ["1.5", "x"]}), "amount", "demo")
Traceback (most recent call last):
...
fraudstream.errors.InvalidRecord: demo: amount must be a number, got 'x' (row 1)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from fraudstream.errors import InvalidRecord

__all__ = ["flags", "integers", "naive_utc", "numbers", "require", "row_ids", "timestamps"]


def require(frame: pd.DataFrame, columns: Iterable[str], schema: str, layout: Iterable[str]) -> None:
    """Raise if any of ``columns`` is missing from ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidRecord(f"{schema}: missing column(s) {', '.join(missing)}; the layout has "
                            f"{', '.join(layout)}")


def _first_bad(frame: pd.DataFrame, column: str, bad: np.ndarray) -> tuple[int, object]:
    row = int(np.flatnonzero(bad)[0])
    value = frame[column].iloc[row]
    return row, value.item() if isinstance(value, np.generic) else value


def numbers(frame: pd.DataFrame, column: str, schema: str, *, allow_missing: bool = False,
            minimum: float | None = None) -> np.ndarray:
    """``frame[column]`` as float64; missing values allowed only with ``allow_missing``."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & (raw.notna().to_numpy() | (not allow_missing))
    if bad.any():
        row, value = _first_bad(frame, column, bad)
        raise InvalidRecord(f"{schema}: {column} must be a number, got {value!r} (row {row})")
    if minimum is not None:
        low = values < minimum
        if low.any():
            row, value = _first_bad(frame, column, low)
            raise InvalidRecord(f"{schema}: {column} must be >= {minimum}, got {value!r} (row {row})")
    return values


def integers(frame: pd.DataFrame, column: str, schema: str) -> np.ndarray:
    """``frame[column]`` as int64 (whole numbers only)."""
    values = numbers(frame, column, schema)
    bad = values != np.round(values)
    if bad.any():
        row, value = _first_bad(frame, column, bad)
        raise InvalidRecord(f"{schema}: {column} must be a whole number, got {value!r} (row {row})")
    return values.astype(np.int64)


def flags(frame: pd.DataFrame, column: str, schema: str) -> np.ndarray:
    """``frame[column]`` (0/1 or booleans) as bool."""
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw):
        return raw.to_numpy(dtype=bool)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row, value = _first_bad(frame, column, bad)
        raise InvalidRecord(f"{schema}: {column} must be 0 or 1, got {value!r} (row {row})")
    return values == 1.0


def timestamps(frame: pd.DataFrame, column: str, schema: str, fmt: str | None = None) -> pd.Series:
    """``frame[column]`` as UTC datetimes; naive values (and strings in ``fmt``) are read as UTC."""
    raw = frame[column]
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        ts = raw.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(raw):
        ts = raw.dt.tz_localize("UTC")
    else:
        ts = pd.to_datetime(raw, format=fmt if fmt else "ISO8601", utc=True, errors="coerce")
    bad = ts.isna().to_numpy()
    if bad.any():
        row, value = _first_bad(frame, column, bad)
        expected = f"a time like {pd.Timestamp('2024-01-31 13:05:00').strftime(fmt)}" if fmt \
            else "an ISO 8601 time"
        raise InvalidRecord(f"{schema}: {column} must be {expected}, got {value!r} (row {row})")
    return ts.astype("datetime64[ns, UTC]").reset_index(drop=True)


def naive_utc(ts: pd.Series) -> pd.Series:
    """UTC datetimes without their zone (the seeds' naive timestamps)."""
    return ts.dt.tz_convert("UTC").dt.tz_localize(None)


def row_ids(frame: pd.DataFrame, offset: int = 0) -> np.ndarray:
    """Row numbers from the frame's integer index (``pandas.read_csv`` keeps counting across
    chunks), plus ``offset``; positions when the index is not integer."""
    index = frame.index
    if pd.api.types.is_integer_dtype(index):
        return index.to_numpy(dtype=np.int64) + offset
    return np.arange(len(frame), dtype=np.int64) + offset
