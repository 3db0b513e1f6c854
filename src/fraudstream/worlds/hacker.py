"""The ``hacker`` world: seed 003's normal and hacker Kafka producers.

Seed 003 runs two producers side by side, each sending one JSON message per second to the topic
``raw_transactions``: the *normal* producer (amount U(1, 1000), ``user_transactions_last_24h``
0 .. 3) and the *hacker* producer (amount U(950, 1500), 7 .. 9 transactions in the last 24 h),
both over the accounts 11111 and 22222, seven countries and four payment methods. Its Spark job
joins the accounts' ``signup_time`` (11111: 2022-09-18 14:35:22, 22222: 2021-08-05 09:15:37) and
derives ``account_age`` in days.

Here both producers tick on simulated time: the normal one every ``1 / (rate_per_s x (1 -
hacker_share))`` seconds, the hacker one every ``1 / (rate_per_s x hacker_share)`` seconds, from
the start; timestamps are whole seconds (the message carries ``YYYY-mm-dd HH:MM:SS``). Time is cut
into one-hour blocks, each drawn from ``SeedSequence([seed, hour])``. Every hacker message is
fraud (pattern ``hacker``); the seed sent no label at all.

Canonical mapping: ``customer_id`` = ``account_id``, ``merchant_id`` = ``"unknown"`` (the seed
has no merchant), ``country`` = location (``"USA"``, ``"India"``, ... as the seed writes them),
``channel`` = transaction method; attrs ``user_transactions_last_24h``, ``signup_time`` (UTC) and
``account_age`` (whole days from signup to the transaction, as the seed's INTEGER column).

>>> from fraudstream.worlds import simulate
>>> frame = simulate("hacker", rows=4, seed=1)
>>> frame["ts"].dt.strftime("%H:%M:%S").tolist(), frame["is_fraud"].tolist()
(['00:00:00', '00:00:00', '00:00:01', '00:00:01'], [False, True, False, True])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from fraudstream.worlds.base import World

__all__ = ["LOCATIONS", "METHODS", "SEED_ACCOUNTS", "HackerWorld"]

LOCATIONS: tuple[str, ...] = ("USA", "Canada", "UK", "Germany", "France", "India", "China")
METHODS: tuple[str, ...] = ("CreditCard", "BankTransfer", "PayPal", "Cryptocurrency")
SEED_ACCOUNTS: dict[int, str] = {11111: "2022-09-18 14:35:22", 22222: "2021-08-05 09:15:37"}
"""The seed's ``account_details`` table: account id -> signup time."""

_BLOCK_S = 3600
_POPULATION = 2**32 - 1
_SIGNUP_RANGE = (pd.Timestamp("2019-01-01", tz="UTC"), pd.Timestamp("2023-12-31", tz="UTC"))


