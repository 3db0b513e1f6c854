"""The 20 profile types and 25 users of seed 000's classroom stream, with their exact parameters.

Users ``i = 1..25`` get ``PROFILE_TYPES[(i - 1) % 20]``: users 21-25 repeat the first five
profiles, and the fraud-prone users are 13, 14 and 15 (15 %, 12 % and 10 %).

>>> [PROFILES[name].daily_limit for name in USER_PROFILES[:3]]
[20, 5, 15]
>>> USER_PROFILES[12], PROFILES["fraud_prone_1"].fraud_patterns
('fraud_prone_1', ('sudden_spike', 'unusual_time', 'rapid_succession'))
>>> sum(PROFILES[name].daily_limit for name in USER_PROFILES)
254
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CATEGORIES",
    "FRAUD_PATTERNS",
    "MULTI_TRANSACTION_PATTERNS",
    "PROFILES",
    "PROFILE_TYPES",
    "TOTAL_USERS",
    "USER_PROFILES",
    "Profile",
]

CATEGORIES: tuple[str, ...] = ("B", "C", "D", "E", "F")
"""Item categories: the first letter of an ``itemID``."""

FRAUD_PATTERNS: tuple[str, ...] = (
    "sudden_spike", "unusual_time", "rapid_succession",
    "location_jump", "duplicate_amount", "unusual_item",
    "midnight_purchase", "round_numbers", "category_switch",
)
"""The nine fraud patterns, three per fraud-prone profile, in profile order."""

MULTI_TRANSACTION_PATTERNS: frozenset[str] = frozenset({"rapid_succession", "duplicate_amount"})
"""Patterns injected as several transactions (a burst, a repeated charge)."""


@dataclass(frozen=True)
class Profile:
    """One profile type of the original ``fraud_stream_server.py`` (``UserProfile.params``)."""

    name: str
    frequency: float
    amount_range: tuple[float, float]
    amount_std: float
    peak_hours: tuple[int, ...]
    item_categories: tuple[str, ...]
    daily_limit: int
    fraud_probability: float
    weekday_only: bool = False
    weekend_multiplier: float = 1.0
    big_purchase_interval: int | None = None
    big_purchase_range: tuple[float, float] | None = None
    seasonal_multiplier: float | None = None  # defined by the original, never used by it
    fraud_patterns: tuple[str, ...] = ()

    @property
    def fraud_prone(self) -> bool:
        """Whether the profile ever emits fraud (only the three with ``fraud_patterns`` do)."""
        return bool(self.fraud_patterns)


def _p(name: str, frequency: float, amount_range: tuple[float, float], amount_std: float,
       peak_hours: Iterable[int], item_categories: str, daily_limit: int, fraud_probability: float,
       **extras: Any) -> Profile:
    return Profile(name, frequency, amount_range, amount_std, tuple(peak_hours),
                   tuple(item_categories), daily_limit, fraud_probability, **extras)


_TABLE: tuple[Profile, ...] = (
    _p("high_freq_big_spender", 0.9, (150, 500), 50, [9, 10, 11, 14, 15, 16, 19, 20], "EDF", 20, 0.01),
    _p("low_freq_big_spender", 0.3, (200, 800), 100, [11, 15, 19], "EF", 5, 0.02),
    _p("high_freq_low_spender", 0.8, (5, 50), 10, [7, 8, 12, 13, 18, 19], "CB", 15, 0.005),
    _p("periodic_big_spender", 0.6, (10, 60), 15, [12, 18, 19, 20], "BCD", 10, 0.01,
       big_purchase_interval=7, big_purchase_range=(300, 600)),
    _p("morning_shopper", 0.7, (30, 150), 25, [6, 7, 8, 9, 10], "CD", 8, 0.01),
    _p("night_owl", 0.6, (40, 200), 30, [20, 21, 22, 23, 0, 1], "EB", 7, 0.015),
    _p("weekend_warrior", 0.4, (100, 400), 60, [10, 11, 14, 15, 16], "DEF", 12, 0.02,
       weekend_multiplier=3.0),
    _p("budget_conscious", 0.5, (5, 30), 5, [11, 17, 18], "BC", 6, 0.003),
    _p("impulse_buyer", 0.7, (20, 250), 80, range(10, 22), "BCDEF", 15, 0.025),
    _p("corporate_card", 0.6, (50, 300), 40, [9, 10, 11, 14, 15, 16], "DEF", 10, 0.02,
       weekday_only=True),
    _p("student", 0.6, (5, 40), 8, [8, 12, 13, 18, 19, 22], "BC", 8, 0.01),
    _p("retiree", 0.4, (30, 120), 20, [10, 11, 14, 15], "CD", 5, 0.008),
    _p("fraud_prone_1", 0.5, (20, 100), 25, range(8, 20), "BCD", 8, 0.15,
       fraud_patterns=("sudden_spike", "unusual_time", "rapid_succession")),
    _p("fraud_prone_2", 0.6, (40, 180), 35, range(10, 21), "CDE", 10, 0.12,
       fraud_patterns=("location_jump", "duplicate_amount", "unusual_item")),
    _p("fraud_prone_3", 0.4, (30, 150), 30, range(9, 19), "BCDE", 7, 0.10,
       fraud_patterns=("midnight_purchase", "round_numbers", "category_switch")),
    _p("consistent_regular", 0.5, (45, 55), 3, [12, 18], "C", 2, 0.005),
    _p("seasonal_shopper", 0.3, (80, 300), 50, [14, 15, 16, 17], "DEF", 6, 0.02,
       seasonal_multiplier=2.5),
    _p("micro_transactor", 0.9, (1, 10), 2, range(6, 23), "B", 30, 0.008),
    _p("luxury_buyer", 0.2, (500, 2000), 300, [14, 15, 16], "F", 2, 0.03),
    _p("erratic_spender", 0.5, (5, 500), 150, range(24), "BCDEF", 10, 0.04),
)

PROFILES: dict[str, Profile] = {profile.name: profile for profile in _TABLE}
"""Profile name -> parameters, in the original's order."""

PROFILE_TYPES: tuple[str, ...] = tuple(PROFILES)
"""The 20 profile type names (the welcome line's ``profileTypes``)."""

TOTAL_USERS = 25
"""Number of users (the welcome line's ``totalUsers``)."""

USER_PROFILES: tuple[str, ...] = tuple(PROFILE_TYPES[(i - 1) % 20] for i in range(1, TOTAL_USERS + 1))
"""Profile name of user ``i`` at index ``i - 1``."""
