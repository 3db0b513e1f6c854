"""Temporal splits — train block, delay block, test block — and prequential folds. Never random.

Days are UTC calendar days counted from ``start`` (midnight UTC of its date). A split of
``start`` has

- **train**: days ``[0, train_days)``;
- **delay**: the next ``delay_days`` (labels not yet known when the model is trained; unused);
- **test**: the next ``test_days``; with ``remove_known_compromised`` (default), a test
  transaction on day ``t`` is dropped when its card (customer) had a fraud on any day
  ``<= t - delay_days - 1`` since ``start`` — frauds in training, or revealed before the test day
  once the delay has passed (the Handbook's ``get_train_test_set``).

Prequential folds (Handbook ch. 5) repeat this with the start moved back by ``test_days`` per fold:
fold 0 is the latest.

>>> import pandas as pd
>>> frame = pd.DataFrame({"ts": pd.date_range("2018-07-25", periods=21 * 2, freq="12h", tz="UTC"),
...                       "customer_id": 1, "is_fraud": False})
>>> split = temporal_split(frame, "2018-07-25")
>>> len(split.train), len(split.delay), len(split.test)
(14, 14, 14)
>>> str(split.test_start.date())
'2018-08-08'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError, InvalidRecord

__all__ = ["Split", "prequential_folds", "temporal_split"]


@dataclass(frozen=True)
class Split:
    """Positional row indices of one temporal split, and its boundaries (UTC)."""

    train: np.ndarray
    delay: np.ndarray
    test: np.ndarray
    train_start: pd.Timestamp
    delay_start: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    removed_from_test: int
    """Test rows dropped because their card was already known to be compromised."""


def temporal_split(frame: pd.DataFrame, start: Any, train_days: int = 7, delay_days: int = 7,
                   test_days: int = 7, *, remove_known_compromised: bool = True, ts: str = "ts",
                   card: str = "customer_id", label: str = "is_fraud") -> Split:
    """Split ``frame`` (with ``ts``, and ``card``/``label`` when removing known cards) in time."""
    for name, value in (("train_days", train_days), ("delay_days", delay_days), ("test_days", test_days)):
        if not isinstance(value, int) or value < (0 if name == "delay_days" else 1):
            raise ConfigError(f"{name} must be an int >= {0 if name == 'delay_days' else 1}, got {value!r}")
    if ts not in frame.columns:
        raise InvalidRecord(f"temporal_split: column {ts} missing; it needs event times")
    times = frame[ts]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise InvalidRecord(f"temporal_split: {ts} must be timezone-aware datetimes, got {times.dtype}")
    origin = pd.Timestamp(start)
    origin = (origin.tz_localize("UTC") if origin.tzinfo is None else origin.tz_convert("UTC")).normalize()
    day = ((times.dt.tz_convert("UTC") - origin) // pd.Timedelta(days=1)).to_numpy()
    test_first = train_days + delay_days
    train = np.flatnonzero((day >= 0) & (day < train_days))
    delay = np.flatnonzero((day >= train_days) & (day < test_first))
    in_test = (day >= test_first) & (day < test_first + test_days)
    removed = 0
    if remove_known_compromised:
        for column in (card, label):
            if column not in frame.columns:
                raise InvalidRecord(f"temporal_split: column {column} missing; needed to remove known "
                                    "compromised cards (or pass remove_known_compromised=False)")
        fraud = frame[label].to_numpy().astype(bool) & (day >= 0)
        cards = frame[card].to_numpy()
        # first day (since start) on which each card had a fraud
        first_fraud = pd.Series(day[fraud]).groupby(cards[fraud]).min()
        known_from = pd.Series(cards).map(first_fraud).to_numpy(dtype=np.float64)
        # known on test day t when first fraud day <= t - delay_days - 1
        known = in_test & (known_from <= day - delay_days - 1)
        removed = int(known.sum())
        in_test &= ~known
    day_delta = pd.Timedelta(days=1)
    return Split(train=train, delay=delay, test=np.flatnonzero(in_test), train_start=origin,
                 delay_start=origin + train_days * day_delta, test_start=origin + test_first * day_delta,
                 test_end=origin + (test_first + test_days) * day_delta, removed_from_test=removed)


def prequential_folds(frame: pd.DataFrame, start: Any, n_folds: int = 4, train_days: int = 7,
                      delay_days: int = 7, test_days: int = 7, **options: Any) -> list[Split]:
    """``n_folds`` temporal splits; fold ``f`` starts ``f * test_days`` days before ``start``."""
    if not isinstance(n_folds, int) or n_folds < 1:
        raise ConfigError(f"n_folds must be an int >= 1, got {n_folds!r}")
    origin = pd.Timestamp(start)
    return [temporal_split(frame, origin - pd.Timedelta(days=fold * test_days), train_days, delay_days,
                           test_days, **options) for fold in range(n_folds)]
