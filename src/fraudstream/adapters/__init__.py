"""Adapters: lossless maps between external schemas and the canonical record.

An adapter turns a frame in an external layout (the classroom wire format, the Handbook files,
the Kaggle/Sparkov card dataset, ULB, PaySim, the seeds' own tables) into canonical columns
(:mod:`fraudstream.records`) and back. Columns with no canonical meaning travel as attrs under
their own names, so ``from_canonical(to_canonical(x))`` gives ``x`` back.

>>> sorted(adapter_names())[:3]
['classroom', 'hacker', 'handbook']
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import ClassVar

import pandas as pd

from fraudstream.errors import ConfigError
from fraudstream.registry import load_named_class

__all__ = ["ADAPTER_MODULES", "Adapter", "adapter_names", "detect_adapter", "get_adapter"]

ADAPTER_MODULES: dict[str, str] = {
    "classroom": "fraudstream.adapters.classroom",
    "handbook": "fraudstream.adapters.handbook",
    "kaggle": "fraudstream.adapters.kaggle",
    "seed001": "fraudstream.adapters.seed001",
    "welfare": "fraudstream.adapters.welfare",
    "hacker": "fraudstream.adapters.hacker",
    "seed004": "fraudstream.adapters.seed004",
    "ulb": "fraudstream.adapters.ulb",
    "paysim": "fraudstream.adapters.paysim",
}
"""Built-in adapters: name -> module holding exactly one Adapter subclass with that name."""


class Adapter(ABC):
    """Maps one external layout to canonical columns and back."""

    name: ClassVar[str]
    summary: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    """The external columns, in their published order."""

    required: ClassVar[tuple[str, ...]] = ()
    """External columns without which a row is rejected (empty: all of ``columns``)."""

    @abstractmethod
    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        """External layout -> canonical frame (labels included when the layout has them)."""

    @abstractmethod
    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Canonical frame -> external layout, columns in published order."""

    @classmethod
    def matches(cls, columns: Iterable[str]) -> bool:
        """Whether a file with these column names is in this layout."""
        present = {c.strip().lower() for c in columns}
        return {c.lower() for c in (cls.required or cls.columns)} <= present


def adapter_names() -> list[str]:
    return list(ADAPTER_MODULES)


def get_adapter(name: str) -> Adapter:
    """An instance of the adapter called ``name``; :class:`ConfigError` listing names otherwise."""
    if name not in ADAPTER_MODULES:
        raise ConfigError(f"unknown schema {name!r}; choose one of: {', '.join(ADAPTER_MODULES)}")
    return load_named_class(ADAPTER_MODULES[name], Adapter, name, "adapter")()


def detect_adapter(columns: Iterable[str]) -> Adapter:
    """The adapter whose layout these column names follow (the most specific match)."""
    columns = list(columns)
    found = [a for a in map(get_adapter, ADAPTER_MODULES) if a.matches(columns)]
    if not found:
        raise ConfigError(
            f"columns {', '.join(columns[:8])}{' ...' if len(columns) > 8 else ''} match no known "
            f"schema; choose one with --schema ({', '.join(ADAPTER_MODULES)})")
    return max(found, key=lambda a: len(a.required or a.columns))
