"""Synthetic feature frames and a factory of every detector, kept small so the suite stays fast."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from fraudstream.detect.base import Detector


def feature_frame(n: int = 2000, fraud_rate: float = 0.05, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A time-ordered feature frame where fraud rows have extreme amounts and bursts."""
    rng = np.random.default_rng(seed)
    fraud = rng.random(n) < fraud_rate
    mean_30d = rng.uniform(10, 100, n)
    amount = np.round(np.abs(rng.normal(mean_30d, mean_30d / 3)), 2)
    amount[fraud] = np.round(mean_30d[fraud] * rng.uniform(6, 10, fraud.sum()), 2)
    count_1h = rng.poisson(0.5, n).astype(np.float64)
    count_1h[fraud] += rng.integers(4, 8, fraud.sum())
    frame = pd.DataFrame({
        "amount": amount,
        "customer_mean_30d": mean_30d,
        "customer_count_1h": count_1h,
        "hour": rng.integers(0, 24, n),
    })
    return frame, fraud


RULES = [
    {"id": "big_amount", "when": "amount > 3 * customer_mean_30d", "score": 0.8},
    {"id": "burst", "kind": "count", "at_least": 4, "within_minutes": 60, "score": 0.6},
    {"id": "night", "kind": "night", "from_hour": 0, "to_hour": 4, "score": 0.1},
]


def _factories() -> dict[str, Callable[[], Detector]]:
    from fraudstream.detect.ann import NeuralNetDetector
    from fraudstream.detect.autoencoder import AutoencoderDetector
    from fraudstream.detect.ensemble import EnsembleDetector
    from fraudstream.detect.forest import RandomForestDetector
    from fraudstream.detect.gbm import GradientBoostingDetector
    from fraudstream.detect.iforest import IsolationForestDetector
    from fraudstream.detect.online import OnlineDetector
    from fraudstream.detect.rules import RuleDetector

    return {
        "rules": lambda: RuleDetector(rules=RULES),
        "iforest": lambda: IsolationForestDetector(n_estimators=50, random_state=3),
        "autoencoder": lambda: AutoencoderDetector(hidden=(8, 4), epochs=3, random_state=3),
        "gbm": lambda: GradientBoostingDetector(n_estimators=40, random_state=3),
        "forest": lambda: RandomForestDetector(n_estimators=20, random_state=3),
        "ann": lambda: NeuralNetDetector(hidden=(16,), epochs=10, batch_size=64, learning_rate=0.01, random_state=3),
        "online": lambda: OnlineDetector(random_state=3),
        "online_hst": lambda: OnlineDetector(model="hst", n_trees=10, height=6, random_state=3),
        "ensemble": lambda: EnsembleDetector({
            "rules": RuleDetector(rules=RULES),
            "forest": IsolationForestDetector(n_estimators=30, random_state=3),
            "gbm": GradientBoostingDetector(n_estimators=20, random_state=3)}),
    }


FACTORIES = _factories()
