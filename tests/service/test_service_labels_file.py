"""``fraudstream detect --labels FILE``: a labels file's labels are checked before the stream
starts (a bad row gives its line, field and value), released when the stream's event time
reaches their ``labelled_at`` (with their transaction when undated), joined to their decisions,
and stored with ``source='file'`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fraudstream.adapters.classroom import encode_lines
from fraudstream.cli.main import cli
from fraudstream.errors import InvalidRecord
from fraudstream.features.labels import tx_keys
from fraudstream.service.decisions import Decider, Featurizer, load_rules
from fraudstream.service.labels_file import LabelsFile, read_labels_file
from fraudstream.service.runtime import DetectionService
from fraudstream.service.sink import StoreSink
from fraudstream.service.sources import LineFileSource, MicroBatch
from fraudstream.store import open_store
from tests.service.service_helpers import store_url_fixture, world_frame, write_stream  # noqa: F401

ROWS = 600
HOURS_LATE = 2


@pytest.fixture(name="frame")
def frame_fixture() -> pd.DataFrame:
    return world_frame(ROWS, seed=6)


@pytest.fixture(name="stream")
def stream_fixture(frame: pd.DataFrame, tmp_path: Path) -> Path:
    return write_stream(tmp_path / "s.ndjson", encode_lines(frame, labels="hidden"))


@pytest.fixture(name="rules")
def rules_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps([{"id": "big", "feature": "amount", "op": ">", "value": 300}]))
    return path


def labels_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Every 3rd transaction labelled two hours late, every 7th (not a 3rd) undated, one label
    of a transaction the stream never has, one beyond the stream's end."""
    dated = frame.iloc[::3]
    undated = frame.iloc[::7]
    undated = undated[~undated["tx_id"].isin(dated["tx_id"])]
    end = frame["ts"].max()
    return pd.concat(
        [
            pd.DataFrame({"tx_id": dated["tx_id"], "is_fraud": dated["is_fraud"],
                          "labelled_at": dated["ts"] + pd.Timedelta(hours=HOURS_LATE)}),
            pd.DataFrame({"tx_id": undated["tx_id"], "is_fraud": undated["is_fraud"], "labelled_at": pd.NaT}),
            pd.DataFrame({"tx_id": [10**9, 10**9 + 1], "is_fraud": [True, True],
                          "labelled_at": [frame["ts"].iloc[ROWS // 2], end + pd.Timedelta(days=1)]}),
        ],
        ignore_index=True,
    ).sample(frac=1.0, random_state=3)  # the file need not be in time order


def write_labels(labels: pd.DataFrame, path: Path) -> Path:
    out = labels.assign(labelled_at=labels["labelled_at"].map(lambda t: "" if pd.isna(t) else t.isoformat()))
    if path.suffix == ".csv":
        out.to_csv(path, index=False)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in out.to_dict("records")))
    return path


@pytest.mark.parametrize("suffix", [".csv", ".ndjson"])
def test_a_labels_file_is_read_with_its_types(frame: pd.DataFrame, tmp_path: Path, suffix: str) -> None:
    labels = labels_of(frame)
    read = read_labels_file(write_labels(labels, tmp_path / f"labels{suffix}"))
    assert read.columns.tolist() == ["tx_id", "is_fraud", "labelled_at", "fraud_pattern"]
    assert read["tx_id"].tolist() == labels["tx_id"].tolist() and read["tx_id"].dtype == np.int64
    assert read["is_fraud"].tolist() == labels["is_fraud"].tolist()
    assert read["labelled_at"].isna().tolist() == labels["labelled_at"].isna().tolist()
    dated = labels["labelled_at"].notna().to_numpy()
    assert (read["labelled_at"][dated].to_numpy() == labels["labelled_at"][dated].to_numpy()).all()
    assert read["fraud_pattern"].isna().all()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "labels.csv",
            "tx_id,is_fraud,labelled_at\n1,true,2024-01-01T10:00\n2,0,\n3,maybe,2024-01-01\n4,1,next week\n",
            "is_fraud must be true/false or 1/0, got 'maybe' (line 4 of labels.csv); 1 more bad row",
        ),
        (
            "labels.csv",
            "tx_id,is_fraud,labelled_at\n1,true,2024-01-01T10:00\n\n,1,\n",
            "tx_id must be given, got '' (line 4 of labels.csv)",
        ),
        (
            "labels.csv",
            "tx_id,is_fraud,labelled_at\n1,true,2024-01-01T10:00\n5,false,2024-13-01\n",
            "labelled_at must be an ISO 8601 time, got '2024-13-01' (line 3 of labels.csv)",
        ),
        (
            "labels.ndjson",
            '{"tx_id": 1, "is_fraud": true}\n\n{"tx_id": 2, "is_fraud": tru}\n',
            "(line 3 of labels.ndjson)",
        ),
        (
            "labels.ndjson",
            '{"tx_id": 1, "is_fraud": true}\n{"tx_id": null, "is_fraud": false}\n',
            "tx_id must be given, got nothing (line 2 of labels.ndjson)",
        ),
        ("labels.csv", "id,fraud\n1,true\n", "a labels file needs the columns tx_id and is_fraud"),
    ],
)
def test_a_bad_row_is_named_by_line_field_and_value(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InvalidRecord) as caught:
        read_labels_file(path)
    assert message in str(caught.value)


