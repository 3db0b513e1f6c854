"""``fraudstream serve --replay FILE``: a Kaggle CSV and a Handbook file streamed in event-time
order with delayed labels, read by ``fraudstream detect``'s TCP source."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fraudstream.cli.main import cli
from fraudstream.service.decisions import Decider, Featurizer, load_rules
from fraudstream.service.runtime import DetectionService
from fraudstream.service.sources import TcpSource
from fraudstream.stream.replay import ReplayWorld, read_dataset, replay_offset
from fraudstream.stream.testing import serve_subprocess


@pytest.fixture(params=[("sparkov", "kaggle"), ("handbook", "handbook")])
def dataset(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    world, schema = request.param
    out = tmp_path / f"{schema}.csv"
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "--world",
            world,
            "--rows",
            "1500",
            "--seed",
            "3",
            "--schema",
            schema,
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    shuffled = pd.read_csv(out).sample(frac=1.0, random_state=1)  # replay must sort by event time itself
    shuffled.to_csv(out, index=False)
    return out, schema


def test_replay_streams_in_event_time_order_with_delayed_labels(
    dataset: tuple[Path, str], tmp_path: Path
) -> None:
    path, schema = dataset
    expected = read_dataset(path, schema)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"id": "big", "feature": "amount", "op": ">", "value": 300}]))
    detector, version = load_rules(rules)
    with serve_subprocess(
        "--replay", str(path), "--schema", schema, "--rate", "1500", "--labels", "delayed:0.3"
    ) as (port, _process):
        source = TcpSource(f"127.0.0.1:{port}", batch_size=200, max_wait_s=0.05)
        seen: list[pd.DataFrame] = []

        def stored(batch, committed_at):  # type: ignore[no-untyped-def]
            seen.append(batch.frame)
            if sum(map(len, seen)) >= 1000:
                service.stop()

        service = DetectionService(
            source,
            Decider(None, detector, version),
            Featurizer("handbook"),
            on_stored=stored,
            metrics_every_s=3600,
        )
        with source:
            summary = service.run()
    frame = pd.concat(seen, ignore_index=True)
    assert "is_fraud" not in frame.columns  # labels were not inline
    ts = frame["ts"].to_numpy()
    assert (ts[1:] >= ts[:-1]).all()
    first = expected.index[expected["tx_id"].astype(str) == str(frame["tx_id"].iloc[0])][0]
    window = expected.iloc[first : first + len(frame)]
    assert window["tx_id"].astype(str).tolist() == frame["tx_id"].astype(str).tolist()
    assert window["amount"].tolist() == pytest.approx(frame["amount"].tolist())
    assert summary.labels > 0 and summary.joined > 0


@pytest.fixture(name="kaggle_file")
def kaggle_file_fixture(tmp_path: Path) -> Path:
    out = tmp_path / "kaggle.csv"
    args = ["generate", "--world", "sparkov", "--rows", "1500", "--seed", "3", "--schema", "kaggle",
            "--out", str(out), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out


def _first_ids(port: int, n: int) -> list[str]:
    """tx_ids of the first ``n`` transactions a new client of the server receives."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client, client.makefile("rb") as lines:
        records = (json.loads(line) for line in lines)
        return [str(r["tx_id"]) for r, _ in zip((r for r in records if "tx_id" in r), range(n), strict=False)]


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=20)
    return out.decode()


def test_replay_offset_is_the_later_of_skip_and_start(kaggle_file: Path) -> None:
    frame = read_dataset(kaggle_file, "kaggle")
    at = frame["ts"].iloc[1000]
    first_at = int(np.flatnonzero((frame["ts"] >= at).to_numpy())[0])  # ties: the first of that instant
    assert replay_offset(frame, skip=700) == 700
    assert replay_offset(frame, start=at.isoformat()) == first_at
    assert replay_offset(frame, start=at.tz_localize(None).isoformat()) == first_at  # naive = UTC
    assert replay_offset(frame, start=at, skip=1200) == 1200 and replay_offset(frame, start=at, skip=5) == first_at
    world = ReplayWorld(frame, offset=700)
    assert pd.concat(list(world.blocks()))["tx_id"].tolist() == frame["tx_id"].iloc[700:].tolist()
    assert pd.concat(list(world.generate(rows=10)))["tx_id"].tolist() == frame["tx_id"].iloc[700:710].tolist()



def _serve_from(path: Path, *flags: str) -> tuple[str, list[str], int]:
    """Serve ``path`` from ``flags`` at 20 rows/s; (stdout, 3 ids a client receives, the row the
    stop line says to resume at)."""
    with serve_subprocess("--replay", str(path), "--schema", "kaggle", "--rate", "20", "--labels", "hidden",
                          *flags) as (port, process):
        received = _first_ids(port, 3)
        out = _stop(process)
    resume = re.search(r"resume with --skip (\d+)", out)
    assert resume is not None, out
    return out, received, int(resume.group(1))


def test_serve_resumes_a_replay_where_it_stopped(kaggle_file: Path) -> None:
    ids = read_dataset(kaggle_file, "kaggle")["tx_id"].astype(str).tolist()
    out, received, resume = _serve_from(kaggle_file, "--skip", "700")
    # the feed starts with the server, so a client sees the stream from a row shortly after 700
    # (at 20 rows/s, within a second or two of the start)
    assert "from row 700 (event time" in out
    first = ids.index(received[0])
    assert 700 <= first < 760 and received == ids[first : first + 3]
    assert first + 3 <= resume < len(ids)
    out, received, _ = _serve_from(kaggle_file, "--skip", str(resume))
    assert f"from row {resume:,} (event time" in out
    assert resume <= ids.index(received[0]) < resume + 60  # no row before the resume point


def test_a_replay_offset_outside_the_file_is_a_clear_error(kaggle_file: Path) -> None:
    for flags, message in [
        (["--skip", "1500"], "--skip 1,500 is past the end: the file holds 1,500 transactions"),
        (["--start", "2999-01-01"], "--start 2999-01-01T00:00:00+00:00 is after the last transaction"),
        (["--start", "soon"], "--start must be an ISO 8601 time"),
    ]:
        result = CliRunner().invoke(cli, ["serve", "--replay", str(kaggle_file), "--schema", "kaggle", *flags])
        assert result.exit_code == 2 and message in result.output, result.output
    result = CliRunner().invoke(cli, ["serve", "--skip", "5"])
    assert result.exit_code == 2 and "--skip needs --replay" in result.output
