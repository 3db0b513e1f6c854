"""The ``welfare`` world: seed 002's government-scheme payments in India, with anomalies.

Seed 002 fills a SQLite table with welfare payments: beneficiaries 10000 .. 50000, amount 5000
plus one of 0, +-100, +-200, +-300, on weekdays between 09:00 and 17:59, at a uniform point of
India's bounding box (lat 8.0 .. 37.1, lon 68.0 .. 97.4), under one of eight schemes; its live
feed inserts one payment every U(0.5, 3.0) s, 15 % of them anomalous. Both generators' anomaly
patterns are here, each labelled with the seed's own ``fraud_type`` name:

==================== ===================================================================
``Unusual Amount``   beneficiary 60000 .. 65000, amount one of 50000, 75000, 150, 50
``Unusual Timing``   beneficiary 65000 .. 70000, amount 2000; half at night (00:00 .. 04:59),
                     half in business hours
``High Frequency``   a burst: 10 payments to one beneficiary (70000 .. 75000), same place and
                     scheme, amount 2000, 2 minutes apart
``Collusion Ring``   10 consecutive beneficiaries (base 80000 .. 85000), same place, scheme and
                     amount 2000, at random business-hour times of the day
``High Amount``      amount one of 20000, 50000, 70000, 100000 (live feed)
``Low Amount``       amount one of 20, 50, 70, 99 (live feed)
``Off-hours``        amount one of 4800, 5000, 5200 at night, 00:00 .. 04:59 (the seed's live
                     feed stamped these "now"; here the time really is off-hours)
``Geo Out-of-Bounds`` lat one of 7.5, 37.8, 38.0 and lon one of 67.5, 97.9, 98.5, amount one
                     of 4800, 5000, 5200
==================== ===================================================================

Live-feed patterns use beneficiaries 10000 .. 99999 as the seed does. Normal payments arrive
every U(0.5, 3.0) s through the business hours of each weekday (about 18,500 a day); weekends
are silent. Anomalies are added in proportion to each day's normal volume so that, in
expectation, ``anomaly_share`` of all rows are anomalous, split evenly (in rows) between the
enabled patterns. Time is cut into calendar days, each drawn from ``SeedSequence([seed, day])``;
timestamps are whole seconds (the seed's ``%Y-%m-%d %H:%M:%S``).

Canonical mapping: ``customer_id`` = beneficiary id, ``merchant_id`` = ``category`` = scheme
(the scheme is the disbursing party), ``lat``/``lon`` the payment's location, ``country`` =
``"IN"``.

>>> from fraudstream.worlds import simulate
>>> frame = simulate("welfare", days=1, seed=1)
>>> bool(frame.loc[~frame["is_fraud"], "amount"].isin([4700.0, 5000.0, 5300.0]).any())
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from fraudstream.worlds.base import World

__all__ = ["INDIA_BOX", "PATTERNS", "SCHEMES_LONG", "SCHEMES_SHORT", "WelfareWorld"]

INDIA_BOX = (8.0, 37.1, 68.0, 97.4)
"""(lat_min, lat_max, lon_min, lon_max) of the seed's India bounding box."""

SCHEMES_LONG: tuple[str, ...] = (
    "PM-KISAN", "MGNREGA", "Pradhan Mantri Jan Dhan Yojana", "National Health Mission",
    "Atal Pension Yojana", "Pradhan Mantri Awas Yojana", "Mid-Day Meal Scheme",
    "National Scholarship Portal")
"""Scheme names of the seed's bulk generator (``generate_database.py``)."""

SCHEMES_SHORT: tuple[str, ...] = (
    "PM-KISAN", "MGNREGA", "Jan Dhan", "Health Mission", "Atal Pension", "Housing", "Mid-Day Meal",
    "Scholarship")
"""Scheme names of the seed's live feed (``live_feed_simulator.py``)."""

PATTERNS: dict[str, str] = {
    "unusual_amount": "Unusual Amount",
    "unusual_timing": "Unusual Timing",
    "high_frequency": "High Frequency",
    "collusion_ring": "Collusion Ring",
    "high_amount": "High Amount",
    "low_amount": "Low Amount",
    "off_hours": "Off-hours",
    "geo_out_of_bounds": "Geo Out-of-Bounds",
}
"""Parameter key -> ``fraud_pattern`` label (the seed's ``fraud_type``)."""

NORMAL_OFFSETS = (0, 100, -100, 200, -200, 300, -300)
_GROUPED = {"high_frequency", "collusion_ring"}  # patterns that come in groups of rows
_NIGHT_S = (0, 5 * 3600)
_DAY_S = 86_400


