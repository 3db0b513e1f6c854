"""Stateless features of one transaction: amount, time of day and week, round amounts, geo.

Time features use UTC (the canonical event time): the record model carries no local time zone.

>>> import pandas as pd
>>> ts = pd.Series(pd.to_datetime(["2024-01-06T06:59:59", "2024-01-08T07:00:00"], utc=True))
>>> night_flag(ts).tolist(), weekend_flag(ts).tolist()
([1.0, 0.0], [1.0, 0.0])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cyclic_time", "event_ns", "haversine_km", "night_flag", "round_flag", "weekend_flag"]

_DAY_NS = 86400 * 10**9


def event_ns(ts: pd.Series) -> np.ndarray:
    """Event times as int64 nanoseconds since the epoch (UTC)."""
    return np.asarray(ts.dt.as_unit("ns").array.asi8, dtype=np.int64)


def night_flag(ts: pd.Series) -> np.ndarray:
    """1.0 when the hour (UTC) is 0..6 (the Handbook's ``hour <= 6``), else 0.0."""
    return (ts.dt.hour.to_numpy() <= 6).astype(np.float64)


def weekend_flag(ts: pd.Series) -> np.ndarray:
    """1.0 on Saturday and Sunday (weekday >= 5, Monday = 0), else 0.0."""
    return (ts.dt.weekday.to_numpy() >= 5).astype(np.float64)


def cyclic_time(ts: pd.Series) -> dict[str, np.ndarray]:
    """``hour_sin/cos``: angle 2*pi*(time of day)/24 h; ``weekday_sin/cos``: 2*pi*weekday/7."""
    ns = event_ns(ts)
    day_angle = 2 * np.pi * (ns % _DAY_NS) / _DAY_NS
    week_angle = 2 * np.pi * ts.dt.weekday.to_numpy() / 7
    return {"hour_sin": np.sin(day_angle), "hour_cos": np.cos(day_angle),
            "weekday_sin": np.sin(week_angle), "weekday_cos": np.cos(week_angle)}


def round_flag(cents: np.ndarray) -> np.ndarray:
    """1.0 when the amount is a whole number of currency units (no cents), else 0.0."""
    return (cents % 100 == 0).astype(np.float64)


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km (mean Earth radius 6371.0088 km).

    >>> round(float(haversine_km(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([1.0]))[0]), 2)
    111.2
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.minimum(1.0, np.sqrt(h)))
