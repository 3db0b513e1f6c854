"""Behaviour profiles built chunk by chunk equal a plain pandas recomputation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.store.profiles import ProfileBuilder, build_profiles
from fraudstream.worlds import simulate


def recompute(frame: pd.DataFrame) -> pd.DataFrame:
    """The profile definition, customer by customer, the obvious way."""
    rows = []
    for customer, group in frame.groupby("customer_id", sort=False):
        group = group.sort_values("ts", kind="stable")
        latest = group.iloc[-1]
        recent = group[group["ts"] >= latest["ts"] - pd.Timedelta(days=30)]
        counts = group["category"].value_counts()
        top = sorted(counts[counts == counts.max()].index)[0]
        location = f"{latest['city']}, {latest['region']}"
        rows.append(
            {
                "customer_id": customer,
                "latest_ts": latest["ts"],
                "spend_30d": round(recent["amount"].sum(), 2),
                "tx_count_30d": len(recent),
                "most_common_category": top,
                "last_location": location,
                "last_merchant": str(latest["merchant_id"]),
            }
        )
    out = pd.DataFrame(rows)
    return out.iloc[np.argsort(out["customer_id"].astype(str).to_numpy(), kind="stable")].reset_index(
        drop=True
    )


def test_chunked_profiles_match_a_pandas_recomputation():
    frame = simulate("sparkov", rows=6000, seed=3, n_customers=40, n_merchants=60)
    expected = recompute(frame)
    builder = ProfileBuilder()
    for start in range(0, len(frame), 777):
        builder.add(frame.iloc[start : start + 777])
    got = builder.result()
    assert len(got) == frame["customer_id"].nunique()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    pd.testing.assert_frame_equal(build_profiles(frame), got)


def test_profiles_without_category_or_city():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "merchant_id": [1, 2, 3],
            "amount": [1.0, 2.0, 4.0],
            "ts": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01"], utc=True),
            "country": ["FR", None, "DE"],
        }
    )
    got = build_profiles(frame)
    assert got["spend_30d"].tolist() == [2.0, 4.0] and got["tx_count_30d"].tolist() == [1, 1]
    assert got["most_common_category"].tolist() == [None, None]
    assert got["last_location"].tolist() == [None, "DE"] and got["last_merchant"].tolist() == ["2", "3"]
