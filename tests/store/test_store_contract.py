"""The store contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstream.errors import InvalidRecord, StoreError
from fraudstream.store import open_store
from fraudstream.store.migrations import LATEST


def cards(make_frame, n=6, **overrides):  # type: ignore[no-untyped-def]
    frame = make_frame(n, **overrides)
    frame["ts"] = pd.date_range("2024-01-20", periods=n, freq="7D", tz="UTC")  # spans three months
    frame["customer_id"] = np.array([1, 2] * (n // 2) + [1] * (n % 2), dtype=np.int64)
    frame["category"] = ["food", "gas", "food", "toys", "food", "gas"][:n] + ["food"] * max(0, n - 6)
    frame["region"] = "TX"
    frame["job"] = [f"job {i}" for i in range(n)]
    frame["zip"] = np.arange(n, dtype=np.int64) + 75000
    frame["is_fraud"] = np.arange(n) % 3 == 0
    frame["fraud_pattern"] = np.where(frame["is_fraud"], "card_burst", None).astype(object)
    return frame


def test_transactions_round_trip_with_attrs_and_labels_apart(store, make_frame):
    frame = cards(make_frame)
    assert store.write_transactions(frame) == len(frame)
    back = store.transactions(limit=100)
    assert "is_fraud" not in back.columns
    pd.testing.assert_series_equal(back["tx_id"], frame["tx_id"], check_names=False)
    pd.testing.assert_series_equal(back["ts"], frame["ts"].astype("datetime64[ns, UTC]"), check_names=False)
    assert back["amount"].tolist() == frame["amount"].tolist()
    assert back["merchant_id"].tolist() == frame["merchant_id"].tolist()
    assert back["job"].tolist() == frame["job"].tolist() and back["zip"].tolist() == frame["zip"].tolist()
    labelled = store.transactions(limit=100, with_labels=True)
    assert labelled["is_fraud"].tolist() == frame["is_fraud"].tolist()
    assert labelled["fraud_pattern"].tolist() == frame["fraud_pattern"].tolist()


def test_writing_the_same_rows_twice_stores_them_once(store, make_frame):
    frame = cards(make_frame)
    assert store.write_transactions(frame) == 6
    assert store.write_transactions(frame) == 0
    twice_in_one = pd.concat([frame, frame], ignore_index=True)
    assert store.write_transactions(twice_in_one) == 0
    assert store.count("transactions") == 6 and store.count("labels") == 6


def test_tx_id_is_unique_across_partitions(store, make_frame):
    frame = cards(make_frame, n=2)
    store.write_transactions(frame)
    moved = frame.assign(ts=frame["ts"] + pd.Timedelta(days=120), amount=[99.0, 98.0])  # other months
    assert store.write_transactions(moved) == 0
    assert store.transactions()["amount"].tolist() == frame["amount"].tolist()


def test_decisions_and_alerts_round_trip_and_replace(store, make_frame):
    frame = cards(make_frame)
    store.write_transactions(frame)
    decisions = pd.DataFrame(
        {
            "tx_id": [1, 2],
            "score": [0.1, 0.9],
            "verdict": ["legit", "fraud"],
            "model_version": ["gbm-1", "gbm-1"],
            "reasons": [{"amount": 0.7}, None],
            "decided_at": pd.to_datetime(["2024-05-01", "2024-05-01"], utc=True),
        }
    )
    assert store.write_decisions(decisions) == 2
    store.write_decisions(decisions.assign(score=[0.2, 0.95]))  # same (tx_id, model_version): replaced
    store.write_decisions(decisions.assign(model_version="gbm-2"))
    back = store.decisions()
    assert len(back) == 4
    one = back[back["model_version"] == "gbm-1"].sort_values("tx_id")
    assert one["score"].tolist() == [0.2, 0.95] and one["reasons"].tolist() == [{"amount": 0.7}, None]
    assert one["ts"].tolist() == frame["ts"].iloc[:2].tolist()  # event time looked up from the store
    alerts = pd.DataFrame(
        {
            "tx_id": [2],
            "kind": ["velocity"],
            "customer_id": [2],
            "severity": ["high"],
            "score": [0.9],
            "message": ["3 cards in 1 min"],
            "details": [{"n": 3}],
        }
    )
    store.write_alerts(alerts)
    store.write_alerts(alerts.assign(status="closed"))
    got = store.alerts()
    assert len(got) == 1 and got.loc[0, "status"] == "closed" and got.loc[0, "details"] == {"n": 3}
    with pytest.raises(StoreError, match="tx_id '404' is not a stored transaction"):
        store.write_decisions(decisions.drop(columns="decided_at").assign(tx_id=[404, 405]))


def test_labels_keep_history_and_latest_wins(store, make_frame):
    store.write_transactions(cards(make_frame).drop(columns=["is_fraud", "fraud_pattern"]))
    t1, t2 = pd.Timestamp("2024-06-01", tz="UTC"), pd.Timestamp("2024-06-02", tz="UTC")
    store.write_labels(
        pd.DataFrame(
            {
                "tx_id": [1, 2],
                "is_fraud": [True, False],
                "source": ["stream", "stream"],
                "labelled_at": [t1, t1],
            }
        )
    )
    store.write_labels(
        pd.DataFrame(
            {
                "tx_id": [1],
                "is_fraud": [False],
                "source": ["review"],
                "labelled_at": [t2],
                "fraud_pattern": [None],
            }
        )
    )
    store.write_labels(
        pd.DataFrame({"tx_id": [1], "is_fraud": [False], "source": ["review"], "labelled_at": [t2]})
    )
    history = store.read_labels()
    assert len(history) == 3
    latest = store.read_labels(latest_only=True).set_index("tx_id")["is_fraud"].to_dict()
    assert latest == {1: False, 2: False}
    assert store.read_labels(since=t1)["tx_id"].tolist() == [1]
    assert store.transactions(with_labels=True).set_index("tx_id")["is_fraud"].to_dict()[1] is False
    with pytest.raises(StoreError, match="source must be one of stream, review, file"):
        store.write_labels(pd.DataFrame({"tx_id": [1], "is_fraud": [True], "source": ["guess"]}))


def test_transactions_query_by_time_customer_and_pages(store, make_frame):
    frame = cards(make_frame)
    store.write_transactions(frame)
    window = store.transactions(start="2024-01-27", end="2024-02-17")
    assert window["tx_id"].tolist() == [2, 3, 4]
    assert store.transactions(customer_id=2)["tx_id"].tolist() == [2, 4, 6]
    pages = [store.transactions(limit=4, offset=0), store.transactions(limit=4, offset=4)]
    assert [p["tx_id"].tolist() for p in pages] == [[1, 2, 3, 4], [5, 6]]


def test_models_metrics_and_checkpoints(store):
    store.register_model("gbm", "1", "/models/gbm-1.txt", {"auc": 0.91}, created_at="2024-01-01T00:00Z")
    store.register_model("gbm", "2", "/models/gbm-2.txt", {"auc": 0.93}, created_at="2024-02-01T00:00Z")
    store.register_model("gbm", "2", "/models/gbm-2b.txt", {"auc": 0.94}, created_at="2024-02-01T00:00Z")
    models = store.models("gbm")
    assert models["version"].tolist() == ["1", "2"] and models.loc[1, "metadata"] == {"auc": 0.94}
    at = pd.Timestamp("2024-03-01T12:00", tz="UTC")
    points = pd.DataFrame(
        {
            "name": ["precision", "precision"],
            "value": [0.8, 0.7],
            "at": [at, at],
            "labels": [{"model": "gbm", "k": 100}, {"k": 100, "model": "rules"}],
        }
    )
    assert store.write_metrics(points) == 2
    store.write_metrics(points)  # same (name, at, labels): stored once
    assert store.metrics("precision")["value"].tolist() == [0.8, 0.7]
    assert store.read_checkpoint("stream", default="none") == "none"
    store.checkpoint("stream", {"offset": 42})
    store.checkpoint("stream", {"offset": 43})
    assert store.read_checkpoint("stream") == {"offset": 43}


def test_checkpoint_commits_with_its_data_or_not_at_all(store, make_frame):
    frame = cards(make_frame)
    store.write_transactions(frame.iloc[:3], checkpoint=("feed", 3))
    assert store.read_checkpoint("feed") == 3 and store.count("transactions") == 3
    with pytest.raises(RuntimeError), store.batch():
        store.write_transactions(frame.iloc[3:])
        store.checkpoint("feed", 6)
        raise RuntimeError("crash between data and commit")
    assert store.read_checkpoint("feed") == 3 and store.count("transactions") == 3
    with pytest.raises(InvalidRecord):  # the data is refused: the checkpoint does not move either
        store.write_transactions(frame.iloc[3:].assign(amount=-1.0), checkpoint=("feed", 6))
    assert store.read_checkpoint("feed") == 3
    with store.batch():
        store.write_transactions(frame.iloc[3:])
        store.checkpoint("feed", 6)
    assert store.read_checkpoint("feed") == 6 and store.count("transactions") == 6


def test_migrations_from_empty_and_rerun(store, reopen):
    assert store.schema_version() == LATEST
    assert store.migrate() == []
    with reopen() as again:
        assert again.schema_version() == LATEST and again.count("schema_version") == LATEST


def test_newer_database_than_the_code_is_refused(store, reopen):
    store._execute("INSERT INTO schema_version (version, description) VALUES (99, 'from the future')")
    with pytest.raises(
        StoreError, match=f"schema version 99 but this fraudstream knows versions up to {LATEST}"
    ):
        reopen()


def test_retention_drops_whole_old_months(store, make_frame):
    frame = cards(make_frame)  # 2024-01-20 .. 2024-02-24
    store.write_transactions(frame)
    store.write_decisions(
        pd.DataFrame(
            {"tx_id": [1, 6], "score": [0.5, 0.5], "verdict": ["legit", "legit"], "model_version": ["m", "m"]}
        )
    )
    dropped = store.drop_older_than(10, now="2024-02-20")  # cutoff 2024-02-10: January has ended
    assert any(d.startswith("transactions") for d in dropped) and any(
        d.startswith("decisions") for d in dropped
    )
    assert store.transactions()["tx_id"].tolist() == [3, 4, 5, 6]
    assert store.decisions()["tx_id"].tolist() == [6]
    assert store.write_transactions(frame) == 2  # the dropped ids can be stored again


def test_profiles_upsert_keeps_the_newest(store):
    t = pd.Timestamp("2024-01-01", tz="UTC")
    profiles = pd.DataFrame(
        {
            "customer_id": ["1", "2"],
            "latest_ts": [t, t],
            "spend_30d": [10.0, 5.0],
            "tx_count_30d": [2, 1],
            "most_common_category": ["food", None],
            "last_location": ["Austin, TX", None],
            "last_merchant": ["M1", "M2"],
        }
    )
    assert store.upsert_profiles(profiles) == 2
    older = profiles.assign(latest_ts=t - pd.Timedelta(days=1), spend_30d=[1.0, 1.0])
    newer = profiles.iloc[:1].assign(latest_ts=t + pd.Timedelta(days=1), spend_30d=[99.0])
    store.upsert_profiles(older)
    store.upsert_profiles(newer)
    back = store.profiles()
    assert back["spend_30d"].tolist() == [99.0, 5.0]
    assert back.loc[0, "last_location"] == "Austin, TX" and back.loc[1, "most_common_category"] is None


def test_partitions_are_created_per_month(pg_schema, make_frame):
    from fraudstream.store.postgres import PostgresStore

    with open_store(f"postgresql://postgres@127.0.0.1:5432/test?schema={pg_schema}") as store:
        assert isinstance(store, PostgresStore) and store.partitioning == "native"
        store.write_transactions(cards(make_frame))
        assert store.partitions("transactions") == ["transactions_p202401", "transactions_p202402"]
        store.drop_older_than(0, now="2024-02-01")
        assert store.partitions("transactions") == ["transactions_p202402"]


def test_a_new_sqlite_file_has_16_kib_pages_and_an_old_one_keeps_its_own(tmp_path):
    import sqlite3

    from fraudstream.store.sqlite import CHECKPOINT_WAL_BYTES

    old = tmp_path / "old.db"
    sqlite3.connect(old).execute("CREATE TABLE kept (x)").connection.close()  # SQLite's 4 KiB pages
    for path, page in ((tmp_path / "new.db", 16384), (old, 4096)):
        with open_store(f"sqlite:///{path}") as store:
            settings = [store.conn.execute(f"PRAGMA {name}").fetchone()[0]
                        for name in ("page_size", "wal_autocheckpoint", "journal_mode")]
            assert settings == [page, CHECKPOINT_WAL_BYTES // page, "wal"]
            assert store.count("transactions") == 0  # migrated either way


def test_a_store_of_schema_5_gets_its_jsonb_reasons_turned_into_json(pg_schema, make_frame):
    url = f"postgresql://postgres@127.0.0.1:5432/test?schema={pg_schema}"

    def reasons_type(store) -> str:  # type: ignore[no-untyped-def]
        return store._query(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'decisions' AND column_name = 'reasons'"
        )[0][0]

    frame = cards(make_frame, n=2)
    decisions = pd.DataFrame({"tx_id": frame["tx_id"], "ts": frame["ts"], "model_version": "v1", "score": 0.5,
                              "verdict": "legit", "reasons": [[{"name": "amount", "weight": 0.5}], []]})
    with open_store(url) as store:
        assert reasons_type(store) == "json" and store.schema_version() == LATEST
        store.write_transactions(frame)
        store.write_decisions(decisions)
        with store.batch():  # as a store written by version 5 left it
            store._execute("ALTER TABLE decisions ALTER COLUMN reasons TYPE JSONB USING reasons::jsonb")
            store._execute("DELETE FROM schema_version WHERE version >= 6")
    with open_store(url) as store:  # migrations 6 and on run on open
        assert reasons_type(store) == "json" and store.schema_version() == LATEST
        assert store.decisions()["reasons"].tolist() == [[{"name": "amount", "weight": 0.5}], []]


def test_a_store_of_schema_6_loses_its_amount_index(store_url, make_frame):
    def amount_indexes(store) -> int:  # type: ignore[no-untyped-def]
        sql = (
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'transactions_amount_idx'"
            if store.dialect == "sqlite"
            else "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname = 'transactions_amount_idx'"
        )
        return int(store._query(sql)[0][0])

    with open_store(store_url) as store:
        assert amount_indexes(store) == 0 and store.schema_version() == LATEST
        store.write_transactions(cards(make_frame, n=3))
        with store.batch():  # as a store written by version 6 left it
            store._execute("CREATE INDEX transactions_amount_idx ON transactions (amount)")
            store._execute("DELETE FROM schema_version WHERE version >= 7")
        assert amount_indexes(store) == 1
    with open_store(store_url) as store:  # migration 7 runs on open
        assert amount_indexes(store) == 0 and store.schema_version() == LATEST
        assert store.count("transactions") == 3
