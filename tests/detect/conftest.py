"""Fixtures of the detector tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.detect.detect_cases import feature_frame


@pytest.fixture(scope="session")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return feature_frame(n=1200)
