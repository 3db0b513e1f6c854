"""PostgreSQL's write path: partitions made ahead by the keeper, COPY bodies encoded ahead, and
small upserts sent as ``INSERT ... VALUES`` — each must store exactly what the plain path stores."""

from __future__ import annotations

import time

import pandas as pd
import psycopg
import pytest

from fraudstream.errors import ConfigError
from fraudstream.service.bundle import Bundle, StoreRows
from fraudstream.store import open_store
from fraudstream.store import postgres as pg_store
from tests.store.conftest import drop_schema
from tests.support import PG_ADMIN, pg_indexes, wait_until


def _month_frame(make_frame, month: str, ids: list[int]) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    ts = pd.date_range(f"{month}-03T10:00", periods=len(ids), freq="h", tz="UTC")
    return make_frame(len(ids), tx_id=ids, ts=ts)


def test_the_keeper_makes_the_next_months_partitions_with_every_index(pg_schema, make_frame) -> None:
    url = f"{PG_ADMIN}?schema={pg_schema}"
    with open_store(url) as store:
        store.keep_partitions_ahead(2)
        store.write_transactions(_month_frame(make_frame, "2024-01", [1, 2]))
        wanted = [f"transactions_p20240{m}" for m in (1, 2, 3)]
        assert wait_until(lambda: store.partitions("transactions") == wanted)
        assert wait_until(lambda: store.partitions("decisions") == [])  # only tables written to
        store.write_transactions(_month_frame(make_frame, "2024-02", [3]))  # into the premade one
        assert wait_until(lambda: store.partitions("transactions")[-1] == "transactions_p202404")
        assert store.count("transactions") == 3
    with psycopg.connect(PG_ADMIN) as conn:
        made, parent = (pg_indexes(conn, pg_schema, t) for t in ("transactions_p202404", "transactions"))
        assert made == parent != []
        bounds = conn.execute(
            "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = 'transactions_p202403'",
            (pg_schema,),
        ).fetchone()
        assert bounds == ("FOR VALUES FROM ('2024-03-01 00:00:00+00') TO ('2024-04-01 00:00:00+00')",)


def test_the_keeper_gives_way_to_a_lock_and_catches_up_after_the_next_write(pg_schema, make_frame) -> None:
    url = f"{PG_ADMIN}?schema={pg_schema}"
    with open_store(url) as store:
        store.write_transactions(_month_frame(make_frame, "2024-01", [1]))
        store.keep_partitions_ahead(1)
        with psycopg.connect(url.split("?")[0]) as other:
            other.execute(f"LOCK TABLE {pg_schema}.transactions IN ACCESS EXCLUSIVE MODE")
            store._keeper.written("transactions", pd.Timestamp("2024-01-01", tz="UTC"))
            time.sleep(0.5)  # the keeper tried, timed out on the lock and gave way
            assert store._keeper.made == set()
        # the lock is gone: the next write wakes the keeper, which makes February then
        store.write_transactions(_month_frame(make_frame, "2024-01", [2]))
        assert wait_until(lambda: store.partitions("transactions") == ["transactions_p202401", "transactions_p202402"])


def test_writes_racing_the_keeper_store_every_row_once(pg_schema, make_frame) -> None:
    """A writer crossing a month every write, the keeper making the months ahead meanwhile: the
    advisory lock on each partition's name keeps them from making one twice."""
    url = f"{PG_ADMIN}?schema={pg_schema}"
    months = pd.date_range("2024-01-01", periods=18, freq="MS", tz="UTC")
    with open_store(url) as store:
        store.keep_partitions_ahead(3)
        for n, month in enumerate(months):
            ids = [n * 10 + k for k in range(5)]
            frame = make_frame(5, tx_id=ids, ts=month + pd.to_timedelta(range(5), unit="D"))
            store.write_transactions(frame, checkpoint=("race", n))
        assert store.count("transactions") == 90
        assert store.read_checkpoint("race") == 17
        assert store.transactions()["tx_id"].tolist() == [i for n in range(18) for i in range(n * 10, n * 10 + 5)]
        made = store.partitions("transactions")
        assert made[:18] == [f"transactions_p{m:%Y%m}" for m in months] and len(made) == len(set(made))


def test_close_stops_the_keeper(pg_schema, make_frame) -> None:
    store = open_store(f"{PG_ADMIN}?schema={pg_schema}")
    store.keep_partitions_ahead(1)
    keeper = store._keeper
    store.write_transactions(_month_frame(make_frame, "2024-01", [1]))
    store.close()
    assert not keeper._thread.is_alive()


