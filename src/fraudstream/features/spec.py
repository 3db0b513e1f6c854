"""The feature spec: which features, windows and entities the engine computes.

A :class:`FeatureSpec` is a frozen dataclass. Windows are written as a number and a unit
(``s``, ``m``, ``h``, ``d``): ``"1m"``, ``"24h"``, ``"30d"``; the feature names carry them as
written. Two presets: :meth:`FeatureSpec.default` (everything) and :meth:`FeatureSpec.handbook`
(exactly the 15 inputs of the Fraud Detection Handbook, with the Handbook's column names).

>>> spec = FeatureSpec.default()
>>> spec.windows, spec.risk_delay
(('1h', '24h', '7d', '30d'), '7d')
>>> window_ns("24h") == 24 * 3600 * 10**9
True
>>> FeatureSpec(windows=("5x",))
Traceback (most recent call last):
...
fraudstream.errors.ConfigError: window must be a number and a unit s, m, h or d (e.g. '24h'), got '5x'
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from fraudstream.errors import ConfigError

__all__ = ["ENTITIES", "STATS", "FeatureSpec", "window_ns"]

ENTITIES: tuple[str, ...] = ("customer", "merchant", "category")
"""Entities with windowed statistics, and the column that identifies each."""

ENTITY_COLUMN = {"customer": "customer_id", "merchant": "merchant_id", "category": "category"}

STATS: tuple[str, ...] = ("count", "sum", "mean", "std", "max")
"""Window statistics, in the order the engine computes them."""

_UNIT_NS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}
_WINDOW = re.compile(r"^([1-9][0-9]*)([smhd])$")


def window_ns(window: str) -> int:
    """Length of a window such as ``"7d"`` in nanoseconds; :class:`ConfigError` if malformed."""
    match = _WINDOW.match(window) if isinstance(window, str) else None
    if match is None:
        raise ConfigError(
            f"window must be a number and a unit s, m, h or d (e.g. '24h'), got {window!r}")
    return int(match.group(1)) * _UNIT_NS[match.group(2)]


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """Which features to compute. Every field has a default; presets below.

    Windowed statistics (``{entity}_{stat}_{window}``) include the current transaction.
    History, recency, novelty and repeat features look only at the customer's earlier
    transactions. Risk features use labels of the merchant's transactions older than
    ``risk_delay``. ``select`` keeps only the named outputs, in that order; ``naming="handbook"``
    renames them to the Handbook's column names.
    """

    entities: tuple[str, ...] = ENTITIES
    windows: tuple[str, ...] = ("1h", "24h", "7d", "30d")
    stats: tuple[str, ...] = STATS
    velocity: tuple[str, ...] = ("1m", "5m", "10m")
    history_window: str | None = "30d"
    recency: bool = True
    calendar: bool = True
    amount: bool = True
    amount_flags: bool = True
    repeat_window: str | None = "24h"
    novelty_window: str | None = "30d"
    geo: bool = True
    risk_windows: tuple[str, ...] = ("1d", "7d", "30d")
    risk_delay: str = "7d"
    select: tuple[str, ...] | None = None
    naming: str = "fraudstream"
    ttl: str | None = "45d"
    max_entities: int | None = None
    max_lateness_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("entities", "windows", "stats", "velocity", "risk_windows"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, (tuple, list)):
                raise ConfigError(f"{name} must be a tuple of strings, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if self.select is not None:
            object.__setattr__(self, "select", tuple(self.select))
        _check_members("entities", self.entities, ENTITIES)
        _check_members("stats", self.stats, STATS)
        for window in (*self.windows, *self.velocity, *self.risk_windows, self.risk_delay,
                       self.history_window, self.repeat_window, self.novelty_window, self.ttl):
            if window is not None:
                window_ns(window)
        if self.naming not in ("fraudstream", "handbook"):
            raise ConfigError(f"naming must be 'fraudstream' or 'handbook', got {self.naming!r}")
        if self.max_entities is not None and self.max_entities < 1:
            raise ConfigError(f"max_entities must be >= 1 or None, got {self.max_entities}")
        if not self.max_lateness_s >= 0:
            raise ConfigError(f"max_lateness_s must be >= 0, got {self.max_lateness_s}")
        if self.ttl is not None and window_ns(self.ttl) < self.retention_ns():
            raise ConfigError(
                f"ttl must be at least the longest look-back ({self.retention_ns() / 86400e9:g} days: "
                f"windows, risk delay + risk windows), got {self.ttl!r}")

    def customer_windows(self) -> tuple[str, ...]:
        """Every window the customer state keeps running sums for (outputs and internal)."""
        extra = [w for w in (self.history_window, self.repeat_window, self.novelty_window) if w]
        windows = (self.windows if "customer" in self.entities else ()) + self.velocity + tuple(extra)
        return _unique_by_length(windows)

    def retention_ns(self) -> int:
        """The longest look-back of any feature: events older than this are dropped."""
        spans = [window_ns(w) for w in self.customer_windows()]
        if "merchant" in self.entities or "category" in self.entities:
            spans += [window_ns(w) for w in self.windows]
        if self.risk_windows:
            spans += [window_ns(self.risk_delay) + window_ns(w) for w in self.risk_windows]
        return max(spans, default=0)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for saving; :meth:`from_dict` restores the spec."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FeatureSpec:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise ConfigError(f"FeatureSpec has no field(s) {', '.join(unknown)}; allowed: {sorted(fields)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    @classmethod
    def default(cls) -> FeatureSpec:
        """Every feature: customer, merchant and category windows 1 h / 24 h / 7 d / 30 d, ..."""
        return cls()

    @classmethod
    def handbook(cls) -> FeatureSpec:
        """Exactly the Handbook's 15 model inputs, named and ordered as in the Handbook.

        >>> spec = FeatureSpec.handbook()
        >>> len(spec.select), spec.select[:3]
        (15, ('amount', 'is_weekend', 'is_night'))
        """
        from fraudstream.features.handbook import HANDBOOK_SELECT

        return cls(entities=("customer",), windows=("1d", "7d", "30d"), stats=("count", "mean"),
                   velocity=(), history_window=None, recency=False, amount_flags=False,
                   repeat_window=None, novelty_window=None, geo=False,
                   risk_windows=("1d", "7d", "30d"), risk_delay="7d",
                   select=HANDBOOK_SELECT, naming="handbook")


def _check_members(name: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ConfigError(f"{name} may only hold {', '.join(allowed)}; got {', '.join(map(repr, bad))}")


def _unique_by_length(windows: tuple[str, ...]) -> tuple[str, ...]:
    """Windows without duplicates, shortest first (names of equal length: first one kept)."""
    seen: dict[int, str] = {}
    for window in windows:
        seen.setdefault(window_ns(window), window)
    return tuple(seen[k] for k in sorted(seen))
