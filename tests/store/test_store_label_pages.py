"""Incremental reads of the labels table (``Store.read_labels_page``), identical on SQLite and
PostgreSQL: key order ``(labelled_at, tx_id)``, one source, an upper time bound, page limits that
split labels of one instant without skipping or repeating any."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudstream.errors import StoreError
from fraudstream.store import Store


def test_pages_follow_the_key_order_across_ties(store: Store) -> None:
    instant = pd.Timestamp("2024-03-01T10:00:00.123456", tz="UTC")
    ids = ["b7", "a1", "c3", "10", "9"]
    store.write_labels(pd.DataFrame({"tx_id": ids, "is_fraud": [True, False, True, False, True],
                                     "source": "review", "labelled_at": instant}))
    store.write_labels(pd.DataFrame({"tx_id": ["z", "a0"], "is_fraud": [True, True], "source": ["review", "stream"],
                                     "labelled_at": [instant + pd.Timedelta(seconds=1), instant]}))
    keys, after = [], None
    while True:
        page = store.read_labels_page("review", after, limit=2)
        if not len(page):
            break
        assert len(page) <= 2 and set(page["source"]) == {"review"}
        keys += list(zip(page["labelled_at"], page["tx_id"].astype(str), strict=True))
        after = keys[-1]
    assert keys == [(instant, i) for i in sorted(ids)] + [(instant + pd.Timedelta(seconds=1), "z")]
    assert store.read_labels_page("review", until=instant)["tx_id"].astype(str).tolist() == sorted(ids)
    assert store.read_labels_page("review", (instant, "b7"), until=instant)["tx_id"].tolist() == ["c3"]


def test_an_unknown_source_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="source must be one of stream, review, file, got 'analyst'"):
        store.read_labels_page("analyst")
