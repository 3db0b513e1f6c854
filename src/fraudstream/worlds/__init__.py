"""Worlds: simulated populations that generate labelled transactions.

Each world is one module with one :class:`~fraudstream.worlds.base.World` subclass, listed in
:data:`WORLD_MODULES` (or registered by another package under the ``fraudstream.worlds`` entry
point group). :func:`simulate` is the notebook API.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pandas as pd

from fraudstream.errors import ConfigError
from fraudstream.registry import load_named_class
from fraudstream.worlds.base import World

__all__ = ["WORLD_MODULES", "World", "get_world", "simulate", "world_names"]

WORLD_MODULES: dict[str, str] = {
    "classroom": "fraudstream.worlds.classroom",
    "basic": "fraudstream.worlds.basic",
    "handbook": "fraudstream.worlds.handbook",
    "sparkov": "fraudstream.worlds.sparkov",
    "welfare": "fraudstream.worlds.welfare",
    "hacker": "fraudstream.worlds.hacker",
    "pyspark-demo": "fraudstream.worlds.pyspark_demo",
}
"""Built-in worlds: name -> module holding exactly one World subclass with that name."""


def world_names() -> list[str]:
    """Names of every available world, built-in first."""
    plugins = [ep.name for ep in entry_points(group="fraudstream.worlds") if ep.name not in WORLD_MODULES]
    return list(WORLD_MODULES) + sorted(plugins)


def get_world(name: str) -> type[World]:
    """The World class called ``name``; :class:`ConfigError` listing the names otherwise."""
    if name in WORLD_MODULES:
        return load_named_class(WORLD_MODULES[name], World, name, "world")
    for ep in entry_points(group="fraudstream.worlds"):
        if ep.name == name:
            world: type[World] = ep.load()
            return world
    raise ConfigError(f"unknown world {name!r}; choose one of: {', '.join(world_names())}")


def simulate(world: str, *, rows: int | None = None, days: float | None = None, seed: int = 0,
             start: Any = None, **params: Any) -> pd.DataFrame:
    """Generate a world's transactions into one DataFrame (labels included, as the last columns).

    >>> frame = simulate("handbook", rows=1000, seed=7, n_customers=200, n_terminals=400)
    >>> frame.shape[0], frame["tx_id"].is_unique
    (1000, True)
    """
    generator = get_world(world)(seed=seed, start=start, **params)
    frames = list(generator.generate(rows=rows, days=days))
    if not frames:
        return next(get_world(world)(seed=seed, start=start, **params).blocks()).iloc[:0]
    return pd.concat(frames, ignore_index=True)
