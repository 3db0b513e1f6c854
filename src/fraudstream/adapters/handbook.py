"""The Fraud Detection Handbook's transaction files <-> canonical columns.

The Handbook's simulated dataset has these columns, in this order::

    TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID, TERMINAL_ID, TX_AMOUNT, TX_TIME_SECONDS,
    TX_TIME_DAYS, TX_FRAUD, TX_FRAUD_SCENARIO

Canonical mapping: ``TRANSACTION_ID`` -> ``tx_id``, ``TX_DATETIME`` (naive, read as UTC) ->
``ts``, ``CUSTOMER_ID`` -> ``customer_id``, ``TERMINAL_ID`` -> ``merchant_id``, ``TX_AMOUNT`` ->
``amount``, ``TX_TIME_SECONDS`` / ``TX_TIME_DAYS`` -> the attrs ``tx_time_seconds`` /
``tx_time_days``, ``TX_FRAUD`` (0/1) -> ``is_fraud``, ``TX_FRAUD_SCENARIO`` -> ``fraud_pattern``
through :data:`~fraudstream.worlds.handbook.SCENARIOS` (0 -> ``None``; a number ``k`` outside
it -> ``"scenario_k"`` and back). Any other column travels under its own name, after the
published ones. ``TX_FRAUD`` and ``TX_FRAUD_SCENARIO`` are optional (unlabelled data).

Writing a frame of another world: ``TX_TIME_SECONDS`` and ``TX_TIME_DAYS`` are counted from
midnight UTC of the first timestamp this adapter instance sees, and a fraud pattern that is not
one of the Handbook's is written as scenario -1 (read back as ``"scenario_-1"``).

>>> import pandas as pd
>>> handbook = pd.DataFrame({"TRANSACTION_ID": [0], "TX_DATETIME": ["2018-04-01 00:00:31"],
...     "CUSTOMER_ID": [596], "TERMINAL_ID": [3156], "TX_AMOUNT": [533.07],
...     "TX_TIME_SECONDS": [31], "TX_TIME_DAYS": [0], "TX_FRAUD": [1], "TX_FRAUD_SCENARIO": [1]})
>>> canonical = HandbookAdapter().to_canonical(handbook)
>>> canonical[["tx_id", "merchant_id", "is_fraud", "fraud_pattern"]].to_dict("records")
[{'tx_id': 0, 'merchant_id': 3156, 'is_fraud': True, 'fraud_pattern': 'amount_over_220'}]
>>> HandbookAdapter().from_canonical(canonical)["TX_DATETIME"].iloc[0]
Timestamp('2018-04-01 00:00:31')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream import records
from fraudstream.adapters import Adapter
from fraudstream.errors import InvalidRecord
from fraudstream.worlds.handbook import DAY_S, SCENARIOS

__all__ = ["COLUMNS", "HandbookAdapter", "pattern_of", "scenario_of"]

COLUMNS: tuple[str, ...] = (
    "TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_TIME_SECONDS",
    "TX_TIME_DAYS", "TX_FRAUD", "TX_FRAUD_SCENARIO",
)
"""The Handbook's columns, in its order."""

_NUMBER_OF = {name: number for number, name in SCENARIOS.items()}
_UNKNOWN_SCENARIO = -1
_MAPPED = {"tx_id", "ts", "customer_id", "merchant_id", "amount", "tx_time_seconds", "tx_time_days",
           "is_fraud", "fraud_pattern"}


def pattern_of(scenario: int) -> str | None:
    """``fraud_pattern`` of a ``TX_FRAUD_SCENARIO`` number.

    >>> pattern_of(0), pattern_of(2), pattern_of(7)
    (None, 'compromised_terminal', 'scenario_7')
    """
    return None if scenario == 0 else SCENARIOS.get(scenario, f"scenario_{scenario}")


def scenario_of(pattern: str | None) -> int:
    """``TX_FRAUD_SCENARIO`` number of a ``fraud_pattern`` (-1 for another world's pattern).

    >>> scenario_of(None), scenario_of("compromised_card"), scenario_of("scenario_7")
    (0, 3, 7)
    """
    if pattern is None or pattern != pattern:  # None or NaN
        return 0
    if pattern in _NUMBER_OF:
        return _NUMBER_OF[pattern]
    head, _, number = pattern.partition("_")
    if head == "scenario" and number.lstrip("-").isdigit():
        return int(number)
    return _UNKNOWN_SCENARIO


