"""Seed 001's transaction table (the PySpark notebook's ``transaction_schema``).

Columns, in order: ``transaction_id`` (uuid4 string), ``event_timestamp`` (naive timestamp),
``user_id`` (``user_0`` ..), ``amount``, ``transaction_type``, ``location`` (a location type),
``is_fraud_actual`` (0/1), ``tx_hour`` (0..23), ``tx_day_of_week`` (Monday = 0).

Canonical mapping: ``transaction_id`` -> ``tx_id`` (strings that are all plain decimal integers
become int64, so the ``pyspark-demo`` world's integer ids survive a round trip; uuids stay
strings), ``event_timestamp`` -> ``ts`` (naive values read as UTC), ``user_id`` ->
``customer_id``, ``transaction_type`` -> ``category``, ``location`` -> ``channel`` and
``merchant_id`` (the layout has no merchant; the location type stands in, as in the world),
``is_fraud_actual`` -> ``is_fraud``; ``tx_hour`` and ``tx_day_of_week`` stay attrs. The layout
carries no pattern: ``fraud_pattern`` is None on the way in and dropped on the way out.

>>> import pandas as pd
>>> from fraudstream.worlds import simulate
>>> world = simulate("pyspark-demo", rows=3, seed=1)
>>> table = Seed001Adapter().from_canonical(world)
>>> list(table.columns) == list(Seed001Adapter.columns), table["transaction_id"].tolist()
(True, ['1', '2', '3'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.adapters import Adapter
from fraudstream.adapters._columns import flags, integers, naive_utc, numbers, require, timestamps
from fraudstream.errors import InvalidRecord

__all__ = ["Seed001Adapter"]

SCHEMA = "seed001"


def _ids(values: pd.Series) -> pd.Series:
    """Integer ids stay int64; strings that are all plain decimal integers become int64."""
    if pd.api.types.is_integer_dtype(values):
        return values.astype(np.int64).reset_index(drop=True)
    text = values.astype(str).reset_index(drop=True)
    digits = text.str.fullmatch(r"0|[1-9][0-9]{0,17}")
    return text.astype(np.int64) if len(text) and digits.all() else text.astype(object)


class Seed001Adapter(Adapter):
    """Seed 001's ``transaction_schema`` <-> canonical columns."""

    name = "seed001"
    summary = "seed 001 PySpark notebook table (transaction_id, event_timestamp, user_id, ...)"
    columns = ("transaction_id", "event_timestamp", "user_id", "amount", "transaction_type",
               "location", "is_fraud_actual", "tx_hour", "tx_day_of_week")
    required = ("transaction_id", "event_timestamp", "user_id", "amount", "transaction_type",
                "location")

    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        require(frame, self.required, SCHEMA, self.columns)
        for column in ("transaction_id", "user_id", "transaction_type", "location"):
            if frame[column].isna().any():
                row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
                raise InvalidRecord(f"{SCHEMA}: {column} must not be empty (row {row})")
        location = frame["location"].astype(object).to_numpy()
        out = pd.DataFrame({
            "tx_id": _ids(frame["transaction_id"]),
            "ts": timestamps(frame, "event_timestamp", SCHEMA),
            "customer_id": frame["user_id"].to_numpy(),
            "merchant_id": location,
            "amount": numbers(frame, "amount", SCHEMA, minimum=0.0),
            "category": frame["transaction_type"].astype(object).to_numpy(),
            "channel": location,
        })
        for attr in ("tx_hour", "tx_day_of_week"):
            if attr in frame.columns:
                out[attr] = integers(frame, attr, SCHEMA)
        if "is_fraud_actual" in frame.columns:
            out["is_fraud"] = flags(frame, "is_fraud_actual", SCHEMA)
            out["fraud_pattern"] = pd.Series([None] * len(out), dtype=object)
        return out

    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        ts = naive_utc(frame["ts"]).reset_index(drop=True)
        location = frame["channel"] if "channel" in frame.columns else frame["merchant_id"]
        out = pd.DataFrame({
            "transaction_id": frame["tx_id"].astype(str).to_numpy(dtype=object),
            "event_timestamp": ts,
            "user_id": frame["customer_id"].astype(str).to_numpy(dtype=object),
            "amount": frame["amount"].to_numpy(dtype=np.float64),
            "transaction_type": (frame["category"] if "category" in frame.columns
                                 else pd.Series(["unknown"] * len(frame))).to_numpy(dtype=object),
            "location": location.to_numpy(dtype=object),
        })
        if "is_fraud" in frame.columns:
            out["is_fraud_actual"] = frame["is_fraud"].to_numpy(dtype=np.int64)
        out["tx_hour"] = (frame["tx_hour"].to_numpy(dtype=np.int64) if "tx_hour" in frame.columns
                          else ts.dt.hour.to_numpy(dtype=np.int64))
        out["tx_day_of_week"] = (frame["tx_day_of_week"].to_numpy(dtype=np.int64)
                                 if "tx_day_of_week" in frame.columns
                                 else ts.dt.weekday.to_numpy(dtype=np.int64))
        return out[[c for c in self.columns if c in out.columns]]
