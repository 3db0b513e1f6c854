"""Bundles converted to the store's rows where they are made (``StoreRows``), merged and written by
the store writer, against SQLite and PostgreSQL alike."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from fraudstream.errors import InvalidRecord, StoreError
from fraudstream.service.bundle import Bundle, StoreRows


def _bundle(ids: list[int], *, checkpoint: int | None = None, fraud: bool = False) -> Bundle:
    ts = pd.to_datetime([f"2024-03-0{1 + i % 5}" for i in ids], utc=True)
    tx = pd.DataFrame({"tx_id": ids, "ts": ts, "customer_id": [7] * len(ids), "merchant_id": ["M1"] * len(ids),
                       "amount": [float(i) for i in ids], "is_fraud": [fraud] * len(ids)})
    decisions = pd.DataFrame({"tx_id": ids, "ts": ts, "model_version": "v1", "score": 0.5, "verdict": "legit",
                              "reasons": pd.arrays.ArrowExtensionArray(pa.array(['[{"name":"amount"}]'] * len(ids)))})
    alerts = pd.DataFrame({"tx_id": ids[:1], "ts": ts[:1], "kind": ["model"], "score": [0.9]})
    return Bundle(tx, decisions, alerts, checkpoint=None if checkpoint is None else ("detect", checkpoint))


def test_merged_rows_keep_each_transaction_once_and_the_last_checkpoint(store) -> None:
    first, second = _bundle([1, 2], checkpoint=10), _bundle([2, 3], checkpoint=20, fraud=True)
    merged = StoreRows.merge([StoreRows.of(b, label_source="stream") for b in (first, second)])
    assert merged.transactions.column("tx_id").to_pylist() == ["1", "2", "3"]
    assert merged.tx_labels.column("tx_id").to_pylist() == ["1", "2", "3"]
    assert merged.tx_labels.column("is_fraud").to_pylist() == [False, False, True]  # the first of tx 2
    merged.write(store)
    assert store.count("transactions") == 3 and store.read_checkpoint("detect") == 20
    decisions = store.decisions()
    assert sorted(decisions["tx_id"].tolist()) == [1, 2, 3]  # tx 2 decided twice: replaced, not doubled
    assert decisions["reasons"].tolist()[0] == [{"name": "amount"}]
    alerts = store.alerts()
    assert sorted(alerts["tx_id"].tolist()) == [1, 2] and alerts["status"].tolist() == ["open", "open"]


def test_writing_the_same_rows_again_stores_nothing_twice(store) -> None:
    rows = StoreRows.of(_bundle([5, 6, 7], checkpoint=3), label_source="stream")
    rows.write(store)
    rows.write(store)
    assert store.count("transactions") == 3 and store.count("decisions") == 3 and store.count("alerts") == 1
    assert len(store.read_labels()) == 3


def test_defaults_are_one_value_for_every_row() -> None:
    rows = StoreRows.of(_bundle(list(range(1, 1001))), label_source="stream")
    assert rows.decisions.column("decided_at").unique().to_pylist() == [rows.decisions.column("decided_at")[0].as_py()]
    assert rows.alerts.column("status").to_pylist() == ["open"]
    assert rows.rows == 1000 and rows.decisions.num_rows == 1000


def test_a_bad_label_source_names_the_field_and_the_value() -> None:
    labels = pd.DataFrame({"tx_id": [1], "is_fraud": [True], "source": ["gossip"]})
    with pytest.raises(StoreError, match="labels: source must be one of stream, review, file, got 'gossip'"):
        StoreRows.of(Bundle(labels=labels), label_source="stream")


def test_a_decision_without_its_event_time_is_refused_naming_the_column() -> None:
    decisions = pd.DataFrame({"tx_id": [1], "model_version": ["v1"], "score": [0.1], "verdict": ["legit"]})
    with pytest.raises(InvalidRecord, match="decisions: missing column ts"):
        StoreRows.of(Bundle(decisions=decisions), label_source="stream")


def test_write_rows_takes_only_the_prepared_tables(store) -> None:
    with pytest.raises(StoreError, match="write_rows takes decisions, alerts or labels, not 'transactions'"):
        store.write_rows("transactions", pa.table({"tx_id": ["1"]}))
