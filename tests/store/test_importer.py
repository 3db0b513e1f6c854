"""``import_file`` into SQLite and PostgreSQL: a file loaded into new months, then grown and
imported again (its old rows already stored, its new rows into a month with data and into a
new month), then re-imported (nothing stored); writes large enough to take the bulk paths
(several COPY pieces, new partitions attached, duplicate keys found by the fast path)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.adapters.kaggle import KAGGLE_COLUMNS
from fraudstream.store import open_store, pgcopy
from fraudstream.store.importer import import_file

ROWS = 12_000
"""Three months of 4,000 rows: with COPY pieces of 1,024 rows, each month's write is several."""


def kaggle_rows(n: int, seed: int = 3) -> pd.DataFrame:
    """``n`` rows in the Kaggle layout, in time order over 2024-01-01 .. 2024-03-31."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, 91 * 86_400, n))
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, unit="s")
    cards = rng.integers(10**15, 10**16, 300)
    return pd.DataFrame(
        {
            "trans_date_trans_time": ts.strftime("%Y-%m-%d %H:%M:%S"),
            "cc_num": cards[rng.integers(0, 300, n)],
            "merchant": [f"fraud_M{i}" for i in rng.integers(0, 500, n)],
            "category": np.array(["food", "gas", "toys", "travel"])[rng.integers(0, 4, n)],
            "amt": np.round(rng.gamma(2.0, 30.0, n), 2),
            "first": "Ann",
            "last": 'O"Neil',
            "gender": "F",
            "street": "1 Main St",
            "city": "Austin",
            "state": "TX",
            "zip": 78701,
            "lat": 30.27,
            "long": -97.74,
            "city_pop": 950_000,
            "job": "Engineer",
            "dob": "1980-01-01",
            "trans_num": [f"t{i:08d}" for i in range(n)],
            "unix_time": 1_700_000_000 + seconds,
            "merch_lat": 30.3,
            "merch_long": -97.7,
            "is_fraud": (rng.random(n) < 0.01).astype(int),
        }
    )[list(KAGGLE_COLUMNS)]


def test_import_new_months_then_a_grown_file_then_again(tmp_path, store_url, monkeypatch):
    monkeypatch.setattr(pgcopy, "PIECE_ROWS", 1_024)  # the bulk path's pieces, at test scale
    rows = kaggle_rows(ROWS)
    path = tmp_path / "cards.csv"
    february = int((rows["trans_date_trans_time"] < "2024-02-15").sum())  # the file first ends mid-February
    assert (rows["trans_date_trans_time"] < "2024-02-01").sum() > pgcopy.PIECE_ROWS  # January's write
    rows.iloc[:february].to_csv(path, index=False)
    with open_store(store_url) as store:
        first = import_file(path, store, chunk_rows=1_500)
    assert (first.rows_read, first.stored, first.rejected) == (february, february, 0)

    rows.to_csv(path, index=False)  # the file grew: its first rows are stored, the rest are new
    with open_store(store_url) as store:
        grown = import_file(path, store, chunk_rows=1_500)
        assert (grown.rows_read, grown.stored, grown.already_stored) == (ROWS, ROWS - february, february)
        assert store.count("transactions") == ROWS and store.count("labels") == ROWS
        point = store.read_checkpoint("import:cards.csv")  # the grown file is read whole: not resumed
        assert grown.skipped == 0 and (point["rows_read"], point["last_line"]) == (ROWS, ROWS + 1)
        assert grown.profiles == rows["cc_num"].nunique() == len(store.profiles())
        stored = store.transactions(limit=ROWS, with_labels=True).set_index("tx_id")
        if store.dialect == "postgresql":
            assert store.partitions("transactions") == [f"transactions_p20240{m}" for m in (1, 2, 3)]
            assert store.partitions("labels") == [f"labels_p20240{m}" for m in (1, 2, 3)]

    assert sorted(stored.index) == sorted(f"cards:{i}" for i in range(ROWS))
    for i in (0, february - 1, february, ROWS - 1):  # either side of where the first import ended
        row, source = stored.loc[f"cards:{i}"], rows.iloc[i]
        assert row["ts"] == pd.Timestamp(source["trans_date_trans_time"], tz="UTC")
        assert (row["customer_id"], row["merchant_id"], row["amount"]) == (
            source["cc_num"],
            source["merchant"],
            source["amt"],
        )
        assert row["last"] == 'O"Neil' and row["trans_num"] == source["trans_num"]
        assert bool(row["is_fraud"]) == bool(source["is_fraud"])
    assert int(stored["is_fraud"].sum()) == int(rows["is_fraud"].sum())

    with open_store(store_url) as store:
        again = import_file(path, store, chunk_rows=5_000)  # other chunk boundaries, same rows
        assert (again.stored, again.already_stored) == (0, ROWS)
        assert store.count("transactions") == ROWS and store.count("labels") == ROWS
