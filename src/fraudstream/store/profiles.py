"""Customer behaviour profiles (seed 004's DynamoDB record), built chunk by chunk.

One profile per customer:

``latest_ts``             time of the customer's latest transaction
``spend_30d``             sum of amounts with ``ts >= latest_ts - 30 days`` (relative to the
                          latest transaction, not to the wall clock as in seed 004, where it was
                          always 0 on 2019-2020 data)
``tx_count_30d``          number of those transactions
``most_common_category``  the category seen most often (ties: alphabetically first; None when
                          the data has no category)
``last_location``         of the latest transaction: ``"city, region"`` when both exist (seed 004's
                          ``"{city}, {state}"``), else region, else country, else None
``last_merchant``         merchant of the latest transaction

:class:`ProfileBuilder` merges chunks exactly: it keeps, per customer, only the transactions of
the trailing 30 days, category counts and the latest row, so memory follows the number of
customers, not the file. Ties on the latest time go to the row that came later.

>>> import pandas as pd
>>> frame = pd.DataFrame({"customer_id": [1, 1, 1], "merchant_id": ["a", "b", "c"],
...     "ts": pd.to_datetime(["2024-01-01", "2024-02-20", "2024-03-01"], utc=True),
...     "amount": [5.0, 7.0, 3.0], "category": ["food", "gas", "gas"], "region": ["TX", "TX", "NY"]})
>>> builder = ProfileBuilder()
>>> builder.add(frame.iloc[:2]).add(frame.iloc[2:]).result()[["spend_30d", "most_common_category",
...     "last_location", "last_merchant"]].to_dict("records")
[{'spend_30d': 10.0, 'most_common_category': 'gas', 'last_location': 'NY', 'last_merchant': 'c'}]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["WINDOW", "ProfileBuilder", "build_profiles", "locations"]

WINDOW = pd.Timedelta(days=30)
PROFILE_COLUMNS = (
    "customer_id",
    "latest_ts",
    "spend_30d",
    "tx_count_30d",
    "most_common_category",
    "last_location",
    "last_merchant",
)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(None, index=frame.index, dtype=object)
    values = frame[column].astype(object)
    return values.where(values.notna() & (values.astype(str) != ""), None)


def locations(frame: pd.DataFrame) -> pd.Series:
    """``"city, region"``, else region, else country, else None, per row."""
    city, region, country = _text(frame, "city"), _text(frame, "region"), _text(frame, "country")
    both = city.notna() & region.notna()
    out = region.where(region.notna(), country)
    joined = city[both].astype(str) + ", " + region[both].astype(str)
    return out.astype(object).mask(both, joined)


class ProfileBuilder:
    """Accumulates canonical chunks (``add``) into behaviour profiles (``result``)."""

    def __init__(self) -> None:
        self._recent = pd.DataFrame({"customer_id": [], "ts": pd.to_datetime([], utc=True), "amount": []})
        self._counts: pd.Series | None = None
        self._last: pd.DataFrame | None = None

    def add(self, frame: pd.DataFrame) -> ProfileBuilder:
        """Take one chunk of canonical transactions into account."""
        if not len(frame):
            return self
        recent = (
            pd.concat([self._recent, frame[["customer_id", "ts", "amount"]]], ignore_index=True)
            if len(self._recent)
            else frame[["customer_id", "ts", "amount"]].reset_index(drop=True)
        )
        latest = recent.groupby("customer_id", sort=False)["ts"].transform("max")
        self._recent = recent[recent["ts"] >= latest - WINDOW].reset_index(drop=True)
        if "category" in frame.columns:
            counts = frame.groupby(["customer_id", "category"], sort=False).size()
            self._counts = counts if self._counts is None else self._counts.add(counts, fill_value=0)
        # each customer's latest row of this chunk (ties: the later row) before any text work
        times = frame["ts"].array
        times = times if hasattr(times, "asi8") else pd.to_datetime(frame["ts"], utc=True).array
        order = np.argsort(times.asi8, kind="stable")
        keep = ~pd.Series(frame["customer_id"].to_numpy()[order]).duplicated(keep="last").to_numpy()
        latest_rows = frame.iloc[np.sort(order[keep])]
        last = pd.DataFrame(
            {
                "customer_id": latest_rows["customer_id"].to_numpy(),
                "latest_ts": latest_rows["ts"].array,
                "last_location": locations(latest_rows).to_numpy(),
                "last_merchant": latest_rows["merchant_id"].astype(str).to_numpy(),
            }
        )
        both = last if self._last is None else pd.concat([self._last, last], ignore_index=True)
        both = both.sort_values("latest_ts", kind="stable")
        self._last = both.drop_duplicates("customer_id", keep="last").reset_index(drop=True)
        return self

    def result(self) -> pd.DataFrame:
        """One profile per customer, ordered by customer (columns as in the module docstring)."""
        if self._last is None:
            return pd.DataFrame({c: [] for c in PROFILE_COLUMNS})
        out = self._last.set_index("customer_id")
        window = self._recent.groupby("customer_id", sort=False)["amount"]
        out["spend_30d"] = window.sum().reindex(out.index).fillna(0.0).round(2)
        out["tx_count_30d"] = window.size().reindex(out.index).fillna(0).astype(np.int64)
        if self._counts is not None and len(self._counts):
            counts = self._counts.rename("n").reset_index()
            counts = counts.sort_values(["n", "category"], ascending=[False, True], kind="stable")
            top = counts.drop_duplicates("customer_id").set_index("customer_id")["category"]
            out["most_common_category"] = top.reindex(out.index).astype(object)
        else:
            out["most_common_category"] = None
        out = out.reset_index()
        out = out.iloc[np.argsort(out["customer_id"].astype(str).to_numpy(), kind="stable")]
        return out[list(PROFILE_COLUMNS)].reset_index(drop=True)


def build_profiles(frame: pd.DataFrame) -> pd.DataFrame:
    """Profiles of one whole frame (``ProfileBuilder().add(frame).result()``)."""
    return ProfileBuilder().add(frame).result()
