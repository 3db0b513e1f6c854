"""Fixtures of the detection-service tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from service_helpers import drop_schema, pg_url, save_model  # noqa: E402
from store_proxy import require_service  # noqa: E402


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(tmp_path_factory.mktemp("model") / "iforest", version="v1")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    host, port = require_service("postgresql")
    url = pg_url(host, port)
    yield url
    drop_schema(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'detect.db'}"
        return
    host, port = require_service("postgresql")
    url = pg_url(host, port)
    yield url
    drop_schema(url)
