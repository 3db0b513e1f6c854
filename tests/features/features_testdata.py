"""Random canonical frames with ties, repeats and geo, and a spec with short windows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.features import FeatureSpec

SHORT_SPEC = FeatureSpec(
    windows=("1h", "6h", "2d"), velocity=("1m", "10m"), history_window="2d", repeat_window="6h",
    novelty_window="2d", risk_windows=("1d", "3d"), risk_delay="2d", ttl="10d")
"""Every feature family, with windows short enough to expire many times in a few days."""


def random_frame(seed: int, n: int = 600, days: float = 8.0, n_customers: int = 15) -> pd.DataFrame:
    """Canonical inputs sorted by (ts, tx_id), with bursts: ties at equal times, also per customer."""
    rng = np.random.default_rng(seed)
    seconds = np.floor(np.sort(rng.uniform(0, days * 86400, n)))
    customers = rng.integers(0, n_customers, n).astype(np.int64)
    burst = np.flatnonzero(rng.random(n) < 0.25)[1:]  # the same customer again, at once or soon
    customers[burst] = customers[burst - 1]
    soon = np.where(rng.random(len(burst)) < 0.5, 0, rng.integers(1, 90, len(burst)))
    seconds[burst] = seconds[burst - 1] + soon
    seconds[rng.random(n) < 0.2] //= 600  # whole 10-minute marks ...
    seconds = np.where(seconds < days * 86400 / 600, seconds * 600, seconds)  # ... -> more ties
    tx_id = rng.permutation(np.arange(1000, 1000 + n))
    merchants = rng.integers(0, 8, n)
    amount = np.round(rng.gamma(2.0, 30.0, n), 2)
    amount[rng.random(n) < 0.1] = 50.0  # round and repeated amounts
    frame = pd.DataFrame({
        "tx_id": tx_id.astype(np.int64),
        "ts": pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(seconds, unit="s"),
        "customer_id": customers,
        "merchant_id": np.array([f"M{m}" for m in merchants], dtype=object),
        "amount": amount,
        "category": np.array(["food", "travel", "games", "misc"], dtype=object)[rng.integers(0, 4, n)],
        "lat": 40 + rng.normal(0, 0.1, n),
        "lon": -3 + rng.normal(0, 0.1, n),
        "merchant_lat": (41 + merchants * 0.05).astype(np.float64),
        "merchant_lon": (-3 + merchants * 0.03).astype(np.float64),
    })
    return frame.sort_values(["ts", "tx_id"], kind="stable").reset_index(drop=True)


def micro_batches(frame: pd.DataFrame, seed: int, max_size: int = 40):
    """Consecutive slices of random sizes (many of size 1), each shuffled inside."""
    rng = np.random.default_rng(seed)
    start = 0
    while start < len(frame):
        size = 1 if rng.random() < 0.3 else int(rng.integers(1, max_size))
        batch = frame.iloc[start:start + size]
        yield batch.sample(frac=1.0, random_state=int(rng.integers(1 << 30)))
        start += size
