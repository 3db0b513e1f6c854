"""Shared fixtures: canonical frames, and external services that must exist in CI."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

SERVICES = {
    "postgresql": ("127.0.0.1", 5432),
    "redis": ("127.0.0.1", 6379),
    "rabbitmq": ("127.0.0.1", 5672),
    "nats": ("127.0.0.1", 4222),
    "mosquitto": ("127.0.0.1", 1883),
}


def services_required() -> bool:
    return os.environ.get("FRAUDSTREAM_REQUIRE_SERVICES") == "1"


def require_service(name: str) -> tuple[str, int]:
    """(host, port) of a running service; skip the test if it is not running, or fail when
    FRAUDSTREAM_REQUIRE_SERVICES=1 (as in CI)."""
    host, port = SERVICES[name]
    try:
        with socket.create_connection((host, port), timeout=2):
            return host, port
    except OSError as exc:
        message = f"{name} is not reachable at {host}:{port} ({exc})"
        if services_required():
            pytest.fail(f"{message}; FRAUDSTREAM_REQUIRE_SERVICES=1 needs it")
        pytest.skip(message)  # allowed: FRAUDSTREAM_REQUIRE_SERVICES makes this a failure


@pytest.fixture
def make_frame() -> Callable[..., pd.DataFrame]:
    """Factory of small canonical frames: ``make_frame(n=3, amount=[...], ...)``."""

    def make(n: int = 3, **columns: Any) -> pd.DataFrame:
        base = {
            "tx_id": np.arange(1, n + 1, dtype=np.int64),
            "ts": pd.date_range("2024-01-01T09:00", periods=n, freq="min", tz="UTC"),
            "customer_id": np.ones(n, dtype=np.int64),
            "merchant_id": ["M100"] * n,
            "amount": np.round(np.linspace(10, 20, n), 2),
            "is_fraud": np.zeros(n, dtype=bool),
            "fraud_pattern": [None] * n,
        }
        base.update(columns)
        return pd.DataFrame(base)

    return make
