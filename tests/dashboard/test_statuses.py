"""Every status filter, alone and with the other filters, sorts and pages, answers exactly the
rows and counts of its per-row definition, on SQLite and PostgreSQL, with and without the
hourly rollup (whose counts and labelled hours the fast paths use)."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudstream.dashboard import statuses
from fraudstream.dashboard.queries import Database, Filters
from fraudstream.dashboard.rollups import Rollup
from fraudstream.dashboard.sample import fill, sample_frame
from fraudstream.store import open_store

LATER = pd.Timestamp("2030-01-01", tz="UTC")


def _store(url: str, *, unlabelled: bool) -> None:
    """Sample data plus label history: flipped labels, a label of an unknown id, a tie between
    two sources at one instant, and (``unlabelled``) transactions with no label."""
    with open_store(url) as store:
        fill(store, rows=600, seed=5)
        tx = store.transactions(limit=600)
        flip = tx.iloc[::7]
        store.write_labels(
            pd.DataFrame(
                {"tx_id": flip["tx_id"], "is_fraud": [i % 2 == 0 for i in range(len(flip))], "source": "review",
                 "labelled_at": LATER}
            )
        )
        store.write_labels(
            pd.DataFrame({"tx_id": ["no-such-tx"], "is_fraud": [True], "source": "review", "labelled_at": LATER})
        )
        tie = str(tx["tx_id"].iloc[3])
        store.write_labels(
            pd.DataFrame({"tx_id": [tie, tie], "is_fraud": [False, True], "source": ["file", "review"],
                          "labelled_at": LATER + pd.Timedelta(days=1)})
        )
        if unlabelled:
            extra = sample_frame(150, seed=6, first_id=80_000, start="2019-03-01")
            store.write_transactions(extra.drop(columns=["is_fraud", "fraud_pattern"]))


def _oracle(url: str) -> pd.DataFrame:
    """Every transaction with its status by the per-row definitions, computed in pandas."""
    with open_store(url) as store:
        tx = store.transactions(limit=10**9)
        labels = store.read_labels()
        alerts = store.alerts()
    for frame in (tx, labels, alerts):
        frame["tx_id"] = frame["tx_id"].astype(str)
    tx["customer_id"] = tx["customer_id"].astype(str)
    tx["merchant_id"] = tx["merchant_id"].astype(str)
    latest = labels.sort_values(["tx_id", "labelled_at", "source"], ascending=[True, False, True])
    current = latest.drop_duplicates("tx_id").set_index("tx_id")["is_fraud"].astype(bool)
    label = tx["tx_id"].map(current)
    alerted = set(zip(alerts["tx_id"], alerts["ts"], strict=True))
    return tx.assign(
        alert=[(i, t) in alerted for i, t in zip(tx["tx_id"], tx["ts"], strict=True)],
        fraud=label.eq(True),
        legit=label.eq(False),
        unlabelled=label.isna(),
    )


def _expected(oracle: pd.DataFrame, f: Filters) -> list[str]:
    rows = oracle[oracle[f.status]] if f.status != "all" else oracle
    if f.q:
        rows = rows[rows[["tx_id", "customer_id", "merchant_id"]].apply(lambda c: c.str.contains(f.q)).any(axis=1)]
    if f.category is not None:
        rows = rows[rows["category"] == f.category]
    if f.customer is not None:
        rows = rows[rows["customer_id"] == f.customer]
    if f.amount_min is not None:
        rows = rows[rows["amount"] >= f.amount_min]
    rows = rows.sort_values([f.sort, "tx_id"], ascending=not f.descending)
    return rows["tx_id"].tolist()


@pytest.mark.parametrize(
    ("unlabelled", "listed"),
    [(True, True), (False, True), (True, False)],
    ids=["some-unlabelled", "all-labelled", "too-many-to-list"],
)
def test_status_filters_answer_their_per_row_definitions(store_url, unlabelled, listed, monkeypatch):
    if not listed:  # PostgreSQL's fallback when more ids qualify than it drives queries from
        monkeypatch.setattr(statuses, "MAX_LISTED", 0)
    _store(store_url, unlabelled=unlabelled)
    oracle = _oracle(store_url)
    category = oracle["category"].value_counts().index[0]
    customer = oracle["customer_id"].value_counts().index[0]
    with open_store(store_url) as store:
        plain, fast = Database(store), Database(store)
        fast.rollup = Rollup(min_interval_s=0)
        assert fast.rollup.refresh(fast)["ready"]
        for status in ("alert", "fraud", "legit", "unlabelled"):
            for extra in (
                {},
                {"q": "1"},
                {"category": category},
                {"customer": customer},
                {"amount_min": "50", "sort": "amount", "order": "asc"},
                {"page": "2", "page_size": "40"},
            ):
                f = Filters.parse({"status": status, "page_size": "500", **extra})
                want = _expected(oracle, f)
                start = (f.page - 1) * f.page_size
                for db in (plain, fast):
                    rows, total, capped = db.explore(f)
                    label = (status, extra, db is fast)
                    assert rows["tx_id"].tolist() == want[start : start + f.page_size], label
                    assert (total, capped) == (len(want), False), label
                    if rows.empty:
                        continue
                    shown = oracle.set_index("tx_id").loc[rows["tx_id"]]
                    assert rows["is_fraud"].map(lambda v: v is True).tolist() == shown["fraud"].tolist(), label
                    if status == "alert":
                        assert rows["alert_status"].notna().all(), label
            streamed = [i for chunk in fast.explore_all(Filters(status=status), chunk=37) for i in chunk["tx_id"]]
            assert streamed == _expected(oracle, Filters(status=status)), status
        assert oracle["legit"].sum() > 100 and oracle["fraud"].sum() > 0 and oracle["alert"].sum() > 0
        assert oracle["unlabelled"].sum() == (150 if unlabelled else 0)
