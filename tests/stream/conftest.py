"""Fixtures for the client tests: real classroom wire lines and a real loopback server."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from fraudstream.adapters.classroom import encode_lines
from fraudstream.stream.testing import free_port


def make_classroom_frame(n: int, *, fraud_every: int = 0) -> pd.DataFrame:
    """``n`` canonical classroom rows: ids 1..n, amounts 10.00, 11.50, ..., users 1..5."""
    ids = np.arange(1, n + 1, dtype=np.int64)
    is_fraud = (ids % fraud_every == 0) if fraud_every else np.zeros(n, dtype=bool)
    return pd.DataFrame({
        "tx_id": ids,
        "ts": pd.date_range("2024-01-01T09:00", periods=n, freq="s", tz="UTC"),
        "customer_id": (ids - 1) % 5 + 1,
        "merchant_id": [f"M{100 + i % 7}" for i in ids],
        "amount": np.round(10 + 1.5 * (ids - 1), 2),
        "category": ["B"] * n,
        "item_id": [f"B{1000 + i % 4}" for i in ids],
        "user_profile": ["student"] * n,
        "is_fraud": is_fraud,
        "fraud_pattern": np.where(is_fraud, "sudden_spike", None),
    })


@pytest.fixture
def tx_lines() -> Callable[..., list[bytes]]:
    def make(n: int, **kwargs) -> list[bytes]:
        return encode_lines(make_classroom_frame(n, **kwargs))
    return make


@pytest.fixture
def classroom_frame() -> Callable[..., pd.DataFrame]:
    return make_classroom_frame


@pytest.fixture(name="free_port")
def free_port_fixture() -> int:
    return free_port()
