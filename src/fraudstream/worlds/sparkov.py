"""The ``sparkov`` world: a card world in the style of Sparkov, the generator of the Kaggle
"credit card transactions" data (implemented from its description, not from its code).

* **Customers** (:mod:`~fraudstream.worlds.sparkov_people`): a card (``cc_num``, 13-19 digits,
  Luhn-valid), a name, an address and home location, the population of their city, a job, a
  birth date and one of 12 profiles, age band x gender x urban/rural
  (:mod:`~fraudstream.worlds.sparkov_profiles`). Each customer's legitimate rate is
  ``tx_per_day x`` the profile's rate x a personal ``Gamma(4, 1/4)`` factor; their category
  weights are a ``Dirichlet(40 x profile weights)`` draw.
* **Merchants**: ``n_merchants`` companies named ``fraud_<Company>``, one category each. Every
  customer has ``merchants_per_category`` favourite merchants per category (preferred in the
  ratio 1 : 1/2 : 1/3 ...), each at a fixed outlet within +-1 degree of the customer's home.
* **Legitimate transactions**: per customer and day ``Poisson(rate x day-of-week weight x
  month weight)``; hour from the age band's hour weights; category from the customer's weights;
  merchant among the customer's favourites of that category; amount
  ``Gamma(shape_k, scale_k x profile factor)``, at least $1.00, in cents. Nothing about a
  legitimate transaction's category or merchant depends on its date (Sparkov v1.0's defect):
  the calendar only changes how many transactions there are.
* **Fraud** (``fraud_pattern = "card_burst"``): cards are compromised at a rate set so that
  ``fraud_rate`` of all transactions are fraud (scaled by the month weight, like spending).
  A compromised card makes a burst of 1 to ``burst_max_days`` days, each with
  ``burst_min_per_day``-``burst_max_per_day`` fraudulent transactions, ``night_share`` of them
  between 22:00 and 04:00 (hours 22, 23, 0-3 of the same calendar day), at random merchants of
  fraud-prone categories (mostly shopping_net, grocery_pos, misc_net, shopping_pos) with large
  amounts. The card's legitimate spending goes on. A card is compromised at most once per block
  and not in the block after a compromise, so bursts never overlap.

Time runs in blocks of ``block_days`` calendar days (UTC) from midnight of the start day; block
``b`` draws from ``SeedSequence([seed, b])`` (the population from ``SeedSequence([seed,
2**32])``). A burst that runs past the end of its block is finished in the next block, which
re-draws the previous block's compromises from that block's own stream.

>>> world = SparkovWorld(seed=1, n_customers=50, n_merchants=100)
>>> frame = next(world.generate(days=3))
>>> list(frame.columns)  # doctest: +NORMALIZE_WHITESPACE
['tx_id', 'ts', 'customer_id', 'merchant_id', 'amount', 'category', 'lat', 'lon', 'merchant_lat',
 'merchant_lon', 'region', 'first', 'last', 'gender', 'street', 'city', 'zip', 'city_pop', 'job',
 'dob', 'trans_num', 'unix_time', 'is_fraud', 'fraud_pattern']
>>> bool(frame["merchant_id"].str.startswith("fraud_").all())
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cached_property
from typing import NamedTuple

import numpy as np
import pandas as pd

from fraudstream.worlds import sparkov_profiles as prof
from fraudstream.worlds.base import World
from fraudstream.worlds.sparkov_people import make_customers, make_merchants

__all__ = ["FRAUD_PATTERN", "SparkovWorld"]

FRAUD_PATTERN = "card_burst"
DAY_NS = 86_400 * 10**9
_POPULATION_STREAM = 2**32
_LEGIT, _COMPROMISE, _FRAUD, _IDS = 0, 1, 2, 3  # child streams of SeedSequence([seed, block])
_N_CATEGORIES = len(prof.CATEGORIES)
_CATEGORY_NAMES = np.array(prof.CATEGORIES, dtype=object)
_OTHER_HOURS = np.setdiff1d(np.arange(24), prof.NIGHT_HOURS)


def _sample_rows(cdf: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Column index drawn from the discrete distribution ``cdf[row]`` for each uniform ``u``.

    ``cdf`` is (rows, k) with each row ending at 1; one ``searchsorted`` over the flattened rows
    shifted by their row number serves every row at once.
    """
    k = cdf.shape[1]
    shifted = (cdf + np.arange(len(cdf))[:, None]).ravel()
    index = np.searchsorted(shifted, u + row, side="right") - row * k
    return np.clip(index, 0, k - 1)


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights, axis=-1)
    cdf /= cdf[..., -1:]
    cdf[..., -1] = 1.0
    return cdf


