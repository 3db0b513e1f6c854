"""How the classroom world injects its nine fraud patterns (seed 000, §000.6), vectorised.

A user-day of a fraud-prone user has ``n`` transaction *slots* (``n`` never exceeds the daily
limit). Slots are filled in order by *episodes*: each episode is legit (one transaction) or, with
probability ``q``, a fraud episode of one of the user's three patterns, chosen uniformly:

- ``rapid_succession``: a burst of 3-5 transactions, 5-180 s apart;
- ``duplicate_amount``: the same whole-dollar amount at the same merchant, charged twice,
  30-600 s apart;
- every other pattern: one transaction.

The last episode of a day is cut at ``n``; a burst cut down to a single transaction becomes one of
the user's single-transaction patterns, so every fraud transaction keeps a well-formed pattern
and the daily limit always holds. ``q`` is calibrated (:func:`episode_probability`) so that the
expected share of the user's *transactions* that are fraud equals the profile's
``fraud_probability`` (15 %, 12 %, 10 %), bursts counted by their transactions.

>>> round(episode_probability(0.10, ("midnight_purchase", "round_numbers", "category_switch"),
...                           {7: 1.0}), 6)
0.1
>>> 0.05 < episode_probability(0.15, ("sudden_spike", "unusual_time", "rapid_succession"),
...                            {8: 1.0}) < 0.10
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fraudstream.worlds.classroom_profiles import FRAUD_PATTERNS

__all__ = [
    "BURST_GAP_S",
    "BURST_SIZES",
    "DUPLICATE_GAP_S",
    "LEGIT",
    "PATTERN_CODE",
    "PATTERN_NAMES",
    "Episodes",
    "episode_gaps",
    "episode_probability",
    "expand_episodes",
    "fraud_amount_terms",
]

LEGIT = 0
"""Pattern code of a legit transaction; fraud patterns are ``1..9``."""

PATTERN_CODE: dict[str, int] = {name: code for code, name in enumerate(FRAUD_PATTERNS, start=1)}
PATTERN_NAMES: tuple[str | None, ...] = (None, *FRAUD_PATTERNS)
"""Pattern code -> ``fraud_pattern`` label (``None`` for legit)."""

BURST_SIZES: tuple[int, ...] = (3, 4, 5)
"""Transactions in one ``rapid_succession`` burst (uniform)."""

BURST_GAP_S: tuple[int, int] = (5, 180)
"""Seconds between consecutive burst transactions (uniform, inclusive)."""

DUPLICATE_GAP_S: tuple[int, int] = (30, 600)
"""Seconds between a charge and its ``duplicate_amount`` repeat (uniform, inclusive)."""

_RAPID = PATTERN_CODE["rapid_succession"]
_DUPLICATE = PATTERN_CODE["duplicate_amount"]


def _size_distribution(patterns: Sequence[str]) -> dict[int, float]:
    """Episode size -> probability, for a fraud episode of a user with these patterns."""
    sizes: dict[int, float] = {}
    for pattern in patterns:
        if pattern == "rapid_succession":
            options = {size: 1 / len(BURST_SIZES) for size in BURST_SIZES}
        else:
            options = {2 if pattern == "duplicate_amount" else 1: 1.0}
        for size, share in options.items():
            sizes[size] = sizes.get(size, 0.0) + share / len(patterns)
    return sizes


def _expected_fraud(q: float, sizes: Mapping[int, float], n_max: int) -> np.ndarray:
    """``F[n]``: expected fraud transactions among ``n`` slots filled by episodes (cut at ``n``)."""
    fraud = np.zeros(n_max + 1)
    for n in range(1, n_max + 1):
        episode = sum(share * (min(size, n) + fraud[n - min(size, n)]) for size, share in sizes.items())
        fraud[n] = (1 - q) * fraud[n - 1] + q * episode
    return fraud


def episode_probability(target: float, patterns: Sequence[str], day_counts: Mapping[int, float]) -> float:
    """The per-episode fraud probability ``q`` whose expected share of fraud *transactions* is
    ``target``, for user-days of ``n`` slots with probability ``day_counts[n]``."""
    if target <= 0 or not patterns:
        return 0.0
    sizes = _size_distribution(patterns)
    n_max = max(day_counts)
    total = sum(n * share for n, share in day_counts.items())
    if total <= 0:
        return target

    def share(q: float) -> float:
        fraud = _expected_fraud(q, sizes, n_max)
        return sum(fraud[n] * weight for n, weight in day_counts.items()) / total

    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if share(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


@dataclass(frozen=True)
class Episodes:
    """Episodes filling the slots of a block's user-days (episode-level arrays)."""

    group: np.ndarray
    """User-day index of each episode."""
    pattern: np.ndarray
    """Pattern code (0 legit)."""
    size: np.ndarray
    """Transactions in the episode, after the cut at the day's slot count."""


