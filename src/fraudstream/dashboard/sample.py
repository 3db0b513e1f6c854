"""Demo data for the dashboard, its tests and benchmarks: a simulated world plus decisions and
alerts from a simple amount rule (not a trained detector). Results on it are simulated.

>>> from fraudstream.store import open_store
>>> with open_store("sqlite:///:memory:") as store:
...     counts = fill(store, rows=500, seed=1)
...     counts["transactions"], counts["decisions"] == 500, counts["alerts"] > 0
(500, True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.store import Store
from fraudstream.worlds import simulate

__all__ = ["COUNTRIES", "METHODS", "decide", "fill", "sample_frame"]

COUNTRIES = ("USA", "Canada", "UK", "Germany", "France", "India", "China")
METHODS = ("CreditCard", "BankTransfer", "PayPal", "Cryptocurrency")
MODEL_VERSION = "amount-rule-1"


def sample_frame(
    rows: int, seed: int = 0, start: str | pd.Timestamp | None = None, first_id: int = 1
) -> pd.DataFrame:
    """``rows`` sparkov transactions (geo, category) with seed 003's country and method added."""
    frame = simulate("sparkov", rows=rows, seed=seed, start=start)
    rng = np.random.default_rng(seed)
    frame["country"] = np.asarray(COUNTRIES, dtype=object)[rng.integers(0, len(COUNTRIES), len(frame))]
    frame["channel"] = np.asarray(METHODS, dtype=object)[rng.integers(0, len(METHODS), len(frame))]
    frame["tx_id"] = np.arange(first_id, first_id + len(frame), dtype=np.int64)
    keep = [
        c
        for c in (
            "tx_id",
            "ts",
            "customer_id",
            "merchant_id",
            "amount",
            "category",
            "channel",
            "lat",
            "lon",
            "merchant_lat",
            "merchant_lon",
            "country",
            "region",
            "job",
            "is_fraud",
            "fraud_pattern",
        )
        if c in frame.columns
    ]
    return frame[keep]


def decide(frame: pd.DataFrame, threshold: float = 0.8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decisions, alerts) of a simple rule: the score rises with the amount's rank and at night."""
    amount = frame["amount"].to_numpy(float)
    hour = frame["ts"].dt.hour.to_numpy()
    rank = pd.Series(amount).rank(pct=True).to_numpy()
    night = (hour < 5).astype(float)
    score = np.clip(0.85 * rank**4 + 0.25 * night * rank, 0, 1)
    verdict = np.where(score >= threshold, "fraud", "legit")
    reasons = [
        {"amount_rank": round(float(r), 3), "night": bool(n)} for r, n in zip(rank, night, strict=True)
    ]
    decisions = pd.DataFrame(
        {
            "tx_id": frame["tx_id"].to_numpy(),
            "ts": frame["ts"].to_numpy(),
            "score": score,
            "verdict": verdict,
            "model_version": MODEL_VERSION,
            "reasons": reasons,
        }
    )
    flagged = verdict == "fraud"
    alerts = pd.DataFrame(
        {
            "tx_id": frame["tx_id"].to_numpy()[flagged],
            "ts": frame["ts"].to_numpy()[flagged],
            "kind": "amount-rule",
            "customer_id": frame["customer_id"].to_numpy()[flagged],
            "severity": np.where(score[flagged] > 0.95, "high", "medium"),
            "score": score[flagged],
            "message": [
                f"amount {a:.2f} in the top {100 * (1 - r):.1f} %"
                for a, r in zip(amount[flagged], rank[flagged], strict=True)
            ],
        }
    )
    return decisions, alerts


def fill(
    store: Store, rows: int, seed: int = 0, *, chunk: int = 100_000, start: str | None = None
) -> dict[str, int]:
    """Write ``rows`` sample transactions with their decisions and alerts; counts written."""
    written = {"transactions": 0, "decisions": 0, "alerts": 0}
    frame = sample_frame(rows, seed, start=start)
    for begin in range(0, len(frame), chunk):
        part = frame.iloc[begin : begin + chunk]
        decisions, alerts = decide(part)
        with store.batch():
            written["transactions"] += store.write_transactions(part, source="sample")
            written["decisions"] += store.write_decisions(decisions)
            written["alerts"] += store.write_alerts(alerts)
    return written
