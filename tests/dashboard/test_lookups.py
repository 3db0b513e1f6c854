"""Set-based look-ups (labels, decisions, alerts; fraud / alert / legit filters) answer exactly
what the former per-row subqueries answered, on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd

from fraudstream.dashboard.queries import Database, Filters
from fraudstream.dashboard.sample import fill
from fraudstream.store import open_store


def _per_row(db: Database, tx_ids: list[str]) -> pd.DataFrame:
    """The old per-row semantics (correlated subqueries), as the oracle."""
    marks = ", ".join([db.p] * len(tx_ids))
    frame = db.frame(
        "SELECT t.tx_id, "
        "(SELECT d.score FROM decisions d WHERE d.tx_id = t.tx_id AND d.ts = t.ts "
        "ORDER BY d.decided_at DESC LIMIT 1) AS score, "
        "(SELECT d.verdict FROM decisions d WHERE d.tx_id = t.tx_id AND d.ts = t.ts "
        "ORDER BY d.decided_at DESC LIMIT 1) AS verdict, "
        "(SELECT a.status FROM alerts a WHERE a.tx_id = t.tx_id AND a.ts = t.ts "
        "ORDER BY a.raised_at DESC LIMIT 1) AS alert_status, "
        "(SELECT l.is_fraud FROM labels l WHERE l.tx_id = t.tx_id "
        "ORDER BY l.labelled_at DESC, l.source LIMIT 1) AS is_fraud "
        f"FROM transactions t WHERE t.tx_id IN ({marks})",
        tx_ids,
    )
    frame["is_fraud"] = frame["is_fraud"].map(lambda v: None if v is None else bool(v))
    return frame.set_index("tx_id").loc[tx_ids].reset_index()


def _store_with_history(url: str) -> None:
    with open_store(url) as store:
        fill(store, rows=400, seed=5)
        tx = store.transactions(limit=400)
        later = pd.Timestamp("2030-01-01", tz="UTC")
        flip = tx.iloc[::7]  # newer labels that flip the old ones
        store.write_labels(
            pd.DataFrame(
                {"tx_id": flip["tx_id"], "is_fraud": [i % 2 == 0 for i in range(len(flip))], "source": "review",
                 "labelled_at": later}
            )
        )
        store.write_labels(  # a newer label of some unlabelled transactions
            pd.DataFrame({"tx_id": ["no-such-tx"], "is_fraud": [True], "source": "review", "labelled_at": later})
        )
        again = tx.iloc[::5]  # a second decision, decided later, on some transactions
        store.write_decisions(
            pd.DataFrame(
                {"tx_id": again["tx_id"], "ts": again["ts"], "model_version": "v2", "score": 0.123,
                 "verdict": "review", "decided_at": later}
            )
        )


def test_page_state_equals_per_row_subqueries(store_url: str) -> None:
    _store_with_history(store_url)
    with open_store(store_url) as store:
        db = Database(store)
        stored = store.transactions(limit=400)
        ids = [str(i) for i in stored["tx_id"]]
        new = db.details(ids, stored["ts"].tolist()).set_index("tx_id")
        old = _per_row(db, ids).set_index("tx_id")
        assert new.index.tolist() == ids
        for column in ("score", "verdict", "alert_status", "is_fraud"):
            assert new[column].astype(object).where(new[column].notna(), None).tolist() == old[
                column
            ].astype(object).where(old[column].notna(), None).tolist(), column
        assert (new["verdict"] == "review").sum() == len(ids[::5])  # the later decision wins
        assert new["is_fraud"].notna().all()


def test_status_filters_equal_per_row_semantics(store_url: str) -> None:
    _store_with_history(store_url)
    with open_store(store_url) as store:
        db = Database(store)
        ids = [str(i) for i in store.transactions(limit=400)["tx_id"]]
        old = _per_row(db, ids)
        alerted = set(r[0] for r in db.rows("SELECT tx_id FROM alerts")[1])
        expected = {
            "fraud": set(old.loc[old["is_fraud"] == True, "tx_id"]),  # noqa: E712
            "legit": set(old.loc[old["is_fraud"] == False, "tx_id"]),  # noqa: E712
            "alert": alerted & set(ids),
        }
        for status, want in expected.items():
            rows, total, capped = db.explore(Filters(status=status, page_size=500))
            assert set(rows["tx_id"]) == want and total == len(want) and not capped, status
            streamed = pd.concat(list(db.explore_all(Filters(status=status), chunk=37)))
            assert set(streamed["tx_id"]) == want, status
        assert len(expected["fraud"]) > 0 and len(expected["legit"]) > 0
