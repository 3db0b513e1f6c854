"""The classroom world's 25 users as numpy tables, and the daily rates the overall rate gives them.

Everything here is computed once per world: the per-user parameter arrays of
:mod:`~fraudstream.worlds.classroom_profiles`, the hourly intensity, the expected number of
transactions per user and day for a chosen overall ``tx_per_day`` (respecting daily limits), and
the per-user draws fixed by the seed (favourite items, usual merchants).

>>> table = UserTable.build()
>>> table.limit[:3].tolist(), int(table.peak[0].sum())
([20, 5, 15], 8)
>>> hours, units = table.hour_units()
>>> int(units[0]), hours[0, :6].tolist()
(56, [0, 1, 2, 3, 4, 5])
>>> means = daily_means(table, 200.0)
>>> [round(float(expected_clipped(means[d], table.limit).sum()), 6) for d in (0, 1)]
[200.0, 200.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fraudstream.worlds.classroom_fraud import PATTERN_CODE, fraud_amount_terms
from fraudstream.worlds.classroom_profiles import CATEGORIES, PROFILES, USER_PROFILES

__all__ = [
    "FAVOURITES_PER_CATEGORY",
    "MERCHANT_NUMBERS",
    "OCCASIONAL_MERCHANTS",
    "USUAL_MERCHANTS",
    "Habits",
    "UserTable",
    "capacity",
    "clipped_distribution",
    "daily_means",
    "expected_clipped",
]

PEAK_WEIGHT, OFF_PEAK_WEIGHT = 1.5, 0.3
"""Hourly intensity factors of the original ``should_transact``."""

FAVOURITES_PER_CATEGORY = (2, 5)
"""Favourite items per item category of a user (inclusive, re-drawn per category as the original)."""

USUAL_MERCHANTS = (3, 6)
"""How many usual merchants a user has (inclusive)."""

OCCASIONAL_MERCHANTS = 20
"""Size of a user's pool of occasional merchants."""

MERCHANT_NUMBERS = (100, 899)
"""Merchant numbers of the default mode (``M100``-``M899``; inclusive)."""

_USERS = len(USER_PROFILES)


@dataclass(frozen=True)
class UserTable:
    """Per-user parameters as arrays indexed by ``user_id - 1``."""

    profile: np.ndarray  # profile names, object
    low: np.ndarray
    high: np.ndarray
    std: np.ndarray
    limit: np.ndarray
    peak: np.ndarray  # (users, 24) bool
    hour_weight: np.ndarray  # (2, users, 24): weekday, weekend
    categories: np.ndarray  # (users, 5) category codes, padded
    n_categories: np.ndarray
    outside: np.ndarray  # (users, 5) codes of categories not in the profile, padded
    n_outside: np.ndarray
    off_peak: np.ndarray  # (users, 24) hours outside peak_hours, padded
    n_off_peak: np.ndarray
    fraud_probability: np.ndarray  # 0 for users without fraud_patterns (as the original)
    patterns: np.ndarray  # (users, 3) pattern codes
    single_patterns: np.ndarray  # (users, 2) single-transaction pattern codes (cut-down bursts)
    periodic: np.ndarray  # bool: every 7th transaction is a big purchase
    fraud_base: np.ndarray  # (10, users)
    fraud_spread: np.ndarray

    @classmethod
    def build(cls) -> UserTable:
        profiles = [PROFILES[name] for name in USER_PROFILES]
        low = np.array([p.amount_range[0] for p in profiles], dtype=float)
        high = np.array([p.amount_range[1] for p in profiles], dtype=float)
        peak = np.zeros((_USERS, 24), dtype=bool)
        categories = np.zeros((_USERS, 5), dtype=np.intp)
        outside = np.zeros((_USERS, 5), dtype=np.intp)
        off_peak = np.zeros((_USERS, 24), dtype=np.intp)
        patterns = np.zeros((_USERS, 3), dtype=np.intp)
        single = np.zeros((_USERS, 2), dtype=np.intp)
        weekday = np.zeros((_USERS, 24))
        weekend = np.zeros((_USERS, 24))
        for u, p in enumerate(profiles):
            peak[u, list(p.peak_hours)] = True
            codes = [CATEGORIES.index(c) for c in p.item_categories]
            others = [i for i in range(len(CATEGORIES)) if i not in codes]
            categories[u, :len(codes)] = codes
            outside[u, :len(others)] = others
            hours = [h for h in range(24) if h not in p.peak_hours]
            off_peak[u, :len(hours)] = hours
            if p.fraud_patterns:
                patterns[u] = [PATTERN_CODE[name] for name in p.fraud_patterns]
                singles = [PATTERN_CODE[name] for name in p.fraud_patterns
                           if name not in ("rapid_succession", "duplicate_amount")]
                single[u] = (singles * 2)[:2]
            weekday[u] = p.frequency * np.where(peak[u], PEAK_WEIGHT, OFF_PEAK_WEIGHT)
            weekend[u] = 0.0 if p.weekday_only else weekday[u] * p.weekend_multiplier
        base, spread = fraud_amount_terms(low, high)
        return cls(
            profile=np.array(USER_PROFILES, dtype=object), low=low, high=high,
            std=np.array([p.amount_std for p in profiles], dtype=float),
            limit=np.array([p.daily_limit for p in profiles], dtype=np.int64),
            peak=peak, hour_weight=np.stack([weekday, weekend]),
            categories=categories, n_categories=np.array([len(p.item_categories) for p in profiles]),
            outside=outside, n_outside=np.array([5 - len(p.item_categories) for p in profiles]),
            off_peak=off_peak, n_off_peak=np.array([24 - len(p.peak_hours) for p in profiles]),
            fraud_probability=np.array([p.fraud_probability if p.fraud_prone else 0.0 for p in profiles]),
            patterns=patterns, single_patterns=single,
            periodic=np.array([p.big_purchase_interval is not None for p in profiles]),
            fraud_base=base, fraud_spread=spread,
        )

    def hour_units(self) -> tuple[np.ndarray, np.ndarray]:
        """``(table, units)``: user ``u``'s hour of day is ``table[u, floor(uniform * units[u])]``.

        Peak hours weigh 1.5 and the others 0.3, exactly 5 : 1, so each peak hour appears 5
        times in the user's row and each other hour once (frequency and the weekend multiplier
        scale a user's whole day, not its shape).
        """
        units = np.where(self.peak, round(PEAK_WEIGHT / OFF_PEAK_WEIGHT), 1)
        table = np.zeros((_USERS, int(units.sum(axis=1).max())), dtype=np.int64)
        for u in range(_USERS):
            hours = np.repeat(np.arange(24), units[u])
            table[u, :len(hours)] = hours
        return table, units.sum(axis=1)