def test_a_bad_parquet_row_is_named_by_row(tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    labels = pd.DataFrame({"tx_id": ["a", "b"], "is_fraud": [True, False], "labelled_at": ["2024-01-01", "soon"]})
    labels.to_parquet(path)
    with pytest.raises(InvalidRecord, match=r"got 'soon' \(row 2 of labels.parquet\)"):
        read_labels_file(path)


def test_labels_are_applied_when_the_stream_reaches_them(
    frame: pd.DataFrame, stream: Path, rules: Path, tmp_path: Path
) -> None:
    labels = labels_of(frame)
    detector, version = load_rules(rules)
    seen: list[tuple[pd.Timestamp, list[object], int]] = []

    def after_batch(batch: MicroBatch, committed_at: float) -> None:  # no store: runs in the loop
        seen.append((batch.frame["ts"].max(), batch.frame["tx_id"].tolist(), service.summary.file_labels))

    service = DetectionService(
        LineFileSource(stream, batch_size=100),
        Decider(None, detector, version),
        Featurizer("handbook"),
        labels_file=LabelsFile.read(write_labels(labels, tmp_path / "labels.csv")),
        on_stored=after_batch,
        metrics_every_s=3600,
    )
    summary = service.run()
    assert sum(len(ids) for _, ids, _ in seen) == ROWS
    dated, undated = labels[labels["labelled_at"].notna()], labels[labels["labelled_at"].isna()]
    ids: list[object] = []
    for latest, batch_ids, released in seen:
        ids += batch_ids
        expected = int((dated["labelled_at"] <= latest).sum()) + int(undated["tx_id"].isin(ids).sum())
        assert released == expected
    # all but those the stream's end does not reach; the label of a transaction never seen is unjoined
    released = labels[labels["labelled_at"].isna() | (labels["labelled_at"] <= frame["ts"].max())]
    assert 10**9 + 1 not in set(released["tx_id"]) and summary.file_labels == len(released)
    assert (summary.joined, summary.unjoined) == (len(released) - 1, 1)
    assert service.metrics.labelled == len(released) - 1
    engine = service.featurizer.engine  # the risk state knows every fraud label released
    assert engine is not None
    assert set(engine.labels.keys) == set(tx_keys(released["tx_id"][released["is_fraud"]].to_numpy()))


def test_file_labels_are_stored_with_their_time(
    frame: pd.DataFrame, stream: Path, rules: Path, store_url: str, tmp_path: Path
) -> None:
    labels = labels_of(frame)
    detector, version = load_rules(rules)
    service = DetectionService(
        LineFileSource(stream, batch_size=100),
        Decider(None, detector, version),
        Featurizer("handbook"),
        sink=StoreSink(lambda: open_store(store_url)),
        labels_file=LabelsFile.read(write_labels(labels, tmp_path / "labels.ndjson")),
        metrics_every_s=3600,
    )
    service.run()
    with open_store(store_url) as store:
        stored = store.read_labels().set_index("tx_id")
    end = frame["ts"].max()
    times = frame.set_index("tx_id")["ts"]
    for row in labels.itertuples():
        if pd.notna(row.labelled_at) and row.labelled_at > end:
            assert row.tx_id not in stored.index  # the stream never reached it
            continue
        when = row.labelled_at if pd.notna(row.labelled_at) else times[row.tx_id]  # undated: at its transaction
        assert stored.loc[row.tx_id, "labelled_at"] == when and stored.loc[row.tx_id, "is_fraud"] == row.is_fraud
    assert set(stored["source"]) == {"file"}


def test_the_cli_stops_at_a_bad_labels_file_before_reading_the_stream(
    stream: Path, rules: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text("tx_id,is_fraud\n1,true\n2,yes please\n")
    store = tmp_path / "f.db"
    result = CliRunner().invoke(
        cli,
        ["detect", "--source", f"file:{stream}", "--rules", str(rules), "--labels", str(bad), "--quiet",
         "--store", f"sqlite:///{store}"],
    )
    assert result.exit_code == 1
    assert "is_fraud must be true/false or 1/0, got 'yes please' (line 3 of labels.csv)" in result.output
    assert not store.exists()


def test_after_a_restart_the_labels_a_snapshot_holds_are_skipped() -> None:
    at = pd.to_datetime(["2024-01-01T10:00", "2024-01-01T12:00", "2024-01-01T14:00"], utc=True)
    file = LabelsFile(pd.DataFrame({"tx_id": [1, 2, 3], "is_fraud": [True, True, False], "labelled_at": at,
                                    "fraud_pattern": None}))
    file.skip_until(at[1].value)  # the restored engine's watermark
    assert file.pending == 1 and file.due(pd.DataFrame({"tx_id": [], "ts": pd.to_datetime([], utc=True)})) is None
    batch = pd.DataFrame({"tx_id": [9], "ts": pd.to_datetime(["2024-01-01T15:00"], utc=True)})
    assert file.due(batch)["tx_id"].tolist() == [3]  # type: ignore[index]


def test_mixed_json_values_are_read_as_their_text(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text('{"tx_id": "a1", "is_fraud": true}\n{"tx_id": 7, "is_fraud": " 0 ", "fraud_pattern": "x"}\n'
                    '{"tx_id": 8.0, "is_fraud": 1, "labelled_at": "2024-01-01T10:00:00+02:00"}\n')
    read = read_labels_file(path)
    assert read["tx_id"].tolist() == ["a1", "7", "8"] and read["is_fraud"].tolist() == [True, False, True]
    assert read["fraud_pattern"].tolist() == [None, "x", None]
    assert read["labelled_at"].iloc[2] == pd.Timestamp("2024-01-01T08:00", tz="UTC")


def test_the_cli_applies_a_labels_file_and_reports_it(
    frame: pd.DataFrame, stream: Path, rules: Path, tmp_path: Path
) -> None:
    labels = labels_of(frame)
    released = labels[labels["labelled_at"].isna() | (labels["labelled_at"] <= frame["ts"].max())]
    store = f"sqlite:///{tmp_path / 'f.db'}"
    result = CliRunner().invoke(
        cli,
        ["detect", "--source", f"file:{stream}", "--rules", str(rules), "--quiet", "--store", store,
         "--labels", str(write_labels(labels, tmp_path / "labels.csv"))],
    )
    assert result.exit_code == 0, result.output
    joined = f"{len(released) - 1:,} labels joined (0 corrections), 0 reviews, {len(released):,} file labels"
    assert f"{joined}, 1 unjoined" in result.output
    with open_store(store) as opened:
        assert set(opened.read_labels()["source"]) == {"file"} and opened.count("labels") == len(released)
