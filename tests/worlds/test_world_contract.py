"""The contract every world keeps, checked on each registered world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstream import records
from fraudstream.adapters.classroom import encode_lines
from fraudstream.errors import ConfigError
from fraudstream.files import write_frames
from fraudstream.worlds import WORLD_MODULES, get_world, simulate, world_names

ROWS = 3000


def available_worlds() -> list[str]:
    """Worlds whose module exists (others are still being written)."""
    names = []
    for name in WORLD_MODULES:
        try:
            get_world(name)
        except ModuleNotFoundError:
            continue
        names.append(name)
    return names


WORLDS = available_worlds()


@pytest.fixture(scope="module", params=WORLDS)
def world_frame(request) -> tuple[str, pd.DataFrame]:
    return request.param, simulate(request.param, rows=ROWS, seed=11)


def test_registry_lists_every_builtin_world():
    assert world_names()[: len(WORLD_MODULES)] == list(WORLD_MODULES)
    with pytest.raises(ConfigError, match="unknown world 'nope'; choose one of: classroom"):
        get_world("nope")


def test_frames_follow_the_record_model(world_frame):
    name, frame = world_frame
    records.validate(frame, source=name)
    assert len(frame) == ROWS
    assert list(frame.columns[-2:]) == ["is_fraud", "fraud_pattern"]
    assert frame["tx_id"].is_unique
    assert frame["ts"].is_monotonic_increasing
    assert (frame["amount"].round(2) == frame["amount"]).all()
    legit = ~frame["is_fraud"]
    assert frame.loc[legit, "fraud_pattern"].isna().all()
    if frame["is_fraud"].any():
        assert frame.loc[~legit, "fraud_pattern"].notna().all()


def test_same_seed_same_bytes_different_seed_differs(tmp_path, world_frame):
    name, frame = world_frame
    again = simulate(name, rows=ROWS, seed=11)
    pd.testing.assert_frame_equal(frame, again)
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    for path in paths:
        write_frames([simulate(name, rows=500, seed=11)], path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    other = simulate(name, rows=ROWS, seed=12)
    assert not frame["amount"].equals(other["amount"])


def test_rows_limit_is_a_prefix_of_a_longer_run(world_frame):
    name, frame = world_frame
    short = simulate(name, rows=ROWS // 3, seed=11)
    pd.testing.assert_frame_equal(short, frame.iloc[: ROWS // 3].reset_index(drop=True))


def test_days_limit_stops_at_the_end_of_the_span(world_frame):
    name, _ = world_frame
    world = get_world(name)(seed=3)
    frame = pd.concat(list(world.generate(days=2)), ignore_index=True)
    assert frame["ts"].max() < pd.Timestamp(world.start) + pd.Timedelta(days=2)
    assert frame["ts"].min() >= pd.Timestamp(world.start)


def test_no_label_reaches_the_inputs(world_frame):
    _, frame = world_frame
    inputs = records.inputs(frame)
    records.ensure_no_labels(inputs.columns, "a detector")
    # no input column is a copy of the label under another name
    label = frame["is_fraud"].to_numpy()
    for column in inputs.columns:
        values = inputs[column]
        if pd.api.types.is_bool_dtype(values) and label.any():
            assert not np.array_equal(values.to_numpy(), label), f"{column} duplicates is_fraud"


def test_bad_parameters_are_config_errors():
    for name in WORLDS:
        world = get_world(name)
        with pytest.raises(ConfigError, match="has no parameter 'bogus'"):
            world(bogus=1)
        with pytest.raises(ConfigError, match="seed must be an integer >= 0"):
            world(seed=-1)
        with pytest.raises(ConfigError, match="rows must be >= 0"):
            next(world().generate(rows=-5))


def test_classroom_frames_encode_to_wire_lines():
    frame = simulate("classroom", rows=50, seed=1)
    lines = encode_lines(frame)
    assert len(lines) == 50 and all(line.endswith(b"\n") for line in lines)
