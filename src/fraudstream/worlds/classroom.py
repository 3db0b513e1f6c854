"""The ``classroom`` world: seed 000's 25 users over 20 profile types, with nine fraud patterns.

The course stream of the AIT-204 Data-Stream server (``fraud_stream_server.py``), re-done as a
seeded, vectorised world. It keeps the original's users, profiles, amounts, items and fraud
patterns (:mod:`~fraudstream.worlds.classroom_profiles`, :mod:`~fraudstream.worlds.classroom_fraud`)
and fixes what the original breaks: the stream never falls silent after the daily limits, the
hour of day matches the timestamp, ``daysSinceLastTransaction`` is real, bursts and duplicates
really happen, and by default fraud is found from behaviour, not from merchant or item numbers
(``classic=True`` restores those tells). See ``docs/worlds/classroom.md``.

>>> from fraudstream.adapters.classroom import encode_lines
>>> world = ClassroomWorld(seed=1)
>>> frame = next(world.generate(rows=3))
>>> frame["tx_id"].tolist(), frame["ts"].is_monotonic_increasing
([1, 2, 3], True)
>>> encode_lines(frame)[0].startswith(b'{"transactionID": 1, "userID": ')
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError
from fraudstream.worlds import classroom_fraud as fraud
from fraudstream.worlds.base import World
from fraudstream.worlds.classroom_population import (
    Habits,
    UserTable,
    capacity,
    clipped_distribution,
    daily_means,
)
from fraudstream.worlds.classroom_profiles import CATEGORIES, PROFILE_TYPES, TOTAL_USERS

__all__ = [
    "FAVOURITE_SHARE",
    "MAX_LOAD",
    "MAX_TX_PER_DAY",
    "USUAL_MERCHANT_SHARE",
    "ClassroomParams",
    "ClassroomWorld",
]

DAY_S = 86_400
FAVOURITE_SHARE = 0.7
"""Share of transactions that buy one of the user's favourite items (as the original)."""

USUAL_MERCHANT_SHARE = 0.85
"""Share of a user's transactions at its usual merchants (default mode); the rest at its
occasional ones."""

MAX_LOAD = 0.9
"""``tx_per_day`` may use at most this share of what the daily limits allow on a weekend day."""

_TABLE = UserTable.build()
MAX_TX_PER_DAY = MAX_LOAD * min(capacity(_TABLE, False), capacity(_TABLE, True))
"""Largest allowed ``tx_per_day`` (219.6: 90 % of the 244 transactions a weekend day allows)."""

_HOURS, _HOUR_UNITS = _TABLE.hour_units()
_MERCHANT_NAMES = np.array([f"M{i}" for i in range(1000)], dtype=object)
_ITEM_NAMES = np.array([f"{c}{n}" for c in CATEGORIES for n in range(1000, 10_000)], dtype=object)
_CATEGORY_NAMES = np.array(CATEGORIES, dtype=object)
_PATTERN_LABELS = np.array(fraud.PATTERN_NAMES, dtype=object)
_CODE = fraud.PATTERN_CODE
_OFF_PROFILE = np.isin(np.arange(len(_PATTERN_LABELS)), [_CODE["unusual_item"], _CODE["category_switch"]])
_E, _F = CATEGORIES.index("E"), CATEGORIES.index("F")


@dataclass(frozen=True)
class ClassroomParams:
    """Parameters of the classroom world.

    ``tx_per_day``: expected transactions per simulated day over all 25 users (each day, steady
    across the day); at most :data:`MAX_TX_PER_DAY`. ``classic``: restore the original's
    tell-tale fraud merchants (M900-M999) and items (``E``/``F`` 8000-9999) and its uniformly
    random merchants. ``block_days``: simulated days per generated block (a different value
    draws different, equally valid transactions).
    """

    tx_per_day: float = 200.0
    classic: bool = False
    block_days: int = 28

    def __post_init__(self) -> None:
        rate = self.tx_per_day
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= MAX_TX_PER_DAY:
            raise ConfigError(
                f"tx_per_day must be a number > 0 and <= {MAX_TX_PER_DAY:g} (90 % of the "
                f"{min(capacity(_TABLE, False), capacity(_TABLE, True))} transactions the daily limits "
                f"allow on a weekend day), got {rate!r}")
        if not isinstance(self.classic, bool):
            raise ConfigError(f"classic must be true or false, got {self.classic!r}")
        days = self.block_days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660:
            raise ConfigError(f"block_days must be an integer from 1 to 3660, got {days!r}")


