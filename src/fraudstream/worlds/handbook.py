"""The Fraud Detection Handbook world (Le Borgne et al., chapter 3 "SimulatedDataset").

Implemented from the published description, vectorised with numpy: whole weeks of days at once.

* Customers: location ``(x, y) ~ U(0, 100)²``, ``mean_amount ~ U(5, 100)``, ``std = mean / 2``,
  ``mean_nb_tx_per_day ~ U(0, 4)``; the terminals *available* to a customer are those closer
  than ``radius``. Terminals: location ``(x, y) ~ U(0, 100)²``.
* Each customer, each day: ``Poisson(mean_nb_tx_per_day)`` transactions; time of day
  ``N(43200 s, 20000 s)`` truncated to whole seconds, discarded outside ``(0, 86400)``; amount
  ``N(mean, std)``, redrawn ``U(0, 2·mean)`` if negative, rounded to cents; terminal uniform among
  the available ones (a customer with none makes no transactions).
* Fraud, applied in this order (a later scenario overrides an earlier one's label):

  1. ``amount_over_220``: every amount above 220 is fraud;
  2. ``compromised_terminal``: each day 2 random terminals are compromised, and all their
     transactions that day and the next 27 days are fraud;
  3. ``compromised_card``: each day 3 random customers are compromised; of their transactions that
     day and the next 13 days, ``floor(n / 3)`` chosen at random get their amount multiplied by 5
     and are fraud.

The Handbook's scenario numbers are kept by :data:`SCENARIOS` (number -> ``fraud_pattern``).
Blocks cover :data:`BLOCK_DAYS` days; random numbers come from ``SeedSequence([seed, block])``
(transactions) and ``SeedSequence([seed, block, 1])`` (compromises), so the stream never depends
on how many rows are asked for. It does not end: the scenarios continue past the reference 183
days. Scenario 3 needs a look-ahead of the following two weeks, held in memory.

>>> world = HandbookWorld(seed=1, n_customers=100, n_terminals=200)
>>> frame = next(world.blocks())
>>> list(frame.columns)  # doctest: +NORMALIZE_WHITESPACE
['tx_id', 'ts', 'customer_id', 'merchant_id', 'amount', 'tx_time_seconds', 'tx_time_days',
 'is_fraud', 'fraud_pattern']
>>> int(frame["tx_time_days"].max()) < BLOCK_DAYS
True
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count

import numpy as np
import pandas as pd

from fraudstream.worlds.base import World

__all__ = ["BLOCK_DAYS", "DAY_S", "SCENARIOS", "HandbookWorld", "Population", "available_terminals"]

SCENARIOS: dict[int, str] = {1: "amount_over_220", 2: "compromised_terminal", 3: "compromised_card"}
"""The Handbook's ``TX_FRAUD_SCENARIO`` number -> fraudstream's ``fraud_pattern``."""

BLOCK_DAYS = 7
"""Days per block (fixed: it is part of how random numbers are drawn)."""

DAY_S = 86_400
AMOUNT_THRESHOLD = 220.0
_TRANSACTIONS, _COMPROMISES, _PROFILES = 0, 1, 2  # random streams: SeedSequence([seed, block, stream])
_PATTERN_OF = np.array([None, *SCENARIOS.values()], dtype=object)


@dataclasses.dataclass(frozen=True)
class Population:
    """Customer and terminal profiles, and the available terminals of each customer as CSR:
    customer ``c`` may use ``terminals[offsets[c]:offsets[c + 1]]``."""

    customer_xy: np.ndarray
    mean_amount: np.ndarray
    std_amount: np.ndarray
    mean_nb_tx_per_day: np.ndarray
    terminal_xy: np.ndarray
    offsets: np.ndarray
    terminals: np.ndarray

    @property
    def n_available(self) -> np.ndarray:
        return np.diff(self.offsets)


def available_terminals(customer_xy: np.ndarray, terminal_xy: np.ndarray,
                        radius: float) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(offsets, terminals)`` of the terminals closer than ``radius`` to each customer,
    terminal ids ascending. Uses a grid of cells ``radius`` wide, so memory stays linear.

    >>> offsets, terminals = available_terminals(np.array([[0.0, 0.0], [50.0, 50.0]]),
    ...     np.array([[1.0, 1.0], [60.0, 60.0], [49.0, 52.0], [3.0, 0.0]]), 5.0)
    >>> offsets.tolist(), terminals.tolist()
    ([0, 2, 3], [0, 3, 2])
    """
    n_customers = len(customer_xy)
    if n_customers == 0 or len(terminal_xy) == 0 or radius <= 0:
        return np.zeros(n_customers + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo = min(customer_xy.min(), terminal_xy.min())
    cell = max(radius, (max(customer_xy.max(), terminal_xy.max()) - lo) / 1024, 1e-9)
    side = int((max(customer_xy.max(), terminal_xy.max()) - lo) // cell) + 1
    t_cell = ((terminal_xy - lo) // cell).astype(np.int64)
    t_key = t_cell[:, 0] * side + t_cell[:, 1]
    by_cell = np.argsort(t_key, kind="stable")
    sorted_keys = t_key[by_cell]
    c_cell = ((customer_xy - lo) // cell).astype(np.int64)
    pieces_customer, pieces_terminal = [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            cx, cy = c_cell[:, 0] + dx, c_cell[:, 1] + dy
            inside = (cx >= 0) & (cx < side) & (cy >= 0) & (cy < side)
            key = np.where(inside, cx * side + cy, -1)
            first = np.searchsorted(sorted_keys, key, side="left")
            last = np.where(inside, np.searchsorted(sorted_keys, key, side="right"), first)
            sizes = last - first
            owner = np.repeat(np.arange(n_customers), sizes)
            position = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            candidate = by_cell[np.repeat(first, sizes) + position]
            near = np.hypot(*(customer_xy[owner] - terminal_xy[candidate]).T) < radius
            pieces_customer.append(owner[near])
            pieces_terminal.append(candidate[near])
    owner = np.concatenate(pieces_customer)
    pair = np.sort(owner * np.int64(len(terminal_xy)) + np.concatenate(pieces_terminal))
    offsets = np.zeros(n_customers + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n_customers), out=offsets[1:])
    return offsets, pair % len(terminal_xy)


def _rng(seed: int, block: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, block, stream]))


def _distinct(rng: np.random.Generator, n: int, k: int, rows: int) -> np.ndarray:
    """``rows`` x ``k`` draws from ``range(n)``, distinct within each row (uniform)."""
    picks = np.empty((rows, k), dtype=np.int64)
    for j in range(k):
        x = rng.integers(0, n - j, size=rows)
        for taken in np.sort(picks[:, :j], axis=1).T:
            x += x >= taken
        picks[:, j] = x
    return picks


def _pairs(keys: np.ndarray, event_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(i, j)`` with ``keys[i] == event_keys[j]``, ordered by ``j`` then ``i``."""
    order = np.argsort(event_keys, kind="stable")
    sorted_keys = event_keys[order]
    first = np.searchsorted(sorted_keys, keys, side="left")
    sizes = np.searchsorted(sorted_keys, keys, side="right") - first
    rows = np.repeat(np.arange(len(keys)), sizes)
    position = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    events = order[np.repeat(first, sizes) + position]
    by_event = np.lexsort((rows, events))
    return rows[by_event], events[by_event]


def _flags(size: int, ids: np.ndarray) -> np.ndarray:
    """A boolean lookup table of ``size`` entries, true at ``ids``."""
    flags = np.zeros(size, dtype=bool)
    flags[ids] = True
    return flags


def _day_keys(ids: np.ndarray, days: np.ndarray) -> np.ndarray:
    return ids.astype(np.int64) * (1 << 32) + days


def _window_keys(ids: np.ndarray, days: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys of (id, day) for every day of each event's window, and the event of each key."""
    offsets = np.arange(length)
    keys = _day_keys(np.repeat(ids, length), np.repeat(days, length) + np.tile(offsets, len(ids)))
    return keys, np.repeat(np.arange(len(ids)), length)


class HandbookWorld(World):
    """The Handbook's simulated card transactions with its three fraud scenarios."""

    name = "handbook"
    summary = ("Fraud Detection Handbook simulator: customers, terminals within a radius, "
               "3 fraud scenarios (about 0.84 % fraud)")
    default_start = datetime(2018, 4, 1, tzinfo=UTC)
    default_days = 183

    @dataclasses.dataclass(frozen=True)
    class Params:
        """``n_customers``, ``n_terminals``: population sizes; ``radius``: distance within which a
        terminal is available to a customer (the map is 100 x 100); the ``compromised_*`` counts
        and ``*_days`` windows set scenarios 2 (terminals) and 3 (cards)."""

        n_customers: int = 5000
        n_terminals: int = 10000
        radius: float = 5.0
        compromised_terminals_per_day: int = 2
        terminal_compromise_days: int = 28
        compromised_customers_per_day: int = 3
        card_compromise_days: int = 14

        def __post_init__(self) -> None:
            for name in ("n_customers", "n_terminals", "terminal_compromise_days",
                         "card_compromise_days"):
                if getattr(self, name) < 1:
                    raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
            if not self.radius > 0:
                raise ValueError(f"radius must be > 0, got {self.radius}")
            for name, pool in (("compromised_terminals_per_day", "n_terminals"),
                               ("compromised_customers_per_day", "n_customers")):
                value = getattr(self, name)
                if not 0 <= value <= getattr(self, pool):
                    raise ValueError(f"{name} must be between 0 and {pool} ({getattr(self, pool)}), "
                                     f"got {value}")

    def population(self) -> Population:
        """The customer and terminal profiles of this seed."""
        p = self.params
        rng = _rng(self.seed, 0, _PROFILES)
        customer_xy = rng.uniform(0, 100, size=(p.n_customers, 2))
        mean_amount = rng.uniform(5, 100, size=p.n_customers)
        mean_nb_tx_per_day = rng.uniform(0, 4, size=p.n_customers)
        terminal_xy = rng.uniform(0, 100, size=(p.n_terminals, 2))
        offsets, terminals = available_terminals(customer_xy, terminal_xy, p.radius)
        return Population(customer_xy, mean_amount, mean_amount / 2, mean_nb_tx_per_day,
                          terminal_xy, offsets, terminals)

    def _legit_block(self, population: Population, block: int) -> dict[str, np.ndarray]:
        """Transactions of one block before fraud: columns in time order."""
        rng = _rng(self.seed, block, _TRANSACTIONS)
        active = population.n_available > 0
        counts = rng.poisson(population.mean_nb_tx_per_day[:, None],
                             size=(len(active), BLOCK_DAYS)) * active[:, None]
        customer = np.repeat(np.arange(len(active)).repeat(BLOCK_DAYS), counts.ravel())
        day = np.repeat(np.tile(np.arange(BLOCK_DAYS), len(active)), counts.ravel())
        seconds = np.trunc(rng.normal(DAY_S / 2, 20_000, size=len(customer))).astype(np.int64)
        inside = (seconds > 0) & (seconds < DAY_S)
        customer, day, seconds = customer[inside], day[inside] + block * BLOCK_DAYS, seconds[inside]
        mean = population.mean_amount[customer]
        amount = rng.normal(mean, population.std_amount[customer])
        negative = amount < 0
        amount[negative] = rng.uniform(0, 2 * mean[negative])
        n_available = population.n_available[customer]
        pick = np.minimum((rng.random(len(customer)) * n_available).astype(np.int64), n_available - 1)
        terminal = population.terminals[population.offsets[customer] + pick]
        time_s = day * DAY_S + seconds
        order = np.argsort(time_s * len(time_s) + np.arange(len(time_s)))  # unique keys: stable
        return {"customer": customer[order], "terminal": terminal[order], "day": day[order],
                "time_s": time_s[order], "amount": np.round(amount[order], 2)}

    def _compromises(self, block: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
        """The block's random stream, and its compromised terminals and customers (day x k)."""
        p = self.params
        rng = _rng(self.seed, block, _COMPROMISES)
        terminals = _distinct(rng, p.n_terminals, p.compromised_terminals_per_day, BLOCK_DAYS)
        customers = _distinct(rng, p.n_customers, p.compromised_customers_per_day, BLOCK_DAYS)
        return rng, terminals, customers

    def compromise_schedule(self, days: int) -> pd.DataFrame:
        """The terminals (scenario 2) and customers (scenario 3) compromised on each of the first
        ``days`` days: columns ``day``, ``scenario``, ``id``; ground truth, for tests and audits.

        >>> HandbookWorld(seed=1).compromise_schedule(1)["scenario"].tolist()
        [2, 2, 3, 3, 3]
        """
        parts = []
        for block in range(-(-days // BLOCK_DAYS)):
            _, terminals, customers = self._compromises(block)
            day = np.arange(block * BLOCK_DAYS, (block + 1) * BLOCK_DAYS, dtype=np.int64)
            for scenario, ids in ((2, terminals), (3, customers)):
                parts.append(pd.DataFrame({"day": day.repeat(ids.shape[1]),
                                           "scenario": np.full(ids.size, scenario, dtype=np.int64),
                                           "id": ids.ravel()}))
        schedule = pd.concat(parts, ignore_index=True)
        schedule = schedule[schedule["day"] < days].sort_values(["day", "scenario"], kind="stable")
        return schedule.reset_index(drop=True)

    def blocks(self) -> Iterator[pd.DataFrame]:
        p = self.params
        population = self.population()
        start_ns = pd.Timestamp(self.start).value
        raw: deque[dict[str, np.ndarray]] = deque()  # this block and the look-ahead, before fraud
        next_raw, next_tx_id = 0, 0
        terminal_days = terminal_ids = np.zeros(0, dtype=np.int64)  # open terminal compromises
        card_chosen = np.zeros(0, dtype=np.int64)  # tx ids chosen by scenario 3, with repeats
        for block in count():
            first_day = block * BLOCK_DAYS
            while next_raw * BLOCK_DAYS < first_day + BLOCK_DAYS + p.card_compromise_days - 1:
                legit = self._legit_block(population, next_raw)
                size = len(legit["time_s"])
                legit["tx_id"] = np.arange(next_tx_id, next_tx_id + size, dtype=np.int64)
                raw.append(legit)
                next_raw, next_tx_id = next_raw + 1, next_tx_id + size
            current = raw[0]
            rng, terminals, customers = self._compromises(block)
            days = np.arange(first_day, first_day + BLOCK_DAYS, dtype=np.int64)
            still_open = terminal_days > first_day - p.terminal_compromise_days
            terminal_days = np.concatenate([terminal_days[still_open], days.repeat(terminals.shape[1])])
            terminal_ids = np.concatenate([terminal_ids[still_open], terminals.ravel()])

            scenario = np.where(current["amount"] > AMOUNT_THRESHOLD, 1, 0).astype(np.int8)
            keys, _ = _window_keys(terminal_ids, terminal_days, p.terminal_compromise_days)
            suspect = np.flatnonzero(_flags(p.n_terminals, terminal_ids)[current["terminal"]])
            hit = np.isin(_day_keys(current["terminal"][suspect], current["day"][suspect]), keys)
            scenario[suspect[hit]] = 2

            card_chosen = np.concatenate([card_chosen, self._card_frauds(
                rng, raw, customers.ravel(), days.repeat(customers.shape[1]))])
            first_id, size = int(current["tx_id"][0]) if len(current["tx_id"]) else 0, len(current["tx_id"])
            mine = (card_chosen >= first_id) & (card_chosen < first_id + size)
            times = np.bincount(card_chosen[mine] - first_id, minlength=size)
            card_chosen = card_chosen[~mine]
            amount = current["amount"]
            hit = times > 0
            amount[hit] = np.round(amount[hit] * 5.0 ** times[hit], 2)
            scenario[hit] = 3
            yield self._frame(start_ns, current, scenario, amount)
            raw.popleft()

    def _card_frauds(self, rng: np.random.Generator, raw: deque[dict[str, np.ndarray]],
                     customers: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Tx ids chosen by scenario 3 for card windows opening on ``days``: of each window's
        ``n`` transactions, ``n // 3`` at random. ``raw`` must cover every window to its end."""
        compromised = _flags(self.params.n_customers, customers)
        parts = [{k: b[k][compromised[b["customer"]]] for k in ("customer", "day", "tx_id")}
                 for b in raw]
        customer = np.concatenate([part["customer"] for part in parts])
        day = np.concatenate([part["day"] for part in parts])
        tx_id = np.concatenate([part["tx_id"] for part in parts])
        keys, key_event = _window_keys(customers, days, self.params.card_compromise_days)
        rows, key_index = _pairs(_day_keys(customer, day), keys)
        events = key_event[key_index]
        per_event = np.bincount(events, minlength=len(customers))
        shuffled = np.lexsort((rng.random(len(rows)), events))
        group_start = np.cumsum(per_event) - per_event
        rank = np.arange(len(rows)) - group_start[events[shuffled]]
        return tx_id[rows[shuffled[rank < per_event[events[shuffled]] // 3]]]

    def _frame(self, start_ns: int, current: dict[str, np.ndarray], scenario: np.ndarray,
               amount: np.ndarray) -> pd.DataFrame:
        ts = pd.DatetimeIndex(start_ns + current["time_s"] * 1_000_000_000, tz="UTC")
        return pd.DataFrame({
            "tx_id": current["tx_id"],
            "ts": ts,
            "customer_id": current["customer"].astype(np.int64),
            "merchant_id": current["terminal"].astype(np.int64),
            "amount": amount,
            "tx_time_seconds": current["time_s"],
            "tx_time_days": current["day"].astype(np.int64),
            "is_fraud": scenario > 0,
            "fraud_pattern": _PATTERN_OF[scenario],
        })