def capacity(table: UserTable, weekend: bool) -> int:
    """Transactions a day the daily limits allow (254 on a weekday, 244 on a weekend day)."""
    active = table.hour_weight[int(weekend)].sum(axis=1) > 0
    return int(table.limit[active].sum())


def clipped_distribution(mean: float, limit: int) -> np.ndarray:
    """Probabilities of ``0..limit`` for ``min(Poisson(mean), limit)``."""
    pmf = np.zeros(limit + 1)
    term = math.exp(-mean)
    for k in range(limit):
        pmf[k] = term
        term *= mean / (k + 1)
    pmf[limit] = max(0.0, 1.0 - pmf[:limit].sum())
    return pmf


def expected_clipped(mean: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """``E[min(Poisson(mean), limit)]`` per user."""
    return np.array([clipped_distribution(m, int(lim)) @ np.arange(lim + 1) for m, lim in zip(mean, limit,
                                                                                              strict=True)])


def daily_means(table: UserTable, tx_per_day: float) -> np.ndarray:
    """``(2, users)`` Poisson means of transactions per user and day (weekday, weekend).

    Each user's mean is proportional to its daily intensity; the common factor is solved so
    that, after each user-day is capped at the daily limit, the expected total is ``tx_per_day``
    on every day. A user whose intensity would exceed its limit saturates at the limit and the
    others take up the rest.
    """
    means = np.zeros((2, _USERS))
    for day_type in (0, 1):
        intensity = table.hour_weight[day_type].sum(axis=1)
        low, high = 0.0, 1.0
        while expected_clipped(high * intensity, table.limit).sum() < tx_per_day:
            high *= 2
            if high > 1e9:
                raise ValueError(f"tx_per_day {tx_per_day} is more than the daily limits allow")
        for _ in range(60):
            mid = (low + high) / 2
            if expected_clipped(mid * intensity, table.limit).sum() < tx_per_day:
                low = mid
            else:
                high = mid
        means[day_type] = (low + high) / 2 * intensity
    return means


@dataclass(frozen=True)
class Habits:
    """Per-user draws fixed by the seed: favourite items and merchants."""

    favourites: np.ndarray  # (users, max) item codes, padded
    n_favourites: np.ndarray
    usual: np.ndarray  # (users, 6) merchant numbers, padded
    n_usual: np.ndarray
    occasional: np.ndarray  # (users, OCCASIONAL_MERCHANTS)
    strangers: np.ndarray  # (users, k) merchants the user never uses, in the order location_jump takes them

    @classmethod
    def draw(cls, table: UserTable, rng: np.random.Generator) -> Habits:
        lo, hi = MERCHANT_NUMBERS
        numbers = hi - lo + 1
        known_max = USUAL_MERCHANTS[1] + OCCASIONAL_MERCHANTS
        favourites = np.zeros((_USERS, 5 * FAVOURITES_PER_CATEGORY[1]), dtype=np.intp)
        n_favourites = np.zeros(_USERS, dtype=np.intp)
        usual = np.zeros((_USERS, USUAL_MERCHANTS[1]), dtype=np.intp)
        n_usual = rng.integers(USUAL_MERCHANTS[0], USUAL_MERCHANTS[1] + 1, _USERS)
        occasional = np.zeros((_USERS, OCCASIONAL_MERCHANTS), dtype=np.intp)
        strangers = np.zeros((_USERS, numbers - known_max), dtype=np.intp)
        for u in range(_USERS):
            items = [
                category * 9000 + number
                for category in table.categories[u, :table.n_categories[u]]
                for number in rng.integers(0, 9000, rng.integers(FAVOURITES_PER_CATEGORY[0],
                                                                 FAVOURITES_PER_CATEGORY[1] + 1))
            ]
            favourites[u, :len(items)] = items
            n_favourites[u] = len(items)
            order = rng.permutation(numbers) + lo
            k = n_usual[u]
            usual[u, :k] = order[:k]
            occasional[u] = order[k:k + OCCASIONAL_MERCHANTS]
            strangers[u] = order[k + OCCASIONAL_MERCHANTS:][:numbers - known_max]
        return cls(favourites, n_favourites, usual, n_usual, occasional, strangers)
