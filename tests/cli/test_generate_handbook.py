"""``fraudstream generate --world handbook``: files that read back, and one clear line on bad
arguments (exit code 2, never a traceback)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from fraudstream.adapters.handbook import COLUMNS, HandbookAdapter
from fraudstream.cli.main import cli
from fraudstream.files import read_frames
from fraudstream.worlds import simulate


def run(*args: str):
    return CliRunner().invoke(cli, ["generate", *args])


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return simulate("handbook", rows=1000, seed=4)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".ndjson"])
def test_generate_writes_a_file_that_reads_back(tmp_path, expected, suffix):
    out = tmp_path / f"x{suffix}"
    result = run("--world", "handbook", "--rows", "1000", "--seed", "4", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    assert "wrote 1,000 transactions of world handbook (seed 4)" in result.output
    back = pd.concat(read_frames(out), ignore_index=True)
    pd.testing.assert_frame_equal(back, expected)


def test_generate_in_the_handbook_layout(tmp_path, expected):
    out = tmp_path / "x.csv"
    result = run("--world", "handbook", "--rows", "1000", "--seed", "4", "--schema", "handbook",
                 "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    back = pd.concat(read_frames(out), ignore_index=True)
    assert tuple(back.columns) == COLUMNS
    pd.testing.assert_frame_equal(HandbookAdapter().to_canonical(back), expected)


def test_generate_takes_world_parameters_and_days(tmp_path):
    out = tmp_path / "x.parquet"
    result = run("--world", "handbook", "--days", "3", "-p", "n_customers=50", "-p", "n_terminals=80",
                 "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    back = pd.concat(read_frames(out), ignore_index=True)
    assert back["customer_id"].max() < 50 and back["merchant_id"].max() < 80
    assert back["tx_time_days"].max() == 2


BAD = [
    (["--rows", "-5"], "--rows must be >= 0, got -5"),
    (["--rows", "abc"], "Invalid value for '--rows': 'abc' is not a valid integer"),
    (["--days", "0"], "--days must be > 0, got 0.0"),
    (["--world", "nope"], "unknown world 'nope'; choose one of: classroom, "),
    (["--out", "{tmp}/a_file/x.parquet"], "cannot write '{tmp}/a_file/x.parquet': folder"),
    (["--out", "{tmp}"], "Invalid value for '--out'"),
    (["--out", "{tmp}/x.xlsx"], "from its extension '.xlsx'; use one of .parquet"),
    (["-p", "bogus=1"], "world handbook has no parameter 'bogus'; allowed: card_compromise_days"),
    (["-p", "radius"], "--param must be KEY=VALUE, got 'radius'"),
    (["-p", "radius=abc"], "parameter radius must be float, got 'abc'"),
    (["-p", "radius=-1"], "world handbook: radius must be > 0, got -1.0"),
    (["--schema", "nope"], "unknown schema 'nope'"),
    (["--start", "someday"], "start must be an ISO date or time"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_arguments_give_one_line_and_exit_code_2(tmp_path, args, message):
    (tmp_path / "a_file").write_text("")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    out = ["--out", str(tmp_path / "ok.parquet")] if "--out" not in args else []
    result = run("--world", "handbook", "--rows", "10", *out, *args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message.replace("{tmp}", str(tmp_path)) in lines[0]


def test_the_installed_command_prints_one_line_on_stderr(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fraudstream", "generate", "--world", "handbook",
                           "--rows", "-1", "--out", str(tmp_path / "x.parquet")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr == "Error: --rows must be >= 0, got -1\n"
