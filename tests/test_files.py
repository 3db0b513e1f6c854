"""NDJSON lines shared by files and the stream: datetimes as ISO 8601 text, whatever the column."""

from __future__ import annotations

import orjson
import pandas as pd

from fraudstream.files import ndjson_lines, read_frames, write_frames
from fraudstream.stream.feed import LabelPolicy, encoder_for
from fraudstream.stream.messages import to_canonical
from fraudstream.worlds import simulate


def test_datetimes_become_utc_text_aware_with_z_naive_without():
    naive = pd.to_datetime(["2024-03-01 10:00:00.000", "2024-03-01 10:00:01.500"])
    frame = pd.DataFrame({"ts": naive.tz_localize("Europe/Paris"), "naive": naive, "n": [1, 2]})
    rows = [orjson.loads(line) for line in ndjson_lines(frame, drop=["n", "not_a_column"])]
    assert rows == [
        {"ts": "2024-03-01T09:00:00Z", "naive": "2024-03-01T10:00:00"},
        {"ts": "2024-03-01T09:00:01.500000Z", "naive": "2024-03-01T10:00:01.500000"},
    ]
    fixed = [orjson.loads(line)["ts"] for line in ndjson_lines(frame, trim_zero_fraction=False)]
    assert fixed == ["2024-03-01T09:00:00.000000Z", "2024-03-01T09:00:01.500000Z"]


def test_a_world_with_a_second_datetime_column_streams_and_round_trips(tmp_path):
    frame = simulate("hacker", rows=300, seed=2)
    assert isinstance(frame["signup_time"].dtype, pd.DatetimeTZDtype)
    lines = encoder_for("hacker", LabelPolicy.parse("inline"))(frame)  # the server's encoder
    assert len(lines) == 300 and all(line.endswith(b"\n") for line in lines)
    first = orjson.loads(lines[0])
    assert first["signup_time"] == frame["signup_time"].iloc[0].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert to_canonical(first)["tx_id"] == frame["tx_id"].iloc[0]
    path = tmp_path / "hacker.ndjson"
    write_frames([frame], path)
    back = pd.concat(read_frames(path), ignore_index=True)
    assert back["tx_id"].tolist() == frame["tx_id"].tolist()
    assert pd.to_datetime(back["signup_time"], utc=True).equals(frame["signup_time"])
