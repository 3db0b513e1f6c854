"""Choosing an operating threshold: by alert budget (k alerts per day) or by target precision.

A detector flags ``score >= threshold`` (see :meth:`fraudstream.detect.base.Detector.set_threshold`).

>>> scores = np.array([0.9, 0.8, 0.7, 0.2, 0.95, 0.1])
>>> days = np.array([0, 0, 0, 0, 1, 1])
>>> threshold_for_alert_budget(scores, days, k_per_day=1)
0.9
>>> threshold_for_precision(np.array([1, 1, 0, 0, 1, 0]), scores, target=0.75)
0.7
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fraudstream.errors import ConfigError, InvalidRecord

__all__ = ["threshold_for_alert_budget", "threshold_for_precision"]


def threshold_for_alert_budget(scores: Any, days: Any, k_per_day: int) -> float:
    """The lowest threshold whose alerts, over the whole period, are at most ``k_per_day`` times
    the number of distinct days (an average budget; a busy day may use more of it).

    Ties at the cut make the alert count drop below the budget rather than exceed it.
    """
    values = np.asarray(scores, dtype=np.float64)
    if k_per_day < 1:
        raise ConfigError(f"k_per_day must be >= 1, got {k_per_day}")
    if values.size == 0:
        raise InvalidRecord("threshold_for_alert_budget needs at least one score")
    budget = k_per_day * len(np.unique(np.asarray(days)))
    ordered = np.sort(values)[::-1]
    if budget >= len(ordered):
        return float(ordered[-1])
    cut = ordered[budget - 1]
    if ordered[budget] < cut:
        return float(cut)
    above = ordered[ordered > cut]  # the tie at `cut` would exceed the budget: stop above it
    return float(above.min()) if above.size else float(np.nextafter(cut, np.inf))


def threshold_for_precision(y: Any, scores: Any, target: float) -> float:
    """The lowest threshold whose precision is >= ``target`` (the most recall at that precision).

    Raises :class:`ConfigError` when no threshold reaches ``target``.
    """
    labels = np.asarray(y).astype(np.int8)
    values = np.asarray(scores, dtype=np.float64)
    if not 0 < target <= 1:
        raise ConfigError(f"target precision must be in (0, 1], got {target}")
    if labels.shape != values.shape or values.size == 0:
        raise InvalidRecord(f"y and scores must be non-empty and of the same length, got {labels.shape} "
                            f"and {values.shape}")
    order = np.argsort(-values, kind="mergesort")
    sorted_scores, sorted_y = values[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(values) - 1]
    precision = np.cumsum(sorted_y)[last_of_tie] / (last_of_tie + 1)
    reached = np.flatnonzero(precision >= target)
    if reached.size == 0:
        raise ConfigError(f"no threshold reaches precision {target}; the best is {precision.max():.4f}")
    return float(sorted_scores[last_of_tie[reached[-1]]])