class WelfareWorld(World):
    """Welfare-scheme payments with the seed's eight anomaly patterns."""

    name = "welfare"
    summary = "seed 002's welfare-scheme payments in India: amount, timing, burst, ring and geo anomalies"
    default_start = datetime(2024, 1, 1, tzinfo=UTC)

    @dataclasses.dataclass(frozen=True)
    class Params:
        """Parameters; defaults are the seed's values."""

        anomaly_share: float = 0.15
        """Expected share of anomalous rows (seed's live feed: 15 %)."""
        patterns: str = ",".join(PATTERNS)
        """Comma-separated pattern keys to inject (see PATTERNS)."""
        interval_min_s: float = 0.5
        interval_max_s: float = 3.0
        """Normal payments arrive every U(interval_min_s, interval_max_s) s (seed's live feed)."""
        business_start_hour: int = 9
        business_end_hour: int = 18
        """Business hours are [start, end): the seed's hour 9 .. 17."""
        weekdays_only: bool = True
        beneficiary_min: int = 10000
        beneficiary_max: int = 50000
        """Normal beneficiaries (the seed's bulk generator)."""
        group_size: int = 10
        """Rows in a burst and beneficiaries in a collusion ring."""
        burst_gap_s: int = 120
        scheme_names: str = "short"
        """``short`` (the live feed's names) or ``long`` (the bulk generator's)."""

        def __post_init__(self) -> None:
            if not 0.0 <= self.anomaly_share < 1.0:
                raise ValueError(f"anomaly_share must be in [0, 1), got {self.anomaly_share}")
            unknown = [k for k in self.pattern_keys if k not in PATTERNS]
            if unknown or not self.pattern_keys:
                raise ValueError(f"patterns must be a comma-separated subset of {', '.join(PATTERNS)}; "
                                 f"got {self.patterns!r}")
            if not 0 < self.interval_min_s <= self.interval_max_s:
                raise ValueError("intervals must satisfy 0 < interval_min_s <= interval_max_s, got "
                                 f"{self.interval_min_s}, {self.interval_max_s}")
            if not 5 <= self.business_start_hour < self.business_end_hour <= 24:
                raise ValueError("business hours must satisfy 5 <= business_start_hour < "
                                 f"business_end_hour <= 24, got {self.business_start_hour}, "
                                 f"{self.business_end_hour}")
            if not 0 < self.beneficiary_min <= self.beneficiary_max:
                raise ValueError("beneficiaries must satisfy 0 < beneficiary_min <= beneficiary_max, "
                                 f"got {self.beneficiary_min}, {self.beneficiary_max}")
            if self.group_size < 1 or self.burst_gap_s < 1:
                raise ValueError(f"group_size and burst_gap_s must be >= 1, got {self.group_size}, "
                                 f"{self.burst_gap_s}")
            span = (self.business_end_hour - self.business_start_hour) * 3600
            if (self.group_size - 1) * self.burst_gap_s >= span:
                raise ValueError(f"a burst of {self.group_size} rows {self.burst_gap_s} s apart must "
                                 "fit in the business hours")
            if self.scheme_names not in ("short", "long"):
                raise ValueError(f"scheme_names must be 'short' or 'long', got {self.scheme_names!r}")

        @property
        def pattern_keys(self) -> list[str]:
            return [k.strip() for k in self.patterns.split(",") if k.strip()]

    def blocks(self) -> Iterator[pd.DataFrame]:
        p = self.params
        first_day = pd.Timestamp(self.start).floor("D")
        schemes = np.array(SCHEMES_SHORT if p.scheme_names == "short" else SCHEMES_LONG, dtype=object)
        next_tx_id = 1
        day = 0
        while True:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, day]))
            midnight = first_day + pd.Timedelta(days=day)
            open_today = not p.weekdays_only or midnight.weekday() < 5
            normal = self._normal(rng) if open_today else _empty()
            parts = [normal] + [self._pattern(rng, key, len(normal["second"])) for key in p.pattern_keys]
            rows = {k: np.concatenate([part[k] for part in parts]) for k in normal}
            order = np.argsort(rows["second"], kind="stable")
            rows = {k: v[order] for k, v in rows.items()}
            ts = midnight + pd.to_timedelta(rows["second"], unit="s")
            keep = np.asarray(ts >= pd.Timestamp(self.start))
            scheme = schemes[rows["scheme"]]
            fraud = rows["pattern"] != ""
            frame = pd.DataFrame({
                "ts": ts,
                "customer_id": rows["beneficiary"],
                "merchant_id": scheme,
                "amount": rows["amount"],
                "category": scheme,
                "lat": rows["lat"],
                "lon": rows["lon"],
                "country": "IN",
                "is_fraud": fraud,
                "fraud_pattern": np.where(fraud, rows["pattern"], None).astype(object),
            })[keep].reset_index(drop=True)
            frame.insert(0, "tx_id", np.arange(next_tx_id, next_tx_id + len(frame), dtype=np.int64))
            next_tx_id += len(frame)
            yield frame
            day += 1

    # -- normal payments --------------------------------------------------------------------------
    def _business_bounds(self) -> tuple[int, int]:
        return self.params.business_start_hour * 3600, self.params.business_end_hour * 3600

    def _normal(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        p = self.params
        low, high = self._business_bounds()
        mean_gap = (p.interval_min_s + p.interval_max_s) / 2
        arrivals = np.array([float(low)])
        while arrivals[-1] < high:
            gaps = rng.uniform(p.interval_min_s, p.interval_max_s, int((high - low) / mean_gap * 1.2) + 16)
            arrivals = np.concatenate([arrivals[:-1], arrivals[-1] + np.cumsum(gaps)])
        seconds = np.floor(arrivals[arrivals < high]).astype(np.int64)
        n = len(seconds)
        lat, lon = _inside_box(rng, n)
        return _columns(
            second=seconds,
            beneficiary=rng.integers(p.beneficiary_min, p.beneficiary_max + 1, n),
            amount=5000.0 + rng.choice(np.array(NORMAL_OFFSETS, dtype=np.float64), n),
            lat=lat, lon=lon, scheme=rng.integers(0, 8, n), pattern=np.full(n, ""))

    # -- anomalies --------------------------------------------------------------------------------
    def _pattern(self, rng: np.random.Generator, key: str, n_normal: int) -> dict[str, np.ndarray]:
        """One pattern's rows for a day with ``n_normal`` normal payments."""
        p = self.params
        share = p.anomaly_share
        mean_rows = n_normal * share / (1 - share) / len(p.pattern_keys)
        if key in _GROUPED:
            return self._grouped(rng, key, int(rng.poisson(mean_rows / p.group_size)))
        n = int(rng.poisson(mean_rows))
        label = np.full(n, PATTERNS[key], dtype=object)
        lat, lon = _inside_box(rng, n)
        business = self._uniform_seconds(rng, n, *self._business_bounds())
        scheme = rng.integers(0, 8, n)
        if key == "unusual_amount":
            return _columns(second=business, beneficiary=rng.integers(60000, 65001, n),
                            amount=rng.choice([50000.0, 75000.0, 150.0, 50.0], n),
                            lat=lat, lon=lon, scheme=scheme, pattern=label)
        if key == "unusual_timing":
            night = self._uniform_seconds(rng, n, *_NIGHT_S)
            second = np.where(rng.random(n) < 0.5, night, business)
            return _columns(second=second, beneficiary=rng.integers(65000, 70001, n),
                            amount=np.full(n, 2000.0), lat=lat, lon=lon, scheme=scheme, pattern=label)
        live_beneficiary = rng.integers(10000, 100000, n)
        if key == "high_amount":
            amount = rng.choice([20000.0, 50000.0, 70000.0, 100000.0], n)
        elif key == "low_amount":
            amount = rng.choice([20.0, 50.0, 70.0, 99.0], n)
        else:
            amount = rng.choice([4800.0, 5000.0, 5200.0], n)
        if key == "off_hours":
            business = self._uniform_seconds(rng, n, *_NIGHT_S)
        if key == "geo_out_of_bounds":
            lat = rng.choice([7.5, 37.8, 38.0], n)
            lon = rng.choice([67.5, 97.9, 98.5], n)
        return _columns(second=business, beneficiary=live_beneficiary, amount=amount,
                        lat=lat, lon=lon, scheme=scheme, pattern=label)

    def _grouped(self, rng: np.random.Generator, key: str, events: int) -> dict[str, np.ndarray]:
        """Bursts (one beneficiary, minutes apart) or collusion rings (consecutive beneficiaries)."""
        p = self.params
        size = p.group_size
        low, high = self._business_bounds()
        lat, lon = _inside_box(rng, events)
        scheme = rng.integers(0, 8, events)
        if key == "high_frequency":
            base = self._uniform_seconds(rng, events, low + (size - 1) * p.burst_gap_s, high)
            second = (base[:, None] - np.arange(size)[None, :] * p.burst_gap_s).ravel()
            beneficiary = np.repeat(rng.integers(70000, 75001, events), size)
        else:
            second = self._uniform_seconds(rng, events * size, low, high)
            beneficiary = (rng.integers(80000, 85001, events)[:, None] + np.arange(size)[None, :]).ravel()
        return _columns(second=second, beneficiary=beneficiary, amount=np.full(events * size, 2000.0),
                        lat=np.repeat(lat, size), lon=np.repeat(lon, size),
                        scheme=np.repeat(scheme, size),
                        pattern=np.full(events * size, PATTERNS[key], dtype=object))

    @staticmethod
    def _uniform_seconds(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
        return rng.integers(low, high, n).astype(np.int64)


def _inside_box(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    lat_min, lat_max, lon_min, lon_max = INDIA_BOX
    return rng.uniform(lat_min, lat_max, n), rng.uniform(lon_min, lon_max, n)


def _columns(**columns: np.ndarray) -> dict[str, np.ndarray]:
    out = dict(columns)
    out["beneficiary"] = out["beneficiary"].astype(np.int64)
    out["pattern"] = out["pattern"].astype(object)
    return out


def _empty() -> dict[str, np.ndarray]:
    return _columns(second=np.zeros(0, dtype=np.int64), beneficiary=np.zeros(0, dtype=np.int64),
                    amount=np.zeros(0), lat=np.zeros(0), lon=np.zeros(0),
                    scheme=np.zeros(0, dtype=np.int64), pattern=np.zeros(0, dtype=object))
