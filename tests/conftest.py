"""Shared fixtures: canonical frames, and external services that must exist in CI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.browser import FLAGS, find_chromium
from tests.support import require_service  # noqa: F401  (re-exported for test modules)


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Real headless Chromium (Debian's package), one per test module."""
    executable = find_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        yield launched
        launched.close()
