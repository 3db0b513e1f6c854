"""Helpers and fixtures of the detection-service tests: a small saved model, stream files, a
PostgreSQL URL in a throwaway schema. (No conftest.py here: conftest modules of sibling test
folders clash by name; test modules import these fixtures.) The database outage uses the store
tests' loopback proxy, ``tests/store/store_proxy.py``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from fraudstream.adapters.classroom import encode_lines
from fraudstream.detect import registry
from fraudstream.detect.iforest import IsolationForestDetector
from fraudstream.features import FeatureSpec, build_features
from fraudstream.records import inputs
from fraudstream.stream.feed import _label_lines
from fraudstream.worlds import get_world
from tests.support import require_service

SMALL_SPEC = "handbook"


def world_frame(rows: int, seed: int = 1) -> pd.DataFrame:
    world = get_world("classroom")(seed=seed, start="2024-01-01")
    return pd.concat(list(world.generate(rows=rows)), ignore_index=True)


def save_model(
    folder: Path, rows: int = 2000, seed: int = 1, version: str | None = None, n_estimators: int = 20
) -> Path:
    """An isolation forest on the handbook feature set of a small classroom run, saved."""
    frame = world_frame(rows, seed)
    features = build_features(inputs(frame), FeatureSpec.handbook())
    detector = IsolationForestDetector(n_estimators=n_estimators, random_state=seed).fit(features)
    extra = {"feature_set": SMALL_SPEC, **({"version": version} if version else {})}
    return registry.save(detector, folder, extra, overwrite=True)


def stream_lines(frame: pd.DataFrame, *, labels: str = "inline", every: int = 0) -> list[bytes]:
    """Classroom wire lines of ``frame``; ``labels="delayed"`` hides them and adds a label line for
    each transaction ``every`` lines later."""
    if labels == "inline":
        return encode_lines(frame)
    lines = encode_lines(frame, labels="hidden")
    label_lines = _label_lines(frame, classroom=True)
    out: list[bytes] = []
    for i, line in enumerate(lines):
        out.append(line)
        if i >= every:
            out.append(label_lines[i - every])
    out.extend(label_lines[len(lines) - every :] if every else [])
    return out


def write_stream(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def pg_url(host: str, port: int, schema: str | None = None) -> str:
    schema = schema or f"fs_svc_{uuid.uuid4().hex[:10]}"
    return f"postgresql://postgres@{host}:{port}/test?schema={schema}"


def drop_schema(url: str) -> None:
    import psycopg

    from fraudstream.store.postgres import split_url

    base, schema, _ = split_url(url)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(scope="session", name="model_dir")
def model_dir_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(tmp_path_factory.mktemp("model") / "iforest", version="v1")


@pytest.fixture(name="postgres_url")
def postgres_url_fixture() -> Iterator[str]:
    host, port = require_service("postgresql")
    url = pg_url(host, port)
    yield url
    drop_schema(url)


@pytest.fixture(params=["sqlite", "postgresql"], name="store_url")
def store_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'detect.db'}"
        return
    host, port = require_service("postgresql")
    url = pg_url(host, port)
    yield url
    drop_schema(url)