def _shown(value: object) -> str:
    """``repr`` of a cell, numpy scalars as plain Python values."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _integers(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna().to_numpy() | (numbers.to_numpy(dtype=np.float64, na_value=np.nan) % 1 != 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidRecord(f"handbook: {column} must be an integer, got {_shown(values.iloc[row])} "
                            f"(row {row})")
    return numbers.to_numpy().astype(np.int64)


def _timestamps(frame: pd.DataFrame) -> pd.Series:
    values = frame["TX_DATETIME"]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values):
        return values.dt.tz_localize("UTC")
    try:
        return pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InvalidRecord(f"handbook: TX_DATETIME must be a date and time such as "
                            f"2018-04-01 00:00:31, got {_shown(values.iloc[row])} (row {row})") from None


class HandbookAdapter(Adapter):
    """The Handbook's simulated transaction table <-> canonical columns."""

    name = "handbook"
    summary = "Fraud Detection Handbook (TRANSACTION_ID, TX_DATETIME, ..., TX_FRAUD_SCENARIO)"
    columns = COLUMNS
    required = COLUMNS[:7]

    def __init__(self) -> None:
        self._origin: pd.Timestamp | None = None

    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.required if c not in frame.columns]
        if "TX_FRAUD_SCENARIO" in frame.columns and "TX_FRAUD" not in frame.columns:
            missing.append("TX_FRAUD")
        if missing:
            raise InvalidRecord(f"handbook: missing column(s) {', '.join(missing)}; the layout has "
                                f"{', '.join(COLUMNS)} (the last two optional)")
        amount = pd.to_numeric(frame["TX_AMOUNT"], errors="coerce").astype(np.float64)
        if amount.isna().any():
            row = int(np.flatnonzero(amount.isna().to_numpy())[0])
            raise InvalidRecord(f"handbook: TX_AMOUNT must be a number, got "
                                f"{_shown(frame['TX_AMOUNT'].iloc[row])} (row {row})")
        out = pd.DataFrame({
            "tx_id": _integers(frame, "TRANSACTION_ID"),
            "ts": pd.DatetimeIndex(_timestamps(frame)),
            "customer_id": _integers(frame, "CUSTOMER_ID"),
            "merchant_id": _integers(frame, "TERMINAL_ID"),
            "amount": amount.to_numpy(),
            "tx_time_seconds": _integers(frame, "TX_TIME_SECONDS"),
            "tx_time_days": _integers(frame, "TX_TIME_DAYS"),
        })
        for column in frame.columns:
            if column not in COLUMNS:
                out[column] = frame[column].to_numpy()
        if "TX_FRAUD" in frame.columns:
            fraud = _integers(frame, "TX_FRAUD")
            if not np.isin(fraud, (0, 1)).all():
                row = int(np.flatnonzero(~np.isin(fraud, (0, 1)))[0])
                raise InvalidRecord(f"handbook: TX_FRAUD must be 0 or 1, got {fraud[row]} (row {row})")
            out["is_fraud"] = fraud.astype(bool)
            scenario = (_integers(frame, "TX_FRAUD_SCENARIO") if "TX_FRAUD_SCENARIO" in frame.columns
                        else np.zeros(len(frame), dtype=np.int64))
            numbers, inverse = np.unique(scenario, return_inverse=True)
            out["fraud_pattern"] = np.array([pattern_of(int(n)) for n in numbers],
                                            dtype=object)[inverse.reshape(-1)]
        return records.validate(out, source="handbook")

    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        ts = frame["ts"]
        if "tx_time_seconds" in frame.columns and "tx_time_days" in frame.columns:
            seconds = frame["tx_time_seconds"].to_numpy(dtype=np.int64)
            days = frame["tx_time_days"].to_numpy(dtype=np.int64)
        else:
            if self._origin is None and len(ts):
                self._origin = ts.iloc[0].floor("D")
            origin = self._origin if self._origin is not None else pd.Timestamp(0, tz="UTC")
            seconds = ((ts - origin).dt.total_seconds()).to_numpy().astype(np.int64)
            days = seconds // DAY_S
        out = pd.DataFrame({
            "TRANSACTION_ID": frame["tx_id"].to_numpy(),
            "TX_DATETIME": ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(),
            "CUSTOMER_ID": frame["customer_id"].to_numpy(),
            "TERMINAL_ID": frame["merchant_id"].to_numpy(),
            "TX_AMOUNT": frame["amount"].to_numpy(dtype=np.float64),
            "TX_TIME_SECONDS": seconds,
            "TX_TIME_DAYS": days,
        })
        if "is_fraud" in frame.columns:
            out["TX_FRAUD"] = frame["is_fraud"].to_numpy().astype(np.int64)
            patterns = (frame["fraud_pattern"] if "fraud_pattern" in frame.columns
                        else pd.Series([None] * len(frame), dtype=object))
            codes, names = pd.factorize(patterns, use_na_sentinel=True)
            numbers = np.array([scenario_of(name) for name in names] + [0], dtype=np.int64)
            out["TX_FRAUD_SCENARIO"] = numbers[codes]
        for column in frame.columns:
            if column not in _MAPPED:
                out[column] = frame[column].to_numpy()
        return out