@pytest.mark.parametrize("attach_min_rows", [0, 1_000_000])
def test_a_new_month_is_made_either_way_with_the_same_rows(pg_schema, make_frame, monkeypatch, attach_min_rows) -> None:
    """Many rows of a new month: loaded into a plain table, then attached; few: the partition is
    attached empty and the rows go through the parent. Same partitions, same rows."""
    monkeypatch.setattr(pg_store, "ATTACH_MIN_ROWS", attach_min_rows)
    with open_store(f"{PG_ADMIN}?schema={pg_schema}") as store:
        frame = make_frame(4, ts=pd.to_datetime(["2024-01-05", "2024-02-06", "2024-02-07", "2024-03-01"], utc=True))
        assert store.write_transactions(frame) == 4
        assert store.partitions("transactions") == [f"transactions_p20240{m}" for m in (1, 2, 3)]
        assert store.transactions()["tx_id"].tolist() == [1, 2, 3, 4]


def test_rows_encoded_ahead_are_stored_as_rows_encoded_in_place(pg_schema, monkeypatch) -> None:
    tx = pd.DataFrame({
        "tx_id": [1, 2, 3], "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01"], utc=True),
        "customer_id": [7, 7, 8], "merchant_id": ["M1", "M2", "M3"], "amount": [5.0, 9.5, 1.0],
        "category": ["food", None, "travel"], "lat": [1.5, None, 2.5],
    })
    decisions = pd.DataFrame({
        "tx_id": [1, 2, 3], "ts": tx["ts"], "score": [0.1, 0.9, 0.5], "verdict": ["ok", "fraud", "ok"],
        "model_version": ["v1"] * 3, "reasons": ['{"amount": 0.4}', '{"é": 1}', None],
    })
    encoded_in_place: list[tuple[str, ...]] = []  # the columns of each COPY encoded in the writing thread
    encode_parts = pg_store.pgcopy.encode_parts

    def spy(rows, kinds):  # type: ignore[no-untyped-def]
        encoded_in_place.append(tuple(rows.column_names))
        return encode_parts(rows, kinds)

    monkeypatch.setattr(pg_store.pgcopy, "encode_parts", spy)
    stored = []
    for ahead in (True, False):
        drop_schema(pg_schema)  # each way into a fresh store (the fixture drops the last one)
        with open_store(f"{PG_ADMIN}?schema={pg_schema}") as store:
            if not ahead:
                store.encode_ahead = lambda table, rows: None  # type: ignore[method-assign]
            rows = StoreRows.of(Bundle(tx, decisions, checkpoint=("detect", 3)), label_source="stream")
            encoded_in_place.clear()
            rows.write(store)
            assert ("tx_id", "ts") in encoded_in_place  # tx_keys (sorted in the write) are encoded there
            wide = [c for c in encoded_in_place if "amount" in c or "verdict" in c]  # transactions, decisions
            assert len(wide) == (0 if ahead else 2)
            again = StoreRows.of(Bundle(tx.iloc[1:], decisions.iloc[1:]), label_source="stream")
            again.write(store)  # stored already: the keys path filters them, the body is encoded anew
            stored.append((store.transactions(), store.decisions().drop(columns=["decided_at"])))
            assert store._encoded == {}
    pd.testing.assert_frame_equal(stored[0][0], stored[1][0])
    pd.testing.assert_frame_equal(stored[0][1], stored[1][1])
    assert stored[0][1]["reasons"].tolist()[:2] == [{"amount": 0.4}, {"é": 1}]


@pytest.mark.parametrize("alerts", [3, pg_store.SMALL_UPSERT_ROWS + 4])
def test_upserts_small_and_large_update_the_same_way(store, make_frame, alerts) -> None:
    """A few rows go in as ``INSERT ... VALUES`` on PostgreSQL, more through a staging table."""
    store.write_transactions(make_frame(alerts))
    frame = pd.DataFrame({
        "tx_id": range(1, alerts + 1), "ts": make_frame(alerts)["ts"], "kind": "rule", "customer_id": "1",
        "severity": "high", "score": 0.9, "message": "big", "details": [{"n": i, "why": "ü"} for i in range(alerts)],
    })
    store.write_alerts(frame)
    store.write_alerts(frame.assign(status="confirmed", details=[{"n": -i} for i in range(alerts)]))
    got = store.alerts().sort_values("tx_id")
    assert got["status"].tolist() == ["confirmed"] * alerts
    assert got["details"].tolist() == [{"n": -i} for i in range(alerts)]
    store.checkpoint("small", {"at": 1})
    store.checkpoint("small", {"at": 2})
    assert store.read_checkpoint("small") == {"at": 2}


