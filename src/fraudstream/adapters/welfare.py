"""Seed 002's SQLite ``transactions`` table (the welfare-scheme monitor).

Columns, in order: ``transaction_id`` (INTEGER), ``beneficiary_id``, ``amount``, ``timestamp``
(text, ``%Y-%m-%d %H:%M:%S``), ``latitude``, ``longitude``, ``scheme_type``, ``is_anomaly``
(0/1, the generator's ground truth), ``fraud_type``, ``status`` (NULL until scored, then
``ANOMALY`` or ``NORMAL``), ``anomaly_score`` (reconstruction error).

Canonical mapping: ``transaction_id`` -> ``tx_id``, ``beneficiary_id`` -> ``customer_id``,
``scheme_type`` -> ``category`` and ``merchant_id`` (the scheme disburses; a missing scheme
becomes merchant ``"unknown"``), ``latitude``/``longitude`` -> ``lat``/``lon``, ``country`` =
``"IN"``, ``is_anomaly`` -> ``is_fraud``, ``fraud_type`` -> ``fraud_pattern`` on anomalous rows.
``status`` and ``anomaly_score`` become attrs unless they are entirely NULL. The seed's monitor
overwrites ``fraud_type`` with its own verdict; where ``fraud_type`` disagrees with the labels
(e.g. a type on a normal row), the whole column is also kept as the attr ``fraud_type`` so that
nothing is lost.

>>> from fraudstream.worlds import simulate
>>> table = WelfareAdapter().from_canonical(simulate("welfare", rows=2, seed=1))
>>> table.loc[0, "timestamp"], table.loc[0, "is_anomaly"]
('2024-01-01 00:00:02', np.int64(1))
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.adapters import Adapter
from fraudstream.adapters._columns import flags, integers, numbers, require, timestamps

__all__ = ["TIMESTAMP_FORMAT", "WelfareAdapter"]

SCHEMA = "welfare"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def _text(values: pd.Series) -> np.ndarray:
    """Object array with None for missing values."""
    return values.astype(object).where(values.notna(), None).to_numpy(dtype=object)


def _floats_or_nan(frame: pd.DataFrame, column: str) -> np.ndarray:
    """``frame[column]`` as float64, or NaN everywhere when the frame has no such column."""
    if column in frame.columns:
        return frame[column].to_numpy(dtype=np.float64)
    return np.full(len(frame), np.nan)


class WelfareAdapter(Adapter):
    """Seed 002's ``transactions`` table <-> canonical columns."""

    name = "welfare"
    summary = "seed 002 welfare-scheme SQLite table (transaction_id, beneficiary_id, scheme_type, ...)"
    columns = ("transaction_id", "beneficiary_id", "amount", "timestamp", "latitude", "longitude",
               "scheme_type", "is_anomaly", "fraud_type", "status", "anomaly_score")
    required = ("transaction_id", "beneficiary_id", "amount", "timestamp")

    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        require(frame, self.required, SCHEMA, self.columns)
        n = len(frame)
        missing_text = pd.Series([None] * n, index=frame.index, dtype=object)
        scheme = _text(frame["scheme_type"]) if "scheme_type" in frame.columns else missing_text.to_numpy()
        out = pd.DataFrame({
            "tx_id": integers(frame, "transaction_id", SCHEMA),
            "ts": timestamps(frame, "timestamp", SCHEMA, TIMESTAMP_FORMAT),
            "customer_id": integers(frame, "beneficiary_id", SCHEMA),
            "merchant_id": np.where(pd.isna(scheme), "unknown", scheme).astype(object),
            "amount": numbers(frame, "amount", SCHEMA, minimum=0.0),
            "category": scheme,
            "lat": (numbers(frame, "latitude", SCHEMA, allow_missing=True)
                    if "latitude" in frame.columns else np.full(n, np.nan)),
            "lon": (numbers(frame, "longitude", SCHEMA, allow_missing=True)
                    if "longitude" in frame.columns else np.full(n, np.nan)),
            "country": "IN",
        })
        fraud_type = _text(frame["fraud_type"]) if "fraud_type" in frame.columns else missing_text.to_numpy()
        if "status" in frame.columns and frame["status"].notna().any():
            out["status"] = _text(frame["status"])
        if "anomaly_score" in frame.columns and frame["anomaly_score"].notna().any():
            out["anomaly_score"] = numbers(frame, "anomaly_score", SCHEMA, allow_missing=True)
        if "is_anomaly" in frame.columns:
            fraud = flags(frame, "is_anomaly", SCHEMA)
            pattern = np.where(fraud, fraud_type, None).astype(object)
            if not np.array_equal(pd.isna(pattern), pd.isna(fraud_type)):
                out["fraud_type"] = fraud_type
            out["is_fraud"] = fraud
            out["fraud_pattern"] = pattern
        elif pd.notna(fraud_type).any():
            out["fraud_type"] = fraud_type
        return out

    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        n = len(frame)
        nothing = np.full(n, None, dtype=object)
        scheme = frame["category"] if "category" in frame.columns else frame["merchant_id"]
        stamps = frame["ts"].dt.tz_convert("UTC").dt.strftime(TIMESTAMP_FORMAT)
        out = pd.DataFrame({
            "transaction_id": frame["tx_id"].to_numpy(dtype=np.int64),
            "beneficiary_id": frame["customer_id"].to_numpy(dtype=np.int64),
            "amount": frame["amount"].to_numpy(dtype=np.float64),
            "timestamp": stamps.to_numpy(dtype=object),
            "latitude": _floats_or_nan(frame, "lat"),
            "longitude": _floats_or_nan(frame, "lon"),
            "scheme_type": _text(scheme),
            "is_anomaly": (frame["is_fraud"].to_numpy(dtype=np.int64) if "is_fraud" in frame.columns
                           else nothing),
            "fraud_type": (_text(frame["fraud_type"]) if "fraud_type" in frame.columns
                           else _text(frame["fraud_pattern"]) if "fraud_pattern" in frame.columns
                           else nothing),
            "status": _text(frame["status"]) if "status" in frame.columns else nothing,
            "anomaly_score": (frame["anomaly_score"].to_numpy(dtype=np.float64)
                              if "anomaly_score" in frame.columns else np.full(n, np.nan)),
        })
        return out
