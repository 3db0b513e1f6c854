"""``fraudstream train`` / ``fraudstream evaluate`` end to end on a tiny world, and bad arguments."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fraudstream.adapters import get_adapter
from fraudstream.cli import cli
from fraudstream.files import write_frames
from fraudstream.worlds import simulate

TINY = [
    "--world",
    "handbook",
    "--seed",
    "2",
    "--days",
    "24",
    "-p",
    "n_customers=300",
    "-p",
    "n_terminals=600",
    "--split",
    "temporal",
    "--train-days",
    "7",
    "--delay-days",
    "7",
    "--test-days",
    "5",
    "--k",
    "20",
]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_train_then_evaluate_writes_model_and_report(tmp_path):
    model, report = tmp_path / "model", tmp_path / "report"
    trained = run(
        "train",
        *TINY,
        "--features",
        "handbook",
        "--detector",
        "gbm",
        "-d",
        "n_estimators=40",
        "--threshold-budget",
        "20",
        "--out",
        str(model),
    )
    assert trained.exit_code == 0, trained.output
    assert "ap " in trained.stdout and "model saved to" in trained.stdout
    metadata = json.loads((model / "metadata.json").read_text())
    assert metadata["kind"] == "gbm" and metadata["params"]["n_estimators"] == 40
    assert metadata["extra"]["experiment"]["threshold"]["method"] == "alert_budget"
    evaluated = run("evaluate", "--model", str(model), "--report", str(report))
    assert evaluated.exit_code == 0, evaluated.output
    document = json.loads((report / "report.json").read_text())
    assert document["metrics"]["ap"] == pytest.approx(metadata["metrics"]["ap"])
    assert document["threshold"]["value"] == pytest.approx(metadata["threshold"])
    html = (report / "report.html").read_text()
    for png in document["files"]["figures"].values():
        assert (report / png).is_file() and png in html


def test_train_from_a_file_in_an_external_schema(tmp_path):
    frame = simulate("pyspark-demo", days=40, seed=1)
    path = tmp_path / "seed001.csv"
    write_frames([get_adapter("seed001").from_canonical(frame)], path)
    result = run(
        "train",
        "--data",
        str(path),
        "--schema",
        "seed001",
        "--features",
        "seed001",
        "--detector",
        "iforest:seed001",
        "--split",
        "temporal",
        "--train-days",
        "25",
        "--delay-days",
        "0",
        "--test-days",
        "14",
        "--out",
        str(tmp_path / "m"),
        "--report",
        str(tmp_path / "r"),
    )
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "r" / "report.json").read_text())
    assert document["context"]["simulated"] is False
    assert document["threshold"]["method"] == "detector"
    # seed 001's layout has no pattern column: every fraud counts under one name
    assert [p["pattern"] for p in document["per_pattern"]] == ["unlabelled"]


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--world", "nope", "--out", "x"],
        ["train", "--world", "handbook", "--split", "random", "--out", "x"],
        ["train", "--world", "handbook", "--split", "handbook", "--train-days", "3", "--out", "x"],
        ["train", "--world", "handbook", "--features", "magic", "--days", "3", "--out", "x"],
        [
            "train",
            "--world",
            "handbook",
            "--threshold-budget",
            "5",
            "--target-precision",
            "0.5",
            "--out",
            "x",
        ],
        ["train", "--world", "handbook", "--detector", "iforest:seed999", "--days", "3", "--out", "x"],
        ["train", "--out", "x"],
        ["evaluate", "--model", "missing-folder", "--report", "r"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("Error: ")
    assert not (tmp_path / "x").exists()


def test_help_lists_the_options():
    result = run("train", "--help")
    assert result.exit_code == 0
    for option in (
        "--world",
        "--data",
        "--schema",
        "--split",
        "--threshold-budget",
        "--target-precision",
        "--features",
        "--detector",
        "--out",
    ):
        assert option in result.output


def test_train_online_eval_streams_with_delayed_labels_and_saves(tmp_path):
    from fraudstream.detect import registry

    model = tmp_path / "online"
    trained = run("train", *TINY, "--features", "handbook", "--detector", "online", "--online-eval",
                  "--online-batch", "6h", "-d", "pos_weight=3", "--out", str(model))
    assert trained.exit_code == 0, trained.output
    assert "labels 7 days late (progressive validation)" in trained.stdout and "ap " in trained.stdout
    meta = registry.read_metadata(model)
    assert meta["extra"]["experiment"]["online_eval"] == {"label_delay_days": 7, "batch": "6h"}
    loaded = registry.load(model)
    assert loaded.kind == "online" and loaded.n_learned_ > 0 and loaded.pos_weight == 3
    refused = CliRunner().invoke(cli, ["train", *TINY, "--detector", "gbm", "--online-eval", "--out",
                                       str(tmp_path / "x")])
    assert refused.exit_code != 0 and "--online-eval needs --detector online, got gbm" in refused.output
