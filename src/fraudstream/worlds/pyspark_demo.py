"""The ``pyspark-demo`` world: seed 001's 40 users with high-amount and unusual-location fraud.

Seed 001 (a PySpark notebook) builds 40 users ``user_0`` .. ``user_39``, each with a
``usual_max_amount`` ~ U(200, 1000), one or two usual location types and a preferred
transaction type, then writes *series* of 1 .. 562 transactions for a user, 1 .. 360 minutes
apart. A series is an "anomaly user" series with probability 0.10; every row of such a series,
and 3 % of the other rows, becomes a fraud candidate: ``high_amount`` (amount U(2.5, 8) x the
usual max) or ``unusual_location_freq`` (a location outside the usual ones). A candidate that is
neither large (< 1.5 x usual max) nor away from home is un-flagged.

Here each user lives on a simulated clock: its series follow one another (the seed restarted
every series at the user's base time, so series overlapped), gaps are whole minutes, and time is
cut into one-day blocks, each drawn from ``SeedSequence([seed, day])``; the per-user state (next
transaction time, rows left in the current series, whether it is an anomaly series) carries from
one block to the next, so the stream is the same whatever is asked of it.

Canonical mapping: ``customer_id`` = user id (``"user_7"``), ``category`` = transaction type,
``channel`` = ``merchant_id`` = location type (the seed has no merchant; the location type is the
nearest thing to a terminal); attrs ``tx_hour`` and ``tx_day_of_week`` (Monday = 0).

>>> from fraudstream.worlds import simulate
>>> frame = simulate("pyspark-demo", rows=500, seed=1)
>>> sorted(frame["customer_id"].unique())[:2], frame["tx_day_of_week"].between(0, 6).all()
(['user_0', 'user_1'], np.True_)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from fraudstream.worlds.base import World

__all__ = ["LOCATION_TYPES", "TRANSACTION_TYPES", "PySparkDemoWorld"]

TRANSACTION_TYPES: tuple[str, ...] = ("purchase", "transfer", "withdrawal", "payment", "deposit")
LOCATION_TYPES: tuple[str, ...] = (
    "domestic_online", "international_online", "domestic_pos", "international_pos", "atm")

_BLOCK_MINUTES = 24 * 60
_POPULATION = 2**32 - 1  # SeedSequence tag of the user population (blocks count from 0)


class PySparkDemoWorld(World):
    """Seed 001's users, series and two fraud patterns, on a simulated clock."""

    name = "pyspark-demo"
    summary = "seed 001's 40-user world: high_amount and unusual_location_freq fraud"
    default_start = datetime(2024, 1, 1, tzinfo=UTC)
    default_days = 94.0
    """About the seed's 30,000 transactions (40 users x 94 days x 1440 / 180.5 minutes)."""

    @dataclasses.dataclass(frozen=True)
    class Params:
        """Parameters; defaults are the seed's values."""

        n_users: int = 40
        anomaly_series_share: float = 0.10
        """Probability that a series belongs to an "anomaly user" (all its rows are candidates)."""
        random_anomaly_share: float = 0.03
        """Probability that any other row is a fraud candidate."""
        max_series_len: int = 562
        """Series length ~ U{1 .. max_series_len} (seed: int(375 * 1.5))."""
        gap_min_minutes: int = 1
        gap_max_minutes: int = 360
        usual_max_low: float = 200.0
        usual_max_high: float = 1000.0
        high_amount_low_factor: float = 2.5
        high_amount_high_factor: float = 8.0
        unflag_factor: float = 1.5
        """A candidate below unflag_factor x usual max at a usual location is not fraud."""
        preferred_type_weight: float = 0.7
        usual_location_weight: float = 0.8

        def __post_init__(self) -> None:
            if self.n_users < 1:
                raise ValueError(f"n_users must be >= 1, got {self.n_users}")
            if self.max_series_len < 1:
                raise ValueError(f"max_series_len must be >= 1, got {self.max_series_len}")
            if not 1 <= self.gap_min_minutes <= self.gap_max_minutes:
                raise ValueError("gap minutes must satisfy 1 <= gap_min_minutes <= gap_max_minutes, "
                                 f"got {self.gap_min_minutes}, {self.gap_max_minutes}")
            if not 0 < self.usual_max_low <= self.usual_max_high:
                raise ValueError("usual max amounts must satisfy 0 < usual_max_low <= usual_max_high, "
                                 f"got {self.usual_max_low}, {self.usual_max_high}")
            if not 0 < self.high_amount_low_factor <= self.high_amount_high_factor:
                raise ValueError("high amount factors must satisfy 0 < low <= high, got "
                                 f"{self.high_amount_low_factor}, {self.high_amount_high_factor}")
            for field in ("anomaly_series_share", "random_anomaly_share", "preferred_type_weight",
                          "usual_location_weight"):
                value = getattr(self, field)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{field} must be in [0, 1], got {value}")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.profiles = self._draw_profiles()

    def _draw_profiles(self) -> pd.DataFrame:
        """The user population (public columns: user_id, usual_max_amount, usual_locations,
        preferred_tx_type), drawn from its own random stream."""
        p = self.params
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, _POPULATION]))
        n = p.n_users
        usual_max = rng.uniform(p.usual_max_low, p.usual_max_high, n)
        n_usual = rng.integers(1, 3, n)  # random.sample(LOCATION_TYPES, k=randint(1, 2))
        location_order = np.argsort(rng.random((n, len(LOCATION_TYPES))), axis=1)
        preferred = rng.integers(0, len(TRANSACTION_TYPES), n)
        first_gap = rng.integers(p.gap_min_minutes, p.gap_max_minutes + 1, n)
        self._location_order = location_order  # each user's locations, the usual ones first
        self._n_usual = n_usual
        self._preferred = preferred
        self._first_gap = first_gap
        return pd.DataFrame({
            "user_id": [f"user_{i}" for i in range(n)],
            "usual_max_amount": usual_max,
            "usual_locations": [tuple(LOCATION_TYPES[j] for j in row[:k])
                                for row, k in zip(location_order, n_usual, strict=True)],
            "preferred_tx_type": [TRANSACTION_TYPES[j] for j in preferred],
        })

    def blocks(self) -> Iterator[pd.DataFrame]:
        p = self.params
        n = p.n_users
        order = self._location_order
        n_usual = self._n_usual
        state_next = self._first_gap.astype(np.int64)  # minutes from start
        state_left = np.zeros(n, dtype=np.int64)  # rows left in the current series
        state_anomalous = np.zeros(n, dtype=bool)
        next_tx_id = 1
        start = pd.Timestamp(self.start)
        block = 0
        while True:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, block]))
            end = (block + 1) * _BLOCK_MINUTES
            minutes, state_next = self._times(rng, state_next, end)
            counts = (minutes < end).sum(axis=1)
            in_anomaly_series, state_left, state_anomalous = self._series(
                rng, counts, state_left, state_anomalous)
            users = np.repeat(np.arange(n), counts)
            row_minutes = minutes[minutes < end]  # row-major: user by user, in time order
            sort = np.lexsort((users, row_minutes))
            frame = self._rows(rng, users[sort], row_minutes[sort], in_anomaly_series[sort],
                               order, n_usual, start)
            frame.insert(0, "tx_id", np.arange(next_tx_id, next_tx_id + len(frame), dtype=np.int64))
            next_tx_id += len(frame)
            yield frame
            block += 1

    def _times(self, rng: np.random.Generator, first: np.ndarray, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Transaction minutes of each user from ``first`` until past ``end`` (padded matrix)."""
        p = self.params
        mean_gap = (p.gap_min_minutes + p.gap_max_minutes) / 2
        width = int(2 * _BLOCK_MINUTES / mean_gap) + 8
        columns = [first[:, None]]
        last = first
        while (last < end).any():
            gaps = rng.integers(p.gap_min_minutes, p.gap_max_minutes + 1, (len(first), width))
            more = last[:, None] + np.cumsum(gaps, axis=1)
            columns.append(more)
            last = more[:, -1]
        minutes = np.concatenate(columns, axis=1)
        inside = (minutes < end).sum(axis=1)
        return minutes, minutes[np.arange(len(first)), inside]

    def _series(self, rng: np.random.Generator, counts: np.ndarray, left: np.ndarray,
                anomalous: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Whether each row (user-major) belongs to an anomaly series; the carried series state."""
        p = self.params
        n = len(counts)
        lengths = np.zeros((n, 0), dtype=np.int64)
        while lengths.shape[1] == 0 or (left + lengths.sum(axis=1) < counts).any():
            lengths = np.concatenate([lengths, rng.integers(1, p.max_series_len + 1, (n, 4))], axis=1)
        flags = rng.random(lengths.shape) < p.anomaly_series_share
        ends = left[:, None] + np.cumsum(lengths, axis=1)  # end (exclusive) of each new series
        starts = np.concatenate([left[:, None], ends[:, :-1]], axis=1)
        width = int(counts.max()) if n else 0
        j = np.arange(width)[None, :, None]
        series_no = (starts[:, None, :] <= j).sum(axis=2)  # 0: the series carried in
        new_flag = np.take_along_axis(flags, np.maximum(series_no - 1, 0), axis=1)
        row_flag = np.where(series_no == 0, anomalous[:, None], new_flag)
        in_block = np.arange(width)[None, :] < counts[:, None]
        # state after the block: the series holding row index `counts`
        last_no = (starts <= counts[:, None] - 1).sum(axis=1)
        carried = last_no == 0
        pick = np.maximum(last_no - 1, 0)[:, None]
        next_left = np.where(carried, left - counts,
                             np.take_along_axis(ends, pick, axis=1)[:, 0] - counts)
        next_flag = np.where(carried, anomalous, np.take_along_axis(flags, pick, axis=1)[:, 0])
        return row_flag[in_block], next_left, next_flag

    def _rows(self, rng: np.random.Generator, users: np.ndarray, minutes: np.ndarray,
              anomaly_series: np.ndarray, order: np.ndarray, n_usual: np.ndarray,
              start: pd.Timestamp) -> pd.DataFrame:
        p = self.params
        n = len(users)
        n_locations = len(LOCATION_TYPES)
        usual_max = self.profiles["usual_max_amount"].to_numpy()[users]
        k = n_usual[users]
        amount = np.round(rng.uniform(5.0, usual_max * 0.5), 2)
        tx_type = np.where(rng.random(n) < p.preferred_type_weight, self._preferred[users],
                           rng.integers(0, len(TRANSACTION_TYPES), n))
        usual_pick = order[users, np.floor(rng.random(n) * k).astype(np.int64)]
        location = np.where(rng.random(n) < p.usual_location_weight, usual_pick,
                            rng.integers(0, n_locations, n))
        candidate = anomaly_series | (rng.random(n) < p.random_anomaly_share)
        high = rng.integers(0, 2, n) == 0  # choice(['high_amount', 'unusual_location_freq'])
        high_amount = np.round(rng.uniform(usual_max * p.high_amount_low_factor,
                                           usual_max * p.high_amount_high_factor), 2)
        n_unusual = n_locations - k
        unusual_pick = order[users, np.minimum(k + np.floor(rng.random(n) * n_unusual).astype(np.int64),
                                               n_locations - 1)]
        amount = np.where(candidate & high, high_amount, amount)
        moved = candidate & ~high & (n_unusual > 0)
        location = np.where(moved, unusual_pick, location)
        fraud = candidate & (high | (n_unusual > 0))
        at_usual = _is_usual(order, n_usual, users, location)
        fraud &= ~((amount < p.unflag_factor * usual_max) & at_usual)
        ts = start + pd.to_timedelta(minutes, unit="min")
        locations = np.array(LOCATION_TYPES, dtype=object)[location]
        patterns = np.where(high, "high_amount", "unusual_location_freq").astype(object)
        return pd.DataFrame({
            "ts": ts,
            "customer_id": self.profiles["user_id"].to_numpy()[users],
            "merchant_id": locations,
            "amount": amount,
            "category": np.array(TRANSACTION_TYPES, dtype=object)[tx_type],
            "channel": locations,
            "tx_hour": ts.hour.to_numpy().astype(np.int64),
            "tx_day_of_week": ts.weekday.to_numpy().astype(np.int64),
            "is_fraud": fraud,
            "fraud_pattern": np.where(fraud, patterns, None),
        })


def _is_usual(order: np.ndarray, n_usual: np.ndarray, users: np.ndarray, location: np.ndarray) -> np.ndarray:
    """Whether each row's location is one of its user's usual locations."""
    rank = np.argmax(order[users] == location[:, None], axis=1)  # position in the user's order
    return rank < n_usual[users]
