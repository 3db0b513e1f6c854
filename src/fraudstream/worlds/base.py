"""The world protocol: a seeded, deterministic generator of labelled transactions.

A world is one module with one :class:`World` subclass. It declares its parameters as a frozen
dataclass (``Params``), and yields *blocks*: canonical frames (see :mod:`fraudstream.records`)
covering consecutive, fixed spans of simulated time, in event-time order. Blocks depend only on
the seed, the start and the parameters — never on how fast they are consumed or how many rows
are asked for — so the same seed gives the same transactions whatever the pacing.

>>> from fraudstream.worlds import get_world
>>> world = get_world("handbook")(seed=1, n_customers=50, n_terminals=100)
>>> frame = next(world.generate(rows=5))
>>> len(frame), frame["ts"].is_monotonic_increasing
(5, True)
"""

from __future__ import annotations

import dataclasses
import typing
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError

__all__ = ["World", "parse_start"]


def parse_start(value: datetime | str | None, default: datetime) -> datetime:
    """A timezone-aware UTC start time from a datetime, an ISO string, ``"now"`` or ``None``."""
    if value is None:
        return default
    if isinstance(value, str):
        if value == "now":
            return datetime.now(UTC).replace(microsecond=0)
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(
                f"start must be an ISO date or time such as 2024-01-01T00:00, or 'now'; got {value!r}"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class World(ABC):
    """Base class of every world. Subclasses set the class attributes and implement ``blocks``."""

    name: ClassVar[str]
    """The name users type: ``--world NAME``."""

    summary: ClassVar[str]
    """One line for ``fraudstream worlds`` and ``--help``."""

    default_start: ClassVar[datetime] = datetime(2024, 1, 1, tzinfo=UTC)

    default_days: ClassVar[float | None] = None
    """Length of the world's reference run when neither rows nor days are asked for."""

    @dataclasses.dataclass(frozen=True)
    class Params:
        """Parameters of the world (subclasses replace this with their own dataclass)."""

    def __init__(self, *, seed: int = 0, start: datetime | str | None = None, **params: Any) -> None:
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        self.start = parse_start(start, self.default_start)
        self.params = self.make_params(params)

    @classmethod
    def make_params(cls, values: Mapping[str, Any]) -> Any:
        """Build ``Params`` from keyword values (strings are converted, as from the CLI)."""
        fields = {f.name: f for f in dataclasses.fields(cls.Params)}
        hints = typing.get_type_hints(cls.Params)
        converted = {}
        for key, value in values.items():
            if key not in fields:
                allowed = ", ".join(sorted(fields)) or "none"
                raise ConfigError(f"world {cls.name} has no parameter {key!r}; allowed: {allowed}")
            converted[key] = _convert(key, value, hints[key])
        try:
            return cls.Params(**converted)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"world {cls.name}: {exc}") from None

    @classmethod
    def describe_params(cls) -> list[tuple[str, str, Any]]:
        """(name, type, default) of every parameter, for help texts."""
        hints = typing.get_type_hints(cls.Params)
        return [(f.name, getattr(hints[f.name], "__name__", str(hints[f.name])), f.default)
                for f in dataclasses.fields(cls.Params)]

    @abstractmethod
    def blocks(self) -> Iterator[pd.DataFrame]:
        """Yield canonical frames over consecutive spans of simulated time, forever or until the
        world's natural end. Rows are in event-time order; ``tx_id`` increases."""

    def generate(self, *, rows: int | None = None, days: float | None = None) -> Iterator[pd.DataFrame]:
        """Blocks limited to the first ``rows`` transactions and/or the first ``days`` days.

        With neither, the world's reference run (``default_days``); a world without one needs a
        limit (its stream never ends).
        """
        if rows is not None and rows < 0:
            raise ConfigError(f"rows must be >= 0, got {rows}")
        if days is not None and not days > 0:
            raise ConfigError(f"days must be > 0, got {days}")
        if rows is None and days is None:
            days = self.default_days
            if days is None:
                raise ConfigError(f"world {self.name} streams forever: give rows or days")
        end = pd.Timestamp(self.start + timedelta(days=days)) if days is not None else None
        remaining = rows
        if remaining == 0:
            return
        for block in self.blocks():
            if end is not None and len(block) and block["ts"].iloc[-1] >= end:
                block = block[(block["ts"] < end).to_numpy()]
                done = True
            else:
                done = False
            if remaining is not None and len(block) >= remaining:
                block = block.iloc[:remaining]
                done = True
            if len(block):
                yield _fresh_index(block)
            if remaining is not None:
                remaining -= len(block)
            if done:
                return


def _fresh_index(block: pd.DataFrame) -> pd.DataFrame:
    """``block`` indexed 0..n-1, without a copy when it already is."""
    index = block.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return block
    return block.reset_index(drop=True)


def _convert(key: str, value: Any, kind: Any) -> Any:
    """Convert a CLI string to the parameter's declared type."""
    if not isinstance(value, str) or kind is str:
        return value
    try:
        if kind is bool:
            lowered = value.lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError
            return lowered in {"true", "1", "yes"}
        if kind in (int, float):
            return kind(value)
    except ValueError:
        raise ConfigError(f"parameter {key} must be {kind.__name__}, got {value!r}") from None
    return value
