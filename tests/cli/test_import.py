"""``fraudstream import``: each supported layout on small generated files, rejects with line
numbers, idempotent re-import; SQLite always, PostgreSQL when it runs (required in CI)."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fraudstream.cli.main import cli
from fraudstream.store import open_store

PG = "postgresql://postgres@127.0.0.1:5432/test"


def _require_postgres() -> None:
    spec = importlib.util.spec_from_file_location("_root_conftest", Path(__file__).parents[1] / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.require_service("postgresql")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fraud.db'}"
        return
    _require_postgres()
    import psycopg

    schema = f"fs_import_{uuid.uuid4().hex[:10]}"
    yield f"{PG}?schema={schema}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def generate(tmp_path: Path, world: str, schema: str, rows: int, name: str) -> Path:
    out = tmp_path / name
    run(
        "generate",
        "--world",
        world,
        "--schema",
        schema,
        "--rows",
        str(rows),
        "--seed",
        "5",
        "--out",
        str(out),
        "--quiet",
    )
    return out


def import_(path: Path, url: str, *extra: str) -> str:
    return run("import", str(path), "--store", url, "--quiet", "--chunk-rows", "120", *extra)


def test_kaggle_file_maps_stores_profiles_and_reimports_nothing(tmp_path, url):
    path = generate(tmp_path, "sparkov", "kaggle", 400, "cards.csv")
    source = pd.read_csv(path)
    out = import_(path, url, "--rejects", str(tmp_path / "rejects.csv"))
    assert "400 rows read, 400 stored, 0 already stored, 0 rejected" in out
    with open_store(url) as store:
        stored = store.transactions(limit=1000, with_labels=True)
        assert sorted(stored["tx_id"]) == sorted(f"cards:{i}" for i in range(400))
        row = stored.set_index("tx_id").loc["cards:7"]
        assert (
            row["customer_id"] == source.loc[7, "cc_num"] and row["merchant_id"] == source.loc[7, "merchant"]
        )
        assert row["amount"] == source.loc[7, "amt"] and row["region"] == source.loc[7, "state"]
        assert row["city"] == source.loc[7, "city"] and row["trans_num"] == source.loc[7, "trans_num"]
        assert row["ts"] == pd.Timestamp(source.loc[7, "trans_date_trans_time"], tz="UTC")
        assert int(stored["is_fraud"].sum()) == int(source["is_fraud"].sum())
        profiles = store.profiles()
        assert len(profiles) == source["cc_num"].nunique()
        point = store.read_checkpoint("import:cards.csv")
        assert {k: point[k] for k in ("rows_read", "last_line")} == {"rows_read": 400, "last_line": 401}
        assert point["file"] == {"bytes": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns}
    again = import_(path, url)
    assert "resumed after the first 400 rows" in again and "400 rows read, 0 stored, 400 already stored" in again
    read_again = import_(path, url, "--no-resume")
    assert "resumed" not in read_again and "400 rows read, 0 stored, 400 already stored" in read_again
    with open_store(url) as store:
        assert store.count("transactions") == 400 and store.count("labels") == 400
    assert not (tmp_path / "rejects.csv").exists()


def _import_checkpoint(url: str, name: str) -> dict | None:
    try:
        with open_store(url) as store:
            return store.read_checkpoint(name)
    except Exception:  # the file is being created or migrated: not yet
        return None


def test_an_import_killed_midway_resumes_after_its_last_commit(tmp_path):
    rows = 60_000
    path = generate(tmp_path, "sparkov", "kaggle", rows, "big.csv")
    url = f"sqlite:///{tmp_path / 'fraud.db'}"
    command = [sys.executable, "-m", "fraudstream", "import", str(path), "--store", url, "--quiet",
               "--chunk-rows", "600", "--rejects", str(tmp_path / "rejects.csv")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _import_checkpoint(url, "import:big.csv"):
        assert process.poll() is None, process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "no chunk committed in 120 s"
        time.sleep(0.02)
    assert process.poll() is None, "the import ended before it could be killed"
    process.kill()
    process.wait()
    process.stderr.close()  # type: ignore[union-attr]
    committed = _import_checkpoint(url, "import:big.csv")["rows_read"]
    assert 0 < committed < rows

    out = run("import", str(path), "--store", url, "--quiet", "--chunk-rows", "600")
    assert f"resumed after the first {committed:,} rows" in out
    assert f"{rows:,} rows read, {rows - committed:,} stored, {committed:,} already stored, 0 rejected" in out
    clean = f"sqlite:///{tmp_path / 'clean.db'}"
    run("import", str(path), "--store", clean, "--quiet", "--chunk-rows", "6000")
    with open_store(url) as resumed, open_store(clean) as whole:
        assert resumed.count("transactions") == whole.count("transactions") == rows
        assert resumed.count("labels") == rows
        columns = ["customer_id", "spend_30d", "tx_count_30d", "most_common_category", "last_location"]
        pd.testing.assert_frame_equal(resumed.profiles()[columns], whole.profiles()[columns])


def test_handbook_csv_and_parquet(tmp_path, url):
    csv_path = generate(tmp_path, "handbook", "handbook", 300, "hb.csv")
    parquet_path = generate(tmp_path, "handbook", "handbook", 300, "hb.parquet")
    assert "300 stored" in import_(csv_path, url)
    assert "0 stored, 300 already stored" in import_(parquet_path, url)  # same TRANSACTION_IDs
    source = pd.read_csv(csv_path)
    with open_store(url) as store:
        stored = store.transactions(limit=1000, with_labels=True)
        assert sorted(stored["tx_id"]) == sorted(source["TRANSACTION_ID"])
        assert stored["amount"].sum() == pytest.approx(source["TX_AMOUNT"].sum())
        assert int(stored["is_fraud"].sum()) == int(source["TX_FRAUD"].sum())


def test_ulb_like_and_paysim_like_csv(tmp_path, url):
    rng = np.random.default_rng(1)
    n = 250
    ulb = pd.DataFrame(
        {
            "Time": np.sort(rng.uniform(0, 172_000, n)).round(0),
            **{f"V{i}": rng.normal(size=n).round(6) for i in range(1, 29)},
            "Amount": rng.gamma(2, 40, n).round(2),
            "Class": (rng.random(n) < 0.05).astype(int),
        }
    )
    ulb.to_csv(tmp_path / "creditcard.csv", index=False)
    paysim = pd.DataFrame(
        {
            "step": np.sort(rng.integers(1, 40, n)),
            "type": rng.choice(["PAYMENT", "TRANSFER"], n),
            "amount": rng.gamma(2, 500, n).round(2),
            "nameOrig": [f"C{i % 60}" for i in range(n)],
            "oldbalanceOrg": 1000.0,
            "newbalanceOrig": 0.0,
            "nameDest": [f"M{i % 17}" for i in range(n)],
            "oldbalanceDest": 0.0,
            "newbalanceDest": 0.0,
            "isFraud": (rng.random(n) < 0.1).astype(int),
            "isFlaggedFraud": 0,
        }
    )
    paysim.to_csv(tmp_path / "paysim.csv", index=False)
    assert "(ulb)" in import_(tmp_path / "creditcard.csv", url)
    assert "(paysim)" in import_(tmp_path / "paysim.csv", url)
    with open_store(url) as store:
        assert store.count("transactions") == 2 * n
        stored = store.transactions(limit=1000, with_labels=True).set_index("tx_id")
        assert stored.loc["creditcard:3", "V5"] == ulb.loc[3, "V5"]
        assert stored.loc["creditcard:3", "amount"] == ulb.loc[3, "Amount"]
        assert stored.loc["paysim:9", "customer_id"] == paysim.loc[9, "nameOrig"]
        assert stored.loc["paysim:9", "category"] == paysim.loc[9, "type"]
        assert stored.loc["paysim:9", "ts"] == pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(
            hours=int(paysim.loc[9, "step"])
        )
        assert int(stored["is_fraud"].sum()) == int(ulb["Class"].sum() + paysim["isFraud"].sum())
        assert len(store.profiles()) == 1 + 60  # ULB has one "unknown" customer


def test_malformed_rows_are_rejected_with_their_line_numbers(tmp_path, url):
    path = generate(tmp_path, "sparkov", "kaggle", 300, "bad.csv")
    lines = path.read_text().splitlines()
    header = next(csv.reader([lines[0]]))
    cc, amt = header.index("cc_num"), header.index("amt")

    def edit(line_no: int, column: int, value: str) -> None:
        fields = next(csv.reader([lines[line_no - 1]]))
        fields[column] = value
        lines[line_no - 1] = ",".join(f'"{f}"' for f in fields)

    edit(3, cc, "")  # missing cc_num
    edit(5, amt, "abc")  # bad amount
    lines[6] = lines[6].replace(',"', ',"broken ', 1).replace('",', ",", 1)  # line 7: a quote left open
    edit(130, cc, "")  # after the broken row, in the second chunk: line numbers still right
    path.write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "bad.rejects.csv"
    out = import_(path, url, "--rejects", str(rejects))
    with open(rejects, newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_line = {int(r["line"]): r for r in rows}
    assert sorted(by_line)[:2] == [3, 5] and 7 in by_line and 130 in by_line
    assert by_line[3]["reason"] == "missing cc_num" and by_line[3]["cc_num"] == ""
    assert by_line[5]["reason"].startswith("kaggle: amt must be a number >= 0, got 'abc' (line 5)")
    assert by_line[5]["amt"] == "abc" and by_line[5]["merchant"] != ""
    assert by_line[7]["reason"].startswith("malformed CSV row")
    assert by_line[130]["reason"] == "missing cc_num"
    swallowed = len(by_line) - 4  # the open quote may swallow the following line(s) into line 7's row
    assert f"{len(rows)} rejected" in out
    with open_store(url) as store:
        assert store.count("transactions") == 300 - len(rows) - swallowed
        ids = set(store.transactions(limit=1000)["tx_id"])
    # line n holds data row n - 2: lines 3, 5 and 130 were rejected, their neighbours stored
    assert {"bad:0", "bad:2", "bad:127", "bad:129"} <= ids
    assert not {"bad:1", "bad:3", "bad:5", "bad:128"} & ids


def test_bad_arguments_are_one_line_errors(tmp_path):
    missing = CliRunner().invoke(cli, ["import", str(tmp_path / "nope.csv"), "--store", "sqlite:///x.db"])
    assert missing.exit_code == 2 and "no such file" in missing.output
    (tmp_path / "odd.csv").write_text("a,b\n1,2\n")
    unknown = CliRunner().invoke(
        cli, ["import", str(tmp_path / "odd.csv"), "--store", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert unknown.exit_code == 2 and "match no known schema" in unknown.output
