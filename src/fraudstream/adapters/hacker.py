"""Seed 003's Kafka message (topic ``raw_transactions``), optionally with ``is_fraud``.

Columns, in order: ``account_id``, ``transaction_amount``, ``transaction_time`` (text,
``YYYY-mm-dd HH:MM:SS``), ``location`` (a country name), ``transaction_method``,
``user_transactions_last_24h``, and ``is_fraud`` as in the seed's ``transactions`` table. In the
seed's own table ``is_fraud`` is the model's verdict, not ground truth; written from a world it
is the world's label.

Canonical mapping: ``account_id`` -> ``customer_id``, ``merchant_id`` = ``"unknown"`` (no
merchant in the layout), ``location`` -> ``country``, ``transaction_method`` -> ``channel``,
``user_transactions_last_24h`` stays an attr (``account_age`` and ``transaction_hour`` too, when a
table export has them), ``is_fraud`` -> ``is_fraud`` with ``fraud_pattern`` ``"hacker"`` on fraud
(the only fraud this seed knows). The message has no id: ``tx_id`` is ``transaction_id`` when the
table's column is present, otherwise the row number + 1 (from the frame's integer index, which
``pandas.read_csv`` keeps counting across chunks). The world's ``signup_time`` and
``account_age`` attrs are not part of the message and are dropped on the way out.

>>> from fraudstream.worlds import simulate
>>> message = HackerAdapter().from_canonical(simulate("hacker", rows=1, seed=1))
>>> list(message.columns) == list(HackerAdapter.columns)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.adapters import Adapter
from fraudstream.adapters._columns import flags, integers, numbers, require, row_ids, timestamps
from fraudstream.errors import InvalidRecord

__all__ = ["TIMESTAMP_FORMAT", "HackerAdapter"]

SCHEMA = "hacker"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class HackerAdapter(Adapter):
    """Seed 003's transaction message <-> canonical columns."""

    name = "hacker"
    summary = "seed 003 Kafka message (account_id, transaction_amount, transaction_time, ...)"
    columns = ("account_id", "transaction_amount", "transaction_time", "location",
               "transaction_method", "user_transactions_last_24h", "is_fraud")
    required = columns[:-1]

    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        require(frame, self.required, SCHEMA, self.columns)
        for column in ("location", "transaction_method"):
            if frame[column].isna().any():
                row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
                raise InvalidRecord(f"{SCHEMA}: {column} must not be empty (row {row})")
        tx_id = (integers(frame, "transaction_id", SCHEMA) if "transaction_id" in frame.columns
                 else row_ids(frame, offset=1))
        out = pd.DataFrame({
            "tx_id": tx_id,
            "ts": timestamps(frame, "transaction_time", SCHEMA, TIMESTAMP_FORMAT),
            "customer_id": integers(frame, "account_id", SCHEMA),
            "merchant_id": "unknown",
            "amount": numbers(frame, "transaction_amount", SCHEMA, minimum=0.0),
            "channel": frame["transaction_method"].astype(object).to_numpy(),
            "country": frame["location"].astype(object).to_numpy(),
            "user_transactions_last_24h": integers(frame, "user_transactions_last_24h", SCHEMA),
        })
        for attr in ("account_age", "transaction_hour"):
            if attr in frame.columns:
                out[attr] = integers(frame, attr, SCHEMA)
        if "is_fraud" in frame.columns:
            fraud = flags(frame, "is_fraud", SCHEMA)
            out["is_fraud"] = fraud
            out["fraud_pattern"] = np.where(fraud, "hacker", None).astype(object)
        return out

    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        if "user_transactions_last_24h" not in frame.columns:
            raise InvalidRecord(f"{SCHEMA}: attr user_transactions_last_24h is missing; the message "
                                "needs it (worlds other than hacker do not have it)")
        n = len(frame)
        out = pd.DataFrame({
            "account_id": frame["customer_id"].to_numpy(dtype=np.int64),
            "transaction_amount": frame["amount"].to_numpy(dtype=np.float64),
            "transaction_time": frame["ts"].dt.tz_convert("UTC").dt.strftime(TIMESTAMP_FORMAT)
                                .to_numpy(dtype=object),
            "location": (frame["country"].to_numpy(dtype=object) if "country" in frame.columns
                         else np.full(n, "unknown", dtype=object)),
            "transaction_method": (frame["channel"].to_numpy(dtype=object) if "channel" in frame.columns
                                   else np.full(n, "unknown", dtype=object)),
            "user_transactions_last_24h": frame["user_transactions_last_24h"].to_numpy(dtype=np.int64),
        })
        if "is_fraud" in frame.columns:
            out["is_fraud"] = frame["is_fraud"].to_numpy(dtype=bool)
        return out