class HackerWorld(World):
    """Two producers, normal and hacker, over a handful of accounts."""

    name = "hacker"
    summary = "seed 003's normal and hacker producers (1 message/s each; every hacker message is fraud)"
    default_start = datetime(2024, 1, 1, tzinfo=UTC)

    @dataclasses.dataclass(frozen=True)
    class Params:
        """Parameters; defaults are the seed's values."""

        n_accounts: int = 2
        """Accounts 11111 and 22222 first (the seed's), then 33333 .. 99999, then 100009, 100010, ..."""
        rate_per_s: float = 2.0
        """Messages per simulated second, both producers together (seed: 1 + 1)."""
        hacker_share: float = 0.5
        """Share of the messages sent by the hacker producer (seed: 0.5)."""
        normal_amount_min: float = 1.0
        normal_amount_max: float = 1000.0
        hacker_amount_min: float = 950.0
        hacker_amount_max: float = 1500.0
        normal_last_24h_max: int = 3
        """Normal ``user_transactions_last_24h`` ~ U{0 .. this}."""
        hacker_last_24h_min: int = 7
        hacker_last_24h_max: int = 9

        def __post_init__(self) -> None:
            if self.n_accounts < 1:
                raise ValueError(f"n_accounts must be >= 1, got {self.n_accounts}")
            if not self.rate_per_s > 0:
                raise ValueError(f"rate_per_s must be > 0, got {self.rate_per_s}")
            if not 0.0 <= self.hacker_share <= 1.0:
                raise ValueError(f"hacker_share must be in [0, 1], got {self.hacker_share}")
            for low, high in (("normal_amount_min", "normal_amount_max"),
                              ("hacker_amount_min", "hacker_amount_max"),
                              ("hacker_last_24h_min", "hacker_last_24h_max")):
                if not 0 <= getattr(self, low) <= getattr(self, high):
                    raise ValueError(f"{low} and {high} must satisfy 0 <= {low} <= {high}, got "
                                     f"{getattr(self, low)}, {getattr(self, high)}")
            if self.normal_last_24h_max < 0:
                raise ValueError(f"normal_last_24h_max must be >= 0, got {self.normal_last_24h_max}")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.accounts = self._draw_accounts()

    def _draw_accounts(self) -> pd.DataFrame:
        """``account_id`` and ``signup_time`` of every account (the seed's two first)."""
        n = self.params.n_accounts
        ids = [11111 * k for k in range(1, min(n, 9) + 1)] + [100000 + k for k in range(9, n)]
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, _POPULATION]))
        low, high = (t.value // 10**9 for t in _SIGNUP_RANGE)
        drawn = pd.to_datetime(rng.integers(low, high, n), unit="s", utc=True)
        fixed = [pd.Timestamp(SEED_ACCOUNTS[i], tz="UTC") if i in SEED_ACCOUNTS else drawn[k]
                 for k, i in enumerate(ids)]
        return pd.DataFrame({"account_id": np.array(ids, dtype=np.int64),
                             "signup_time": pd.DatetimeIndex(fixed).as_unit("ns")})

    def blocks(self) -> Iterator[pd.DataFrame]:
        p = self.params
        start = pd.Timestamp(self.start)
        next_tx_id = 1
        block = 0
        producers = [(False, p.rate_per_s * (1 - p.hacker_share)), (True, p.rate_per_s * p.hacker_share)]
        while True:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, block]))
            parts = [self._producer(rng, hacker, rate, block) for hacker, rate in producers if rate > 0]
            frame = pd.concat(parts, ignore_index=True)
            seconds = frame.pop("_second").to_numpy()
            frame = frame.iloc[np.argsort(seconds, kind="stable")].reset_index(drop=True)
            frame.insert(0, "ts", start + pd.to_timedelta(np.sort(seconds, kind="stable"), unit="s"))
            frame = self._canonical(frame)
            frame.insert(0, "tx_id", np.arange(next_tx_id, next_tx_id + len(frame), dtype=np.int64))
            next_tx_id += len(frame)
            yield frame
            block += 1

    def _producer(self, rng: np.random.Generator, hacker: bool, rate: float, block: int) -> pd.DataFrame:
        """One producer's messages in the block: ticks every 1/rate s, floored to whole seconds."""
        p = self.params
        first = math.ceil(block * _BLOCK_S * rate - 1e-9)
        last = math.ceil((block + 1) * _BLOCK_S * rate - 1e-9)
        seconds = np.floor(np.arange(first, last) / rate + 1e-9).astype(np.int64)
        n = len(seconds)
        if hacker:
            amount = rng.uniform(p.hacker_amount_min, p.hacker_amount_max, n)
            last_24h = rng.integers(p.hacker_last_24h_min, p.hacker_last_24h_max + 1, n)
        else:
            amount = rng.uniform(p.normal_amount_min, p.normal_amount_max, n)
            last_24h = rng.integers(0, p.normal_last_24h_max + 1, n)
        return pd.DataFrame({
            "_second": seconds,
            "_account": rng.integers(0, p.n_accounts, n),
            "amount": np.round(amount, 2),
            "country": np.array(LOCATIONS, dtype=object)[rng.integers(0, len(LOCATIONS), n)],
            "channel": np.array(METHODS, dtype=object)[rng.integers(0, len(METHODS), n)],
            "user_transactions_last_24h": last_24h.astype(np.int64),
            "is_fraud": np.full(n, hacker),
        })

    def _canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        account = frame.pop("_account").to_numpy()
        signup = self.accounts["signup_time"].dt.tz_convert(None).to_numpy()[account]
        ts = frame["ts"]
        age_days = (ts.dt.tz_convert(None).to_numpy() - signup) // np.timedelta64(1, "D")
        fraud = frame["is_fraud"].to_numpy()
        return pd.DataFrame({
            "ts": ts,
            "customer_id": self.accounts["account_id"].to_numpy()[account],
            "merchant_id": "unknown",
            "amount": frame["amount"],
            "channel": frame["channel"],
            "country": frame["country"],
            "user_transactions_last_24h": frame["user_transactions_last_24h"],
            "signup_time": pd.to_datetime(signup, utc=True),
            "account_age": age_days.astype(np.int64),
            "is_fraud": fraud,
            "fraud_pattern": np.where(fraud, "hacker", None).astype(object),
        })
