"""The ULB credit-card dataset (``creditcard.csv``: ``Time, V1 .. V28, Amount, Class``).

284,807 European card transactions over two days of September 2013; ``V1`` .. ``V28`` are PCA
components, ``Time`` is seconds since the first transaction, ``Class`` is 1 for fraud.

Canonical mapping: ``ts`` = :data:`BASE_TIME` (2013-09-01T00:00:00Z, a documented stand-in: the
dataset gives no date) + ``Time`` seconds; ``amount`` = ``Amount``; ``V1`` .. ``V28`` stay attrs
under their names; ``is_fraud`` = ``Class == 1``, ``fraud_pattern`` None (the dataset names no
pattern). The dataset has no card, customer or merchant: ``customer_id`` and ``merchant_id``
are the constant ``"unknown"`` (so per-customer features degrade to global ones, honestly) and
are dropped on the way out. ``tx_id`` is the row number in the file, from the frame's integer
index (``pandas.read_csv`` keeps counting across chunks).

>>> import pandas as pd
>>> row = {"Time": [0.0, 406.0], **{f"V{i}": [0.5, -1.0] for i in range(1, 29)},
...        "Amount": [149.62, 0.0], "Class": [0, 1]}
>>> frame = ULBAdapter().to_canonical(pd.DataFrame(row))
>>> frame["ts"].iloc[1].isoformat(), frame["is_fraud"].tolist()
('2013-09-01T00:06:46+00:00', [False, True])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.adapters import Adapter
from fraudstream.adapters._columns import flags, numbers, require, row_ids

__all__ = ["BASE_TIME", "FEATURES", "ULBAdapter"]

SCHEMA = "ulb"
BASE_TIME = pd.Timestamp("2013-09-01T00:00:00", tz="UTC")
FEATURES: tuple[str, ...] = tuple(f"V{i}" for i in range(1, 29))


class ULBAdapter(Adapter):
    """ULB ``creditcard.csv`` <-> canonical columns."""

    name = "ulb"
    summary = "ULB creditcard.csv (Time, V1..V28, Amount, Class)"
    columns = ("Time", *FEATURES, "Amount", "Class")
    required = columns[:-1]

    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        require(frame, self.required, SCHEMA, ("Time", "V1 .. V28", "Amount", "Class"))
        seconds = numbers(frame, "Time", SCHEMA, minimum=0.0)
        out = pd.DataFrame({
            "tx_id": row_ids(frame),
            "ts": BASE_TIME + pd.to_timedelta(seconds, unit="s"),
            "customer_id": "unknown",
            "merchant_id": "unknown",
            "amount": numbers(frame, "Amount", SCHEMA, minimum=0.0),
        })
        features = pd.DataFrame({name: numbers(frame, name, SCHEMA) for name in FEATURES})
        out = pd.concat([out, features], axis=1)
        if "Class" in frame.columns:
            out["is_fraud"] = flags(frame, "Class", SCHEMA)
            out["fraud_pattern"] = pd.Series([None] * len(out), dtype=object)
        return out

    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        seconds = (frame["ts"].dt.tz_convert("UTC") - BASE_TIME) / pd.Timedelta(seconds=1)
        n = len(frame)
        out = pd.DataFrame({"Time": seconds.to_numpy(dtype=np.float64)})
        features = pd.DataFrame({name: (frame[name].to_numpy(dtype=np.float64) if name in frame.columns
                                        else np.full(n, np.nan)) for name in FEATURES})
        out = pd.concat([out, features], axis=1)
        out["Amount"] = frame["amount"].to_numpy(dtype=np.float64)
        if "is_fraud" in frame.columns:
            out["Class"] = frame["is_fraud"].to_numpy(dtype=np.int64)
        return out
