"""The PaySim mobile-money dataset (``step, type, amount, nameOrig, ..., isFlaggedFraud``).

6.36 M simulated mobile-money transfers over 744 hourly steps; ``type`` is one of CASH_IN,
CASH_OUT, DEBIT, PAYMENT, TRANSFER.

Canonical mapping: ``ts`` = :data:`BASE_TIME` (2024-01-01T00:00:00Z, a documented stand-in: the
dataset gives no date) + ``step`` hours, so all rows of a step share one timestamp;
``nameOrig`` -> ``customer_id``, ``nameDest`` -> ``merchant_id``, ``type`` -> ``category``;
the balances ``oldbalanceOrg``, ``newbalanceOrig``, ``oldbalanceDest``, ``newbalanceDest`` and
``isFlaggedFraud`` (the dataset's own rule flag) stay attrs under their names; ``is_fraud`` =
``isFraud == 1``, ``fraud_pattern`` None (the dataset names no pattern). ``tx_id`` is the row
number in the file, from the frame's integer index. On the way out, ``step`` is the whole number
of hours from the base time (rounded down).

>>> import pandas as pd
>>> row = pd.DataFrame({"step": [1], "type": ["TRANSFER"], "amount": [181.0], "nameOrig": ["C1305486145"],
...     "oldbalanceOrg": [181.0], "newbalanceOrig": [0.0], "nameDest": ["C553264065"],
...     "oldbalanceDest": [0.0], "newbalanceDest": [0.0], "isFraud": [1], "isFlaggedFraud": [0]})
>>> frame = PaySimAdapter().to_canonical(row)
>>> frame.loc[0, "ts"].isoformat(), frame.loc[0, "category"], bool(frame.loc[0, "is_fraud"])
('2024-01-01T01:00:00+00:00', 'TRANSFER', True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.adapters import Adapter
from fraudstream.adapters._columns import flags, integers, numbers, require, row_ids
from fraudstream.errors import InvalidRecord

__all__ = ["BALANCES", "BASE_TIME", "PaySimAdapter"]

SCHEMA = "paysim"
BASE_TIME = pd.Timestamp("2024-01-01T00:00:00", tz="UTC")
BALANCES: tuple[str, ...] = ("oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")


class PaySimAdapter(Adapter):
    """PaySim's CSV <-> canonical columns."""

    name = "paysim"
    summary = "PaySim mobile money (step, type, amount, nameOrig, ..., isFraud, isFlaggedFraud)"
    columns = ("step", "type", "amount", "nameOrig", "oldbalanceOrg", "newbalanceOrig", "nameDest",
               "oldbalanceDest", "newbalanceDest", "isFraud", "isFlaggedFraud")
    required = columns[:9]

    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        require(frame, self.required, SCHEMA, self.columns)
        for column in ("type", "nameOrig", "nameDest"):
            if frame[column].isna().any():
                row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
                raise InvalidRecord(f"{SCHEMA}: {column} must not be empty (row {row})")
        step = integers(frame, "step", SCHEMA)
        if (step < 0).any():
            row = int(np.flatnonzero(step < 0)[0])
            raise InvalidRecord(f"{SCHEMA}: step must be >= 0 hours, got {step[row]} (row {row})")
        out = pd.DataFrame({
            "tx_id": row_ids(frame),
            "ts": BASE_TIME + pd.to_timedelta(step, unit="h"),
            "customer_id": frame["nameOrig"].astype(object).to_numpy(),
            "merchant_id": frame["nameDest"].astype(object).to_numpy(),
            "amount": numbers(frame, "amount", SCHEMA, minimum=0.0),
            "category": frame["type"].astype(object).to_numpy(),
        })
        for balance in BALANCES:
            out[balance] = numbers(frame, balance, SCHEMA)
        if "isFlaggedFraud" in frame.columns:
            out["isFlaggedFraud"] = flags(frame, "isFlaggedFraud", SCHEMA).astype(np.int64)
        if "isFraud" in frame.columns:
            out["is_fraud"] = flags(frame, "isFraud", SCHEMA)
            out["fraud_pattern"] = pd.Series([None] * len(out), dtype=object)
        return out

    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        n = len(frame)
        hours = (frame["ts"].dt.tz_convert("UTC") - BASE_TIME) // pd.Timedelta(hours=1)
        out = pd.DataFrame({
            "step": hours.to_numpy(dtype=np.int64),
            "type": (frame["category"].to_numpy(dtype=object) if "category" in frame.columns
                     else np.full(n, "unknown", dtype=object)),
            "amount": frame["amount"].to_numpy(dtype=np.float64),
            "nameOrig": frame["customer_id"].astype(str).to_numpy(dtype=object),
        })
        for balance in BALANCES[:2]:
            out[balance] = frame[balance].to_numpy(dtype=np.float64) if balance in frame.columns \
                else np.full(n, np.nan)
        out["nameDest"] = frame["merchant_id"].astype(str).to_numpy(dtype=object)
        for balance in BALANCES[2:]:
            out[balance] = frame[balance].to_numpy(dtype=np.float64) if balance in frame.columns \
                else np.full(n, np.nan)
        if "is_fraud" in frame.columns:
            out["isFraud"] = frame["is_fraud"].to_numpy(dtype=np.int64)
        out["isFlaggedFraud"] = (frame["isFlaggedFraud"].to_numpy(dtype=np.int64)
                                 if "isFlaggedFraud" in frame.columns else np.zeros(n, dtype=np.int64))
        return out
