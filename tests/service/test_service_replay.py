"""``fraudstream serve --replay FILE``: a Kaggle CSV and a Handbook file streamed in event-time
order with delayed labels, read by ``fraudstream detect``'s TCP source."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from fraudstream.cli.main import cli
from fraudstream.service.decisions import Decider, Featurizer, load_rules
from fraudstream.service.runtime import DetectionService
from fraudstream.service.sources import TcpSource
from fraudstream.stream.replay import read_dataset
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