@dataclass
class _Carry:
    """What one block hands to the next."""

    next_tx_id: int
    last_ts: np.ndarray  # per user, epoch seconds of the previous transaction
    count: np.ndarray  # per user, transactions so far
    jumps: np.ndarray  # per user, location_jump merchants used so far


class ClassroomWorld(World):
    """Seed 000's classroom stream: 25 users, 20 profiles, fraud on users 13-15 only."""

    name: ClassVar[str] = "classroom"
    summary: ClassVar[str] = ("seed 000's 25 users over 20 profile types, 9 fraud patterns on users "
                              "13-15 (the course stream)")
    default_days: ClassVar[float | None] = 7.0
    Params = ClassroomParams  # type: ignore[assignment]

    def __init__(self, *, seed: int = 0, start: Any = None, **params: Any) -> None:
        super().__init__(seed=seed, start=start, **params)
        self._start_s = math.ceil(self.start.timestamp())
        self._first_day = self._start_s // DAY_S
        self._means = daily_means(_TABLE, float(self.params.tx_per_day))
        self._episode_q = self._calibrate()
        setup = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0,)))
        self._habits = Habits.draw(_TABLE, setup)

    @staticmethod
    def welcome_fields() -> dict[str, Any]:
        """The classroom welcome line's extra fields (``totalUsers``, ``profileTypes``)."""
        return {"totalUsers": TOTAL_USERS, "profileTypes": list(PROFILE_TYPES)}

    def _calibrate(self) -> np.ndarray:
        """Per-user probability that an episode is fraud, so that the expected share of fraud
        transactions equals ``fraud_probability`` (see :mod:`classroom_fraud`)."""
        q = np.zeros(TOTAL_USERS)
        for u in np.flatnonzero(_TABLE.fraud_probability):
            limit = int(_TABLE.limit[u])
            counts = (5 * clipped_distribution(self._means[0, u], limit)
                      + 2 * clipped_distribution(self._means[1, u], limit)) / 7
            patterns = [str(fraud.PATTERN_NAMES[c]) for c in _TABLE.patterns[u]]
            q[u] = fraud.episode_probability(float(_TABLE.fraud_probability[u]), patterns,
                                             dict(enumerate(counts)))
        return q

    def blocks(self) -> Iterator[pd.DataFrame]:
        carry = _Carry(next_tx_id=1, last_ts=np.full(TOTAL_USERS, self._start_s, dtype=np.int64),
                       count=np.zeros(TOTAL_USERS, dtype=np.int64),
                       jumps=np.zeros(TOTAL_USERS, dtype=np.int64))
        index = 0
        while True:
            yield self._block(index, carry)
            index += 1

    # -- one block --------------------------------------------------------------------------------

    def _block(self, index: int, carry: _Carry) -> pd.DataFrame:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, index]))
        span = self.params.block_days
        day = self._first_day + index * span + np.arange(span, dtype=np.int64)
        weekend = ((day + 3) % 7 >= 5).astype(np.intp)  # 1970-01-01 was a Thursday
        slots = np.minimum(rng.poisson(self._means[weekend]), _TABLE.limit).ravel()
        group_user = np.tile(np.arange(TOTAL_USERS), span)
        episodes = fraud.expand_episodes(rng, slots, group_user, self._episode_q,
                                         _TABLE.patterns, _TABLE.single_patterns)
        t, user, pattern, first = self._times(rng, episodes, group_user[episodes.group],
                                              np.repeat(day, TOTAL_USERS)[episodes.group])
        amount = self._amounts(rng, user, pattern, first)
        item, merchant = self._items_and_merchants(rng, user, pattern)
        repeat = np.flatnonzero(pattern == _CODE["duplicate_amount"])
        item[repeat], merchant[repeat] = item[first[repeat]], merchant[first[repeat]]  # the same charge

        keep = np.flatnonzero(t[first] >= self._start_s)  # whole episodes on the first, partial day
        order = keep[np.argsort((t[keep] << 24) + np.arange(len(keep)))]  # unique keys: one order
        t, user, pattern = t[order], user[order], pattern[order]
        amount, item, merchant = amount[order], item[order], merchant[order]
        days_since, count = self._follow_users(t, user, carry)
        self._big_purchases(rng, user, count, amount)
        if not self.params.classic:
            self._location_jumps(user, pattern, merchant, carry)

        n = len(t)
        tx_id = np.arange(carry.next_tx_id, carry.next_tx_id + n, dtype=np.int64)
        carry.next_tx_id += n
        is_fraud = pattern != fraud.LEGIT
        labels = np.empty(n, dtype=object)  # None
        labels[is_fraud] = _PATTERN_LABELS[pattern[is_fraud]]
        return pd.DataFrame({
            "tx_id": tx_id,
            "ts": pd.DatetimeIndex((t * 1_000_000_000).view("datetime64[ns]")).tz_localize("UTC"),
            "customer_id": user.astype(np.int64) + 1,
            "merchant_id": _MERCHANT_NAMES[merchant],
            "amount": np.round(amount, 2),
            "category": _CATEGORY_NAMES[item // 9000],
            "item_id": _ITEM_NAMES[item],
            "is_weekend": (t // DAY_S + 3) % 7 >= 5,
            "hour_of_day": (t % DAY_S) // 3600,
            "days_since_last_transaction": days_since,
            "user_profile": _TABLE.profile[user],
            "is_fraud": is_fraud,
            "fraud_pattern": labels,
        }, copy=False)

    def _times(self, rng: np.random.Generator, episodes: fraud.Episodes, user: np.ndarray,
               day: np.ndarray) -> tuple[np.ndarray, ...]:
        """Event times of every transaction (epoch s), with its user, pattern and the row of its
        episode's first transaction."""
        n = len(user)
        hour = _HOURS[user, (rng.random(n) * _HOUR_UNITS[user]).astype(np.intp)]
        unusual = np.flatnonzero(episodes.pattern == _CODE["unusual_time"])
        u = user[unusual]
        hour[unusual] = _TABLE.off_peak[u, (rng.random(len(u)) * _TABLE.n_off_peak[u]).astype(np.intp)]
        midnight = np.flatnonzero(episodes.pattern == _CODE["midnight_purchase"])
        hour[midnight] = rng.integers(0, 5, len(midnight))
        anchor = day * DAY_S + hour * 3600 + rng.integers(0, 3600, n)

        episode = np.repeat(np.arange(n), episodes.size)
        start = np.cumsum(episodes.size) - episodes.size
        first = start[episode]
        pattern = episodes.pattern[episode]
        offset = np.cumsum(fraud.episode_gaps(rng, pattern, np.arange(len(episode)) - first))
        offset -= offset[first]
        duration = offset[start + episodes.size - 1]
        anchor = np.minimum(anchor, (day + 1) * DAY_S - 1 - duration)  # a burst stays in its day
        return anchor[episode] + offset, user[episode], pattern, first

    def _amounts(self, rng: np.random.Generator, user: np.ndarray, pattern: np.ndarray,
                 first: np.ndarray) -> np.ndarray:
        """Clipped gauss for legit transactions; the original's formula for each fraud pattern."""
        low, high = _TABLE.low[user], _TABLE.high[user]
        amount = np.clip(rng.normal((low + high) / 2, _TABLE.std[user]), low, high)
        rows = np.flatnonzero(pattern != fraud.LEGIT)
        kind, u = pattern[rows], user[rows]
        draw = rng.random(len(user))  # indexed by row, so that a duplicate reuses its first draw
        duplicate = kind == _CODE["duplicate_amount"]
        value = _TABLE.fraud_base[kind, u] + _TABLE.fraud_spread[kind, u] * draw[
            np.where(duplicate, first[rows], rows)]
        value = np.where(duplicate, np.round(value), value)
        amount[rows] = np.where(kind == _CODE["round_numbers"], np.round(value, -2), value)
        return amount

    def _items_and_merchants(self, rng: np.random.Generator, user: np.ndarray,
                             pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Item codes (``category * 9000 + number - 1000``) and merchant numbers."""
        n = len(user)
        habits = self._habits
        pick = rng.random(n)
        count = habits.n_favourites[user]
        slot = np.minimum((pick / FAVOURITE_SHARE * count).astype(np.intp), count - 1)
        favourite = habits.favourites[user, slot]
        drawn = (rng.random(n) * (_TABLE.n_categories[user] * 9000)).astype(np.intp)  # category and number
        item = np.where(pick < FAVOURITE_SHARE, favourite, _TABLE.categories[user, drawn // 9000] * 9000
                        + drawn % 9000)
        rows = np.flatnonzero(pattern != fraud.LEGIT)
        kind, u = pattern[rows], user[rows]
        off_profile = _OFF_PROFILE[kind]
        drawn = (rng.random(len(rows)) * (_TABLE.n_outside[u] * 9000)).astype(np.intp)
        item[rows] = np.where(off_profile, _TABLE.outside[u, drawn // 9000] * 9000 + drawn % 9000, item[rows])
        if self.params.classic:
            tell = np.where(rng.random(len(rows)) < 0.5, _E, _F) * 9000 + rng.integers(7000, 9000, len(rows))
            item[rows] = np.where(off_profile, item[rows], tell)
            merchant = rng.integers(100, 1000, n)
            merchant[rows] = rng.integers(900, 1000, len(rows))
            return item, merchant
        pick = rng.random(n)
        count = habits.n_usual[user]
        usual_slot = np.minimum((pick / USUAL_MERCHANT_SHARE * count).astype(np.intp), count - 1)
        usual = habits.usual[user, usual_slot]
        others = habits.occasional.shape[1]
        beyond_usual = (pick - USUAL_MERCHANT_SHARE) / (1 - USUAL_MERCHANT_SHARE)
        occasional_slot = (beyond_usual * others).astype(np.intp)
        occasional = habits.occasional[user, np.clip(occasional_slot, 0, others - 1)]
        return item, np.where(pick < USUAL_MERCHANT_SHARE, usual, occasional)

    @staticmethod
    def _follow_users(t: np.ndarray, user: np.ndarray, carry: _Carry) -> tuple[np.ndarray, np.ndarray]:
        """Whole days since each user's previous transaction (the first one of a user counts from
        the world's start), and each transaction's number in its user's history (from 1)."""
        by_user = np.argsort(user.astype(np.uint8), kind="stable")
        per_user = np.bincount(user, minlength=TOTAL_USERS)
        user_sorted, t_sorted = user[by_user], t[by_user]
        rank_sorted = np.arange(len(t)) - (np.cumsum(per_user) - per_user)[user_sorted]
        previous = np.empty_like(t_sorted)
        previous[1:] = t_sorted[:-1]
        previous = np.where(rank_sorted == 0, carry.last_ts[user_sorted], previous)
        days_since = np.empty_like(t)
        days_since[by_user] = (t_sorted - previous) // DAY_S
        rank = np.empty_like(rank_sorted)
        rank[by_user] = rank_sorted
        count = carry.count[user] + rank + 1
        active = per_user > 0
        carry.last_ts[active] = t_sorted[np.cumsum(per_user)[active] - 1]
        carry.count += per_user
        return days_since, count

    @staticmethod
    def _big_purchases(rng: np.random.Generator, user: np.ndarray, count: np.ndarray,
                       amount: np.ndarray) -> None:
        """periodic_big_spender: every 7th own transaction uniform(300, 600), else
        max(5, gauss(35, 15)) (not clipped, as the original)."""
        rows = np.flatnonzero(_TABLE.periodic[user])
        big = count[rows] % 7 == 0
        amount[rows] = np.where(big, rng.uniform(300, 600, len(rows)),
                                np.maximum(5, rng.normal(35, 15, len(rows))))

    def _location_jumps(self, user: np.ndarray, pattern: np.ndarray, merchant: np.ndarray,
                        carry: _Carry) -> None:
        """location_jump goes to a merchant the user has never used (the next of its strangers)."""
        rows = np.flatnonzero(pattern == _CODE["location_jump"])
        jumper = user[rows]
        per_user = np.bincount(jumper, minlength=TOTAL_USERS)
        by_user = np.argsort(jumper.astype(np.uint8), kind="stable")
        rank = np.empty(len(rows), dtype=np.int64)
        rank[by_user] = np.arange(len(rows)) - (np.cumsum(per_user) - per_user)[jumper[by_user]]
        strangers = self._habits.strangers
        merchant[rows] = strangers[jumper, (carry.jumps[jumper] + rank) % strangers.shape[1]]
        carry.jumps += per_user