class _Episodes(NamedTuple):
    """Compromised cards of one block: customer index, first day (from the block start), days."""

    customer: np.ndarray
    first_day: np.ndarray
    days: np.ndarray


class _Rows(NamedTuple):
    customer: np.ndarray
    ts_ns: np.ndarray
    category: np.ndarray
    merchant: np.ndarray
    merchant_lat: np.ndarray
    merchant_lon: np.ndarray
    amount: np.ndarray
    is_fraud: np.ndarray


class SparkovWorld(World):
    """Sparkov-style card world; its canonical frames map 1:1 onto the Kaggle layout."""

    name = "sparkov"
    summary = ("Sparkov-style card world: demographic profiles, 14 categories, merchants near home, "
               "night fraud bursts on compromised cards (Kaggle layout)")
    default_start = datetime(2019, 1, 1, tzinfo=UTC)
    default_days = 730.0

    @dataclasses.dataclass(frozen=True)
    class Params:
        n_customers: int = 1000
        """Cards (one per customer)."""
        n_merchants: int = 800
        """Merchants, at least 14 (one per category)."""
        tx_per_day: float = 2.5
        """Mean legitimate transactions per customer per day (before profile and calendar)."""
        merchants_per_category: int = 5
        """Favourite merchants of each customer in each category."""
        fraud_rate: float = 0.0055
        """Target share of fraudulent transactions (sets the compromise rate)."""
        burst_max_days: int = 2
        burst_min_per_day: int = 7
        burst_max_per_day: int = 16
        night_share: float = 0.8
        """Share of fraudulent transactions between 22:00 and 04:00."""
        block_days: int = 7
        """Days per block (part of how random numbers are drawn)."""

        def __post_init__(self) -> None:
            checks = [
                ("n_customers", self.n_customers >= 1, ">= 1"),
                ("n_merchants", self.n_merchants >= _N_CATEGORIES, f">= {_N_CATEGORIES}"),
                ("tx_per_day", self.tx_per_day > 0, "> 0"),
                ("merchants_per_category", self.merchants_per_category >= 1, ">= 1"),
                ("fraud_rate", 0 <= self.fraud_rate < 0.5, "in [0, 0.5)"),
                ("burst_max_days", 1 <= self.burst_max_days < self.block_days, "in [1, block_days)"),
                ("burst_min_per_day", self.burst_min_per_day >= 1, ">= 1"),
                ("burst_max_per_day", self.burst_max_per_day >= self.burst_min_per_day,
                 ">= burst_min_per_day"),
                ("night_share", 0 <= self.night_share <= 1, "in [0, 1]"),
                ("block_days", self.block_days >= 2, ">= 2"),
            ]
            for field, ok, allowed in checks:
                if not ok:
                    raise ValueError(f"{field} must be {allowed}, got {getattr(self, field)!r}")

    # ---- population -------------------------------------------------------------------------

    @cached_property
    def _population(self) -> dict[str, np.ndarray]:
        p = self.params
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, _POPULATION_STREAM]))
        customers = make_customers(rng, p.n_customers, start_year=self.start.year)
        merchants = make_merchants(rng, p.n_merchants)
        profile = customers["profile"].to_numpy()
        rate = p.tx_per_day * prof.PROFILE_RATE[profile] * rng.gamma(4.0, 0.25, p.n_customers)
        weights = rng.gamma(40 * prof.PROFILE_CATEGORY_WEIGHTS[profile])  # Dirichlet, row by row
        weights /= weights.sum(axis=1, keepdims=True)
        # favourite merchants: per customer and category, a random subset of that category's merchants
        k = p.merchants_per_category
        favourite = np.empty((p.n_customers, _N_CATEGORIES, k), dtype=np.int64)
        m_category = merchants["category"].to_numpy()
        for c in range(_N_CATEGORIES):
            pool = np.flatnonzero(m_category == c)
            order = np.argsort(rng.random((p.n_customers, len(pool))), axis=1)[:, :k]
            favourite[:, c, :] = pool[order % len(pool)] if len(pool) >= k else pool[
                rng.integers(0, len(pool), (p.n_customers, k))]
        home = customers[["lat", "long"]].to_numpy()
        outlet = home[:, None, None, :] + rng.uniform(-1.0, 1.0, (p.n_customers, _N_CATEGORIES, k, 2))
        return {"customers": customers, "merchant_names": merchants["merchant"].to_numpy(),
                "merchant_category": m_category, "rate": rate, "category_cdf": _cdf(weights),
                "favourite": favourite, "outlet": np.round(outlet, 6), "home": home,
                "profile": profile}

    @property
    def customers(self) -> pd.DataFrame:
        """The customers (one card each) with their profile index into ``sparkov_profiles.PROFILES``."""
        return self._population["customers"]

    @property
    def merchants(self) -> pd.DataFrame:
        """The merchants: name and category."""
        pop = self._population
        return pd.DataFrame({"merchant": pop["merchant_names"],
                             "category": _CATEGORY_NAMES[pop["merchant_category"]]})

    @cached_property
    def compromise_rate(self) -> float:
        """Compromises per card per day at month weight 1, set so that fraud is ``fraud_rate``
        of all transactions."""
        p = self.params
        per_burst = (1 + p.burst_max_days) / 2 * (p.burst_min_per_day + p.burst_max_per_day) / 2
        legit_per_card_day = float(self._population["rate"].mean())
        rate = p.fraud_rate * legit_per_card_day / ((1 - p.fraud_rate) * per_burst)
        return rate / (1 - min(0.5, rate * p.block_days))  # cards skipped after a compromise

    # ---- blocks -----------------------------------------------------------------------------

    def _block_days(self, block: int) -> np.ndarray:
        """Days (as days since 1970-01-01) of block ``block``."""
        first = np.datetime64(self.start.date(), "D").astype(np.int64) + block * self.params.block_days
        return first + np.arange(self.params.block_days)

    def _streams(self, block: int) -> list[np.random.Generator]:
        children = np.random.SeedSequence([self.seed, block]).spawn(4)
        return [np.random.default_rng(child) for child in children]

    def _raw_episodes(self, block: int) -> _Episodes:
        p = self.params
        days = self._block_days(block)
        month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
        probability = min(1.0, self.compromise_rate * float(prof.MONTH_WEIGHTS[month].sum()))
        rng = self._streams(block)[_COMPROMISE]
        hit = np.flatnonzero(rng.random(p.n_customers) < probability)
        first_day = rng.integers(0, p.block_days, len(hit))
        n_days = rng.integers(1, p.burst_max_days + 1, len(hit))
        return _Episodes(hit, first_day, n_days)

    def _episodes(self, block: int) -> _Episodes:
        """Compromises that happen: a card compromised in the previous block is skipped."""
        raw = self._raw_episodes(block)
        if block == 0:
            return raw
        keep = ~np.isin(raw.customer, self._raw_episodes(block - 1).customer)
        return _Episodes(*(a[keep] for a in raw))

    def _fraud(self, block: int) -> _Rows:
        """Every fraudulent transaction of the bursts starting in ``block`` (may run past its end)."""
        p = self.params
        pop = self._population
        episodes = self._episodes(block)
        rng = self._streams(block)[_FRAUD]
        ep_day = np.repeat(np.arange(len(episodes.customer)), episodes.days)
        ep_first_row = np.cumsum(episodes.days) - episodes.days
        day_in_ep = np.arange(len(ep_day)) - np.repeat(ep_first_row, episodes.days)
        per_day = rng.integers(p.burst_min_per_day, p.burst_max_per_day + 1, len(ep_day))
        row_day = np.repeat(np.arange(len(ep_day)), per_day)
        n = len(row_day)
        customer = episodes.customer[ep_day][row_day]
        day = self._block_days(block)[0] + episodes.first_day[ep_day][row_day] + day_in_ep[row_day]
        night = rng.random(n) < p.night_share
        hour = np.where(night, prof.NIGHT_HOURS[rng.integers(0, len(prof.NIGHT_HOURS), n)],
                        _OTHER_HOURS[rng.integers(0, len(_OTHER_HOURS), n)])
        ts_ns = day * DAY_NS + hour * 3_600 * 10**9 + rng.integers(0, 3600, n) * 10**9
        category = _sample_rows(_cdf(prof.FRAUD_CATEGORY_WEIGHTS[None, :]), np.zeros(n, np.int64),
                                rng.random(n))
        m_category = pop["merchant_category"]
        by_category = np.argsort(m_category, kind="stable")
        starts = np.searchsorted(m_category[by_category], np.arange(_N_CATEGORIES))
        counts = np.bincount(m_category, minlength=_N_CATEGORIES)
        merchant = by_category[starts[category] + (rng.random(n) * counts[category]).astype(np.int64)]
        where = pop["home"][customer] + rng.uniform(-1.0, 1.0, (n, 2))
        amount = rng.gamma(prof.FRAUD_GAMMA_SHAPE[category], prof.FRAUD_GAMMA_SCALE[category])
        return _Rows(customer, ts_ns, category, merchant, np.round(where[:, 0], 6), np.round(where[:, 1], 6),
                     amount, np.ones(n, dtype=bool))

    def _legit(self, block: int) -> _Rows:
        p = self.params
        pop = self._population
        rng = self._streams(block)[_LEGIT]
        days = self._block_days(block)
        dow = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
        band = prof.PROFILE_AGE_BAND[pop["profile"]]
        expected = (pop["rate"][:, None] * prof.DOW_WEIGHTS[band][:, dow]
                    * prof.MONTH_WEIGHTS[month][None, :])
        counts = rng.poisson(expected).ravel()
        cell = np.repeat(np.arange(counts.size), counts)
        customer, day_index = np.divmod(cell, len(days))
        n = len(cell)
        hour = _sample_rows(_cdf(prof.HOUR_WEIGHTS), band[customer], rng.random(n))
        ts_ns = (days[day_index] * DAY_NS + hour * 3_600 * 10**9
                 + rng.integers(0, 3600, n) * 10**9)
        category = _sample_rows(pop["category_cdf"], customer, rng.random(n))
        slot_weights = 1.0 / np.arange(1, p.merchants_per_category + 1)
        slot = np.searchsorted(_cdf(slot_weights), rng.random(n), side="right")
        slot = np.minimum(slot, p.merchants_per_category - 1)
        merchant = pop["favourite"][customer, category, slot]
        outlet = pop["outlet"][customer, category, slot]
        scale = prof.LEGIT_GAMMA_SCALE[category] * prof.PROFILE_AMOUNT_FACTOR[pop["profile"][customer]]
        amount = rng.gamma(prof.LEGIT_GAMMA_SHAPE[category], scale)
        return _Rows(customer, ts_ns, category, merchant, outlet[:, 0], outlet[:, 1], amount,
                     np.zeros(n, dtype=bool))

    def _block_rows(self, block: int) -> _Rows:
        days = self._block_days(block)
        begin, end = days[0] * DAY_NS, (days[-1] + 1) * DAY_NS
        parts = [self._legit(block), self._fraud(block)]
        if block > 0:
            parts.append(self._fraud(block - 1))
        rows = _Rows(*(np.concatenate(columns) for columns in zip(*parts, strict=True)))
        start_ns = pd.Timestamp(self.start).value
        keep = (rows.ts_ns >= max(begin, start_ns)) & (rows.ts_ns < end)
        order = np.flatnonzero(keep)[np.argsort(rows.ts_ns[keep], kind="stable")]
        return _Rows(*(column[order] for column in rows))

    def _frame(self, block: int, rows: _Rows, first_id: int) -> pd.DataFrame:
        pop = self._population
        people = pop["customers"]
        n = len(rows.ts_ns)
        c = rows.customer

        def person(column: str) -> np.ndarray:
            return people[column].to_numpy()[c]

        hex_ids = self._streams(block)[_IDS].bytes(16 * n).hex().encode("ascii")
        trans_num = np.frombuffer(hex_ids, dtype="S32").astype("U32").astype(object)
        ts = pd.DatetimeIndex(rows.ts_ns.view("datetime64[ns]")).tz_localize("UTC")
        return pd.DataFrame({
            "tx_id": np.arange(first_id, first_id + n, dtype=np.int64),
            "ts": ts,
            "customer_id": person("cc_num"),
            "merchant_id": pop["merchant_names"][rows.merchant],
            "amount": np.round(np.maximum(rows.amount, 1.0), 2),
            "category": _CATEGORY_NAMES[rows.category],
            "lat": person("lat"),
            "lon": person("long"),
            "merchant_lat": rows.merchant_lat,
            "merchant_lon": rows.merchant_lon,
            "region": person("state"),
            **{column: person(column) for column in ("first", "last", "gender", "street", "city", "zip",
                                                      "city_pop", "job", "dob")},
            "trans_num": trans_num,
            "unix_time": rows.ts_ns // 10**9,
            "is_fraud": rows.is_fraud,
            "fraud_pattern": np.where(rows.is_fraud, FRAUD_PATTERN, None).astype(object),
        })

    def blocks(self) -> Iterator[pd.DataFrame]:
        next_id = 0
        block = 0
        while True:
            rows = self._block_rows(block)
            frame = self._frame(block, rows, next_id)
            next_id += len(frame)
            block += 1
            yield frame
