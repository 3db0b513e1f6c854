"""The hourly rollup equals a direct recomputation after every kind of write, on both stores;
the fast paths that read it answer exactly what the direct queries answer."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudstream.dashboard import insights
from fraudstream.dashboard.queries import Database, Filters
from fraudstream.dashboard.rollups import HOUR_NS, Rollup, recompute
from fraudstream.dashboard.sample import decide, fill, sample_frame
from fraudstream.store import open_store


def stored_rollup(db: Database) -> pd.DataFrame:
    frame = db.frame(
        "SELECT hour, dim, value, transactions, amount, alerted, unlabelled FROM rollup_hourly", ts=("hour",)
    )
    return frame.sort_values(["dim", "hour", "value"]).reset_index(drop=True)


def direct(db: Database) -> pd.DataFrame:
    first, last = db.rows("SELECT min(ts), max(ts) FROM transactions")[1][0]
    lo, hi = (int(db.times(pd.Series([v])).iloc[0].value) for v in (first, last))
    frame = recompute(db, lo - lo % HOUR_NS, hi - hi % HOUR_NS + HOUR_NS)
    return frame.sort_values(["dim", "hour", "value"]).reset_index(drop=True)


def assert_equal(db: Database) -> None:
    got, want = stored_rollup(db), direct(db)
    pd.testing.assert_frame_equal(got.drop(columns="amount"), want.drop(columns="amount"), check_dtype=False)
    assert got["amount"].to_numpy() == pytest.approx(want["amount"].to_numpy())
    totals = Rollup().totals(db)
    assert totals["transactions"] == db.scalar("SELECT count(*) FROM transactions")
    assert totals["unlabelled"] == db.scalar(
        "SELECT count(*) FROM transactions t "
        "WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.tx_id = t.tx_id)"
    )
    assert totals["alerted"] == db.scalar(
        "SELECT count(*) FROM transactions t WHERE EXISTS (SELECT 1 FROM alerts a WHERE a.tx_id = t.tx_id)"
    )


def test_rollup_follows_inserts_alerts_and_labels(store_url):
    with open_store(store_url) as store:
        fill(store, rows=1500, seed=5)
        db = Database(store)
        rollup = Rollup(min_interval_s=0)
        assert rollup.refresh(db)["ready"]
        assert_equal(db)
        # new transactions, some without labels, in old and new hours; their alerts
        frame = sample_frame(700, seed=6, first_id=50_000)
        unlabelled = frame.drop(columns=["is_fraud", "fraud_pattern"]).iloc[:300]
        store.write_transactions(unlabelled)
        store.write_transactions(frame.iloc[300:])
        decisions, alerts = decide(frame, threshold=0.6)
        store.write_decisions(decisions)
        store.write_alerts(alerts)
        assert rollup.refresh(db, max_hours=10**6)["hours"] > 0
        assert_equal(db)
        assert Rollup().totals(db)["unlabelled"] == 300
        # labels written later for some of the unlabelled ones
        labels = pd.DataFrame({"tx_id": unlabelled["tx_id"].iloc[:120].astype(str), "is_fraud": True})
        store.write_labels(labels.assign(source="review"))
        assert rollup.refresh(db)["hours"] > 0
        assert_equal(db)
        assert Rollup().totals(db)["unlabelled"] == 180
        assert rollup.refresh(db)["hours"] >= 0  # nothing new: still equal
        assert_equal(db)


def test_fast_paths_answer_what_the_direct_queries_answer(store_url):
    with open_store(store_url) as store:
        fill(store, rows=2000, seed=8)
        frame = sample_frame(400, seed=9, first_id=90_000).drop(columns=["is_fraud", "fraud_pattern"])
        store.write_transactions(frame)
        slow, fast = Database(store), Database(store)
        fast.rollup = Rollup(min_interval_s=0)
        fast.rollup.refresh(fast)
        assert insights.kpis(fast) == insights.kpis(slow)
        for window in insights.WINDOWS_H:
            a, b = insights.patterns(fast, window), insights.patterns(slow, window)
            assert a["transactions"] == b["transactions"], window
            for name in ("by_method", "by_category", "by_country"):
                key = name.removeprefix("by_")
                assert {r[key]: (r["transactions"], r["frauds"]) for r in a[name]} == {
                    r[key]: (r["transactions"], r["frauds"]) for r in b[name]
                }, (window, name)
        for params in (
            {"status": "unlabelled"},
            {"status": "unlabelled", "order": "asc", "page": "3", "page_size": "25"},
            {"status": "unlabelled", "sort": "amount", "amount_min": "50"},
            {"status": "unlabelled", "page": "100"},
            {"status": "legit", "page_size": "100"},
        ):
            f = Filters.parse(params)
            rows_fast, total_fast, capped_fast = fast.explore(f)
            rows_slow, total_slow, capped_slow = slow.explore(f)
            assert rows_fast["tx_id"].tolist() == rows_slow["tx_id"].tolist(), params
            assert (total_fast, capped_fast) == (total_slow, capped_slow), params
        assert fast.explore(Filters(status="unlabelled"))[1] == 400


def test_rollup_reads_skip_hours_dropped_by_retention(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.write_transactions(sample_frame(300, seed=2, start="2024-01-20"))
        store.write_transactions(sample_frame(200, seed=3, start="2024-03-05", first_id=10_000))
        db = Database(store)
        rollup = Rollup(min_interval_s=0)
        rollup.refresh(db)
        assert rollup.totals(db)["transactions"] == 500
        store.drop_older_than(days=1, now="2024-03-10")
        assert rollup.totals(db)["transactions"] == store.count("transactions") == 200
        store.drop_older_than(days=1, now="2024-06-10")
        assert rollup.totals(db)["transactions"] == store.count("transactions") == 0