def expand_episodes(rng: np.random.Generator, slots: np.ndarray, group_user: np.ndarray, q: np.ndarray,
                    user_patterns: np.ndarray, user_single_patterns: np.ndarray) -> Episodes:
    """Fill ``slots[g]`` transaction slots of every user-day ``g`` with episodes.

    ``q[u]`` is the user's per-episode fraud probability, ``user_patterns[u]`` its three pattern
    codes and ``user_single_patterns[u]`` two single-transaction codes for a cut-down burst.
    """
    total = int(slots.sum())
    group = np.repeat(np.arange(len(slots)), slots)  # one candidate episode per slot
    user = group_user[group]
    pattern = np.full(total, LEGIT, dtype=np.intp)
    size = np.ones(total, dtype=np.int64)
    fraud = np.flatnonzero(rng.random(total) < q[user])
    chosen = user_patterns[user[fraud], rng.integers(0, 3, len(fraud))]
    burst = rng.choice(np.asarray(BURST_SIZES), len(fraud))
    pattern[fraud] = chosen
    size[fraud] = np.where(chosen == _RAPID, burst, np.where(chosen == _DUPLICATE, 2, 1))
    # where each candidate starts in its day once earlier candidates took their slots
    begin = np.cumsum(size) - size
    first = np.cumsum(slots) - slots  # first candidate of each user-day
    start = begin - begin[first[group]]
    keep = start < slots[group]
    size = np.minimum(size, slots[group] - start)
    cut = fraud[keep[fraud] & (size[fraud] == 1) & ((chosen == _RAPID) | (chosen == _DUPLICATE))]
    pattern[cut] = user_single_patterns[user[cut], rng.integers(0, 2, len(cut))]
    return Episodes(group=group[keep], pattern=pattern[keep], size=size[keep])


def episode_gaps(rng: np.random.Generator, pattern: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Seconds from the previous transaction of the same episode (0 for its first)."""
    gap = np.zeros(len(pattern), dtype=np.int64)
    later = np.flatnonzero(member > 0)
    burst_gap = rng.integers(BURST_GAP_S[0], BURST_GAP_S[1] + 1, len(later))
    duplicate_gap = rng.integers(DUPLICATE_GAP_S[0], DUPLICATE_GAP_S[1] + 1, len(later))
    gap[later] = np.where(pattern[later] == _RAPID, burst_gap, duplicate_gap)
    return gap


def fraud_amount_terms(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(base, spread)`` of shape (10, users): a fraud amount is ``base + spread * uniform(0, 1)``
    (the original's formulas, §000.6); ``duplicate_amount`` is then rounded to whole dollars and
    ``round_numbers`` to hundreds.

    >>> base, spread = fraud_amount_terms(np.array([20.0]), np.array([100.0]))
    >>> base[PATTERN_CODE["sudden_spike"], 0], spread[PATTERN_CODE["sudden_spike"], 0]
    (np.float64(300.0), np.float64(200.0))
    """
    width = high - low
    terms = {
        "sudden_spike": (3 * high, 2 * high),
        "unusual_time": (low, width),
        "rapid_succession": (1.5 * low, 1.5 * width),
        "location_jump": (1.5 * high, 1.5 * high),
        "duplicate_amount": (low, width),
        "unusual_item": (1.5 * high, 1.5 * high),
        "midnight_purchase": (2 * low, 2 * width),
        "round_numbers": (np.full_like(low, 100.0), np.full_like(low, 400.0)),
        "category_switch": (1.5 * high, 1.5 * high),
    }
    base = np.zeros((len(PATTERN_NAMES), len(low)))
    spread = np.zeros_like(base)
    for name, (b, s) in terms.items():
        base[PATTERN_CODE[name]] = b
        spread[PATTERN_CODE[name]] = s
    return base, spread

