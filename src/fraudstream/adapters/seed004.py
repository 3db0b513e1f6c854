"""Seed 004's PostgreSQL ``transactions`` table (AWS ETL + IsolationForest).

The seed loads 7 of the Kaggle columns into::

    CREATE TABLE transactions (trans_date_trans_time TIMESTAMP, cc_num VARCHAR(255),
        merchant VARCHAR(255), category VARCHAR(255), amt DECIMAL(10,2), city VARCHAR(255),
        state VARCHAR(255));

and its analysis script adds ``anomaly_score DECIMAL(10,5)`` (IsolationForest
``decision_function``: lower is more anomalous) and ``is_anomaly INTEGER`` (-1 anomaly, 1 normal).
The table carries no ground truth: there is no ``is_fraud``, and the canonical frame has no labels.

Canonical mapping: ``trans_date_trans_time`` (a TIMESTAMP, or text such as
``2019-01-01 00:00:18``, read as UTC) -> ``ts``, ``cc_num`` -> ``customer_id`` (int64 when every
value is a plain decimal number that fits, otherwise the strings), ``merchant`` ->
``merchant_id``, ``amt`` -> ``amount``, ``state`` -> ``region``; ``city``, ``anomaly_score`` and
``is_anomaly`` are attrs (the last two are the seed's detector output, not labels). ``tx_id`` is
the frame's index (the row number of a query result or a CSV read with pandas).

:meth:`Seed004Adapter.from_canonical` gives the table's own types: naive ``datetime64[ns]``
timestamps, ``cc_num`` as text, ``amt`` rounded to cents; ``tx_id`` goes to the index.

>>> import pandas as pd
>>> table = pd.DataFrame({"trans_date_trans_time": pd.to_datetime(["2019-01-01 00:00:18"]),
...     "cc_num": ["2703186189652095"], "merchant": ["fraud_Rippin, Kub and Mann"],
...     "category": ["misc_net"], "amt": [4.97], "city": ["Moravian Falls"], "state": ["NC"]})
>>> canonical = Seed004Adapter().to_canonical(table)
>>> canonical.loc[0, ["customer_id", "region", "city"]].to_dict()
{'customer_id': 2703186189652095, 'region': 'NC', 'city': 'Moravian Falls'}
>>> pd.testing.assert_frame_equal(Seed004Adapter().from_canonical(canonical), table)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.adapters import Adapter
from fraudstream.adapters.kaggle import parse_numbers, parse_times, require_columns, row_ids, strings
from fraudstream.errors import InvalidRecord
from fraudstream.records import CORE_COLUMNS

__all__ = ["ANOMALY_COLUMNS", "SEED004_COLUMNS", "Seed004Adapter"]

SEED004_COLUMNS: tuple[str, ...] = ("trans_date_trans_time", "cc_num", "merchant", "category", "amt",
                                    "city", "state")
"""Columns of seed 004's ``transactions`` table as the ETL creates it."""

ANOMALY_COLUMNS: tuple[str, ...] = ("anomaly_score", "is_anomaly")
"""Columns the seed's analysis script adds (optional)."""

_INT64_MAX = "9223372036854775807"


def _card_ids(values: pd.Series) -> np.ndarray:
    """int64 when every value is a plain decimal integer that fits (no sign, no leading zero),
    else the values as strings - so that ``str(customer_id)`` gives ``cc_num`` back exactly."""
    if pd.api.types.is_integer_dtype(values):
        return values.to_numpy(dtype=np.int64)
    text = values.astype(str)
    plain = text.str.fullmatch(r"0|[1-9]\d{0,18}").to_numpy(dtype=bool)
    if plain.all():
        fits = ~((text.str.len() == 19) & (text > _INT64_MAX)).to_numpy(dtype=bool)
        if fits.all():
            return text.astype(np.int64).to_numpy()
    return text.to_numpy(dtype=object)


class Seed004Adapter(Adapter):
    """Seed 004's ``transactions`` table <-> canonical columns (unlabelled)."""

    name = "seed004"
    summary = "seed 004 PostgreSQL transactions table (trans_date_trans_time, cc_num, merchant, ... state)"
    columns = SEED004_COLUMNS + ANOMALY_COLUMNS
    required = SEED004_COLUMNS

    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, self.required, self.name)
        for column in ("cc_num", "merchant", "category", "city", "state"):
            empty = frame[column].isna().to_numpy()
            if empty.any():
                row = int(np.flatnonzero(empty)[0])
                raise InvalidRecord(f"{self.name}: {column} must not be empty (row {row})")
        out = pd.DataFrame({
            "tx_id": row_ids(frame),
            "ts": parse_times(frame["trans_date_trans_time"], "trans_date_trans_time", self.name,
                              fmt="ISO8601").array,
            "customer_id": _card_ids(frame["cc_num"]),
            "merchant_id": strings(frame["merchant"]),
            "amount": parse_numbers(frame["amt"], "amt", self.name, minimum=0).to_numpy(),
            "category": frame["category"].array,
            "region": frame["state"].array,
            "city": frame["city"].array,
        })
        if "anomaly_score" in frame.columns:
            scores = frame["anomaly_score"]
            bad = (pd.to_numeric(scores, errors="coerce").isna() & scores.notna()).to_numpy()
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise InvalidRecord(f"{self.name}: anomaly_score must be a number, got "
                                    f"{scores.iloc[row]!r} (row {row})")
            out["anomaly_score"] = scores.array
        if "is_anomaly" in frame.columns:
            flags = frame["is_anomaly"]
            bad = ~(flags.isna() | pd.to_numeric(flags, errors="coerce").isin([-1, 1])).to_numpy()
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise InvalidRecord(f"{self.name}: is_anomaly must be -1 (anomaly), 1 (normal) or empty, "
                                    f"got {flags.iloc[row]!r} (row {row})")
            out["is_anomaly"] = flags.array
        return out

    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, CORE_COLUMNS, "canonical")
        n = len(frame)

        def text(column: str) -> np.ndarray:
            return strings(frame[column]) if column in frame.columns else np.full(n, "", dtype=object)

        out = {
            "trans_date_trans_time": frame["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
            .astype("datetime64[ns]").to_numpy(),
            "cc_num": strings(frame["customer_id"]),
            "merchant": strings(frame["merchant_id"]),
            "category": text("category"),
            "amt": np.round(frame["amount"].to_numpy(dtype=np.float64), 2),
            "city": text("city"),
            "state": text("region"),
        }
        for column in ANOMALY_COLUMNS:
            if column in frame.columns:
                out[column] = frame[column].array
        return pd.DataFrame(out, index=pd.Index(frame["tx_id"].to_numpy()))
