"""Stateless features of one transaction: amount, time of day and week, round amounts, geo.

Time features use UTC (the canonical event time): the record model carries no local time zone.

>>> ts = pd.Series(pd.to_datetime(["2024-01-06T06:59:59", "2024-01-08T07:00:00"], utc=True))
>>> flags = calendar_features(event_ns(ts))
>>> flags["is_night"].tolist(), flags["is_weekend"].tolist()
([1.0, 0.0], [1.0, 0.0])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["calendar_features", "event_ns", "haversine_km", "round_flag"]

_DAY_NS = 86400 * 10**9


def event_ns(ts: pd.Series) -> np.ndarray:
    """Event times as int64 nanoseconds since the epoch (UTC)."""
    return np.asarray(ts.dt.as_unit("ns").array.asi8, dtype=np.int64)


def calendar_features(ts_ns: np.ndarray) -> dict[str, np.ndarray]:
    """Weekend and night flags and cyclic time of day / week, from int64 ns (UTC), in numpy.

    >>> ns = event_ns(pd.Series(pd.to_datetime(["2024-01-06T06:59:59"], utc=True)))
    >>> {k: round(float(v[0]), 3) for k, v in calendar_features(ns).items()}  # doctest: +NORMALIZE_WHITESPACE
    {'is_weekend': 1.0, 'is_night': 1.0, 'hour_sin': 0.966, 'hour_cos': -0.259, 'weekday_sin': -0.975,
     'weekday_cos': -0.223}
    """
    day = ts_ns // _DAY_NS
    second_ns = ts_ns - day * _DAY_NS
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    day_angle = 2 * np.pi * second_ns / _DAY_NS
    week_angle = 2 * np.pi * weekday / 7
    return {"is_weekend": (weekday >= 5).astype(np.float64),
            "is_night": (second_ns < 7 * 3600 * 10**9).astype(np.float64),
            "hour_sin": np.sin(day_angle), "hour_cos": np.cos(day_angle),
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
