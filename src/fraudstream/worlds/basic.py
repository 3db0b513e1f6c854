"""The ``basic`` world: seed 000's ``stream_server.py`` random stream (no behaviour, no fraud).

One transaction every ``interval_s`` simulated seconds: ``userID`` uniform in 1..100, ``amount``
``round(uniform(5, 500), 2)``, ``itemID`` ``<E|C|B|D|F><1000-9999>``. The original has no
merchant and no labels; here ``merchant_id`` is ``"unknown"`` and every row is labelled legit
(``is_fraud=False``) so that the frame is a canonical labelled frame. On the wire it has the
original's five fields only (:func:`fraudstream.stream.feed.encode_basic_lines`).

>>> frame = next(BasicWorld(seed=1).generate(rows=3))
>>> frame["ts"].dt.strftime("%H:%M:%S").tolist(), frame["merchant_id"].unique().tolist()
(['00:00:00', '00:00:01', '00:00:02'], ['unknown'])
>>> bool(frame["is_fraud"].any())
False
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError
from fraudstream.worlds.base import World

__all__ = ["BLOCK_ROWS", "ITEM_CATEGORIES", "BasicParams", "BasicWorld"]

ITEM_CATEGORIES: tuple[str, ...] = ("E", "C", "B", "D", "F")
"""Item letters, in the original's ``choice`` order."""

BLOCK_ROWS = 65_536
"""Transactions per block (a block spans ``BLOCK_ROWS * interval_s`` simulated seconds)."""

_ITEM_NAMES = np.array([f"{c}{n}" for c in ITEM_CATEGORIES for n in range(1000, 10_000)], dtype=object)
_CATEGORY_NAMES = np.array(ITEM_CATEGORIES, dtype=object)
_MERCHANT = np.array(["unknown"], dtype=object)
_NONE = np.array([None], dtype=object)


@dataclass(frozen=True)
class BasicParams:
    """``interval_s``: simulated seconds between transactions (the original's ``--interval``,
    default 1.0). ``n_users``: users drawn uniformly (the original: 100)."""

    interval_s: float = 1.0
    n_users: int = 100

    def __post_init__(self) -> None:
        interval = self.interval_s
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 < interval <= 86_400:
            raise ConfigError(f"interval_s must be a number of seconds > 0 and <= 86400, got {interval!r}")
        users = self.n_users
        if isinstance(users, bool) or not isinstance(users, int) or not users >= 1:
            raise ConfigError(f"n_users must be an integer >= 1, got {users!r}")


class BasicWorld(World):
    """Seed 000's basic random stream: uniform users, amounts and items, one per tick."""

    name: ClassVar[str] = "basic"
    summary: ClassVar[str] = (
        "seed 000's basic random stream (stream_server.py): uniform users/amounts/items, no fraud"
    )
    default_days: ClassVar[float | None] = 1.0
    Params = BasicParams  # type: ignore[assignment]

    def __init__(self, *, seed: int = 0, start: Any = None, **params: Any) -> None:
        super().__init__(seed=seed, start=start, **params)
        self._start_ns = math.ceil(self.start.timestamp()) * 1_000_000_000

    def blocks(self) -> Iterator[pd.DataFrame]:
        index = 0
        while True:
            yield self._block(index)
            index += 1

    def _block(self, index: int) -> pd.DataFrame:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, index]))
        n = BLOCK_ROWS
        row = index * n + np.arange(n, dtype=np.int64)
        seconds = np.floor(row * float(self.params.interval_s)).astype(np.int64)  # whole seconds, as the seed
        ts = self._start_ns + seconds * 1_000_000_000
        item = rng.integers(0, len(ITEM_CATEGORIES), n) * 9000 + rng.integers(0, 9000, n)
        return pd.DataFrame({
            "tx_id": row + 1,
            "ts": pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC"),
            "customer_id": rng.integers(1, self.params.n_users + 1, n),
            "merchant_id": np.broadcast_to(_MERCHANT, n).copy(),
            "amount": np.round(rng.uniform(5.0, 500.0, n), 2),
            "category": _CATEGORY_NAMES[item // 9000],
            "item_id": _ITEM_NAMES[item],
            "is_fraud": np.zeros(n, dtype=bool),
            "fraud_pattern": np.broadcast_to(_NONE, n).copy(),
        }, copy=False)