def _bounds(conn, schema: str, name: str) -> str:  # type: ignore[no-untyped-def]
    return conn.execute(
        "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    ).fetchone()[0]


def test_partitions_may_span_a_year_and_the_span_is_the_databases(pg_schema, make_frame) -> None:
    url = f"{PG_ADMIN}?schema={pg_schema}"
    ts = pd.to_datetime(["2024-01-05 00:00", "2024-12-31 23:59", "2025-03-01 00:00"], utc=True)
    with open_store(f"{url}&partition_months=12") as store:
        assert store.partition_months == 12
        store.write_transactions(make_frame(3, ts=ts))
        decisions = pd.DataFrame({"tx_id": [1, 2, 3], "ts": ts, "score": 0.5, "verdict": "ok", "model_version": "v"})
        store.write_decisions(decisions)
        assert store.partitions("transactions") == ["transactions_p202401", "transactions_p202501"]
        assert store.partitions("decisions") == ["decisions_p202401", "decisions_p202501"]
        assert store.partitions("labels") == ["labels_p202401", "labels_p202501"]
        store.keep_partitions_ahead(1)
        store.write_transactions(make_frame(1, tx_id=[4], ts=pd.to_datetime(["2025-06-01"], utc=True)))
        assert wait_until(lambda: store.partitions("transactions")[-1] == "transactions_p202601")
        assert store.drop_older_than(1, now="2024-12-31") == []  # the 2024 partition ends 2025-01-01
        assert store.drop_older_than(1, now="2025-01-03") == ["transactions_p202401", "decisions_p202401"]
        assert store.count("transactions") == 2
    with psycopg.connect(PG_ADMIN) as conn:
        assert _bounds(conn, pg_schema, "transactions_p202501") == (
            "FOR VALUES FROM ('2025-01-01 00:00:00+00') TO ('2026-01-01 00:00:00+00')"
        )
    with open_store(url) as store:  # the span is the database's, whatever the URL leaves out
        assert store.partition_months == 12
    with pytest.raises(ConfigError, match=r"partition_months=3 asked, but .* partitioned by 12 month"):
        open_store(f"{url}&partition_months=3")


def test_a_database_partitioned_before_the_span_was_recorded_spans_a_month(pg_schema, make_frame) -> None:
    url = f"{PG_ADMIN}?schema={pg_schema}"
    with open_store(url) as store:
        store.write_transactions(make_frame(2, ts=pd.to_datetime(["2024-01-05", "2024-02-05"], utc=True)))
        store._execute("COMMENT ON TABLE transactions IS NULL")  # as an older fraudstream left it
    with open_store(url) as store:
        assert store.partition_months == 1
    with pytest.raises(ConfigError, match="partitioned by 1 month"):
        open_store(f"{url}&partition_months=12")
    with open_store(f"{url}&partition_months=1") as store:
        assert store.partitions("transactions") == ["transactions_p202401", "transactions_p202402"]


def test_a_bad_partition_span_names_the_parameter_the_value_and_what_is_allowed(pg_schema) -> None:
    with pytest.raises(ConfigError, match=r"partition_months must be one of 1, 2, 3, 4, 6, 12 .* got '7'"):
        open_store(f"{PG_ADMIN}?schema={pg_schema}&partition_months=7")


def test_an_import_into_quarterly_partitions_stores_every_row_once(pg_schema, tmp_path) -> None:
    from fraudstream.store.importer import import_file
    from tests.store.test_importer import kaggle_rows

    rows = kaggle_rows(3_000)
    path = tmp_path / "cards.csv"
    rows.to_csv(path, index=False)
    with open_store(f"{PG_ADMIN}?schema={pg_schema}&partition_months=3") as store:
        report = import_file(path, store, chunk_rows=700)
        again = import_file(path, store, chunk_rows=700, resume=False)
        assert (report.stored, again.stored, again.already_stored) == (3_000, 0, 3_000)
        assert store.count("transactions") == store.count("labels") == 3_000
        stamps = pd.to_datetime(rows["trans_date_trans_time"])
        months = sorted({f"{t:%Y}{(t.month - 1) // 3 * 3 + 1:02d}" for t in stamps})  # quarters' first months
        assert store.partitions("transactions") == [f"transactions_p{m}" for m in months]


def test_partition_months_on_a_sqlite_url_is_refused_not_ignored(tmp_path) -> None:
    with pytest.raises(ConfigError, match="SQLite takes only timeout=SECONDS, not partition_months"):
        open_store(f"sqlite:///{tmp_path / 'x.db'}?partition_months=12")
    assert not (tmp_path / "x.db").exists()
