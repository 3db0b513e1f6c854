"""Set-based look-ups of each transaction's current label, latest decision and latest alert.

A page (or a CSV chunk, or the Customer page's history) asks for these once for all its rows:
one query per table over the rows' keys, instead of a correlated subquery per row of the page
query. On SQLite that query filters by ``tx_id IN (...)`` and keeps the newest row per key with a
window function. On PostgreSQL the keys travel as arrays that are unnested into rows, and each key
is one ordered ``LIMIT 1`` probe (``CROSS JOIN LATERAL``): ``decisions`` and ``alerts`` are
partitioned by event time, so a probe on ``(tx_id, ts)`` is pruned to one monthly partition at run
time and reads one primary-key entry. (``tx_id = ANY(ids) AND ts = ANY(stamps)`` prunes nothing
when the rows span the year, as a customer's history does, and makes the planner read every
partition whole; a large constant array also costs planning time per partition.) ``labels`` is
partitioned by ``labelled_at``, which a look-up by ``tx_id`` cannot prune: its probe walks the
partitions newest first through ``labels_tx_id_latest_idx`` (migration 4) and stops at the first
entry.

The newest row wins, exactly as the per-row subqueries chose it: labels by ``labelled_at``
(newest), then ``source``; decisions by ``decided_at`` (then ``model_version``); alerts by
``raised_at`` (then ``kind``), each matched on ``(tx_id, ts)``.

>>> from fraudstream.store import open_store
>>> from fraudstream.dashboard.queries import Database
>>> with open_store("sqlite:///:memory:") as store:
...     _ = store.write_transactions(pd.DataFrame({"tx_id": [1, 2, 3], "customer_id": [7, 8, 9],
...         "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
...         "merchant_id": "M1", "amount": [5.0, 7.5, 1.0], "is_fraud": [False, True, False]}))
...     _ = store.write_labels(pd.DataFrame({"tx_id": ["1"], "is_fraud": [True],
...         "labelled_at": pd.to_datetime(["2024-02-01"], utc=True)}))
...     latest_labels(Database(store), ["1", "2", "4"]).tolist()
[True, True, None]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from fraudstream.dashboard.queries import Database

__all__ = ["CHUNK", "latest_alerts", "latest_decisions", "latest_labels", "row_state", "transactions_by_key"]

CHUNK = 5000
"""Ids per look-up query (SQLite binds one parameter per id; PostgreSQL one array)."""


def _in(db: Database, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column`` is one of ``values``: ``= ANY(array)`` on PostgreSQL, ``IN (?, ...)`` on SQLite."""
    if db.dialect == "postgresql":
        return f"{column} = ANY({db.p})", [list(values)]
    return f"{column} IN ({', '.join([db.p] * len(values))})", list(values)


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def latest_labels(db: Database, tx_ids: Sequence[Any]) -> pd.Series:
    """The current label (``True`` / ``False``, ``None`` when unlabelled) of each of ``tx_ids``,
    in their order (an object Series)."""
    ids = [str(i) for i in tx_ids]
    found: dict[str, bool] = {}
    for part in _chunks(list(dict.fromkeys(ids))):
        if db.dialect == "postgresql":  # one ordered probe per id; ANY(...) of thousands of ids
            rows = db.rows(  # makes the planner scan every label partition whole
                "SELECT k.tx_id, c.is_fraud FROM unnest(CAST(%s AS TEXT[])) AS k(tx_id) CROSS JOIN "
                "LATERAL (SELECT l.is_fraud FROM labels l WHERE l.tx_id = k.tx_id COLLATE \"C\" "
                "ORDER BY l.labelled_at DESC, l.source LIMIT 1) c",
                [list(part)],
            )[1]
            found.update((str(tx_id), bool(value)) for tx_id, value in rows)
            continue
        condition, params = _in(db, "l.tx_id", part)
        rows = db.rows(
            "SELECT tx_id, is_fraud FROM (SELECT l.tx_id, l.is_fraud, ROW_NUMBER() OVER "
            "(PARTITION BY l.tx_id ORDER BY l.labelled_at DESC, l.source) AS k "
            f"FROM labels l WHERE {condition}) x WHERE k = 1",
            params,
        )[1]
        found.update((str(tx_id), bool(value)) for tx_id, value in rows)
    return pd.Series([found.get(i) for i in ids], dtype=object)


def _unnest_keys(db: Database, keys: pd.DataFrame) -> tuple[str, list[Any]]:
    """PostgreSQL: ``keys`` (``tx_id``, ``ts``) as the rows ``k(tx_id, ts)`` of two arrays."""
    stamps = [db.ts_param(t) for t in keys["ts"]]
    return (
        f"unnest(CAST({db.p} AS TEXT[]), CAST({db.p} AS TIMESTAMPTZ[])) AS k(tx_id, ts)",
        [keys["tx_id"].tolist(), stamps],
    )


def _latest_by_event(
    db: Database, keys: pd.DataFrame, table: str, columns: str, newest: str
) -> pd.DataFrame:
    """The newest row of ``table`` (by ``newest``) per ``(tx_id, ts)`` of ``keys`` (one row per
    key that has one): ``tx_id`` (text), ``ts`` (UTC) and ``columns``."""
    names = [c.strip().split(".")[-1] for c in columns.split(",")]
    empty = pd.DataFrame({"tx_id": pd.Series([], dtype=object), "ts": pd.Series([], dtype="datetime64[ns, UTC]")})
    if keys.empty:
        return empty.assign(**{n: pd.Series([], dtype=object) for n in names})
    keys = pd.DataFrame({"tx_id": keys["tx_id"].astype(str).to_numpy(), "ts": keys["ts"].to_numpy()})
    keys = keys.drop_duplicates(ignore_index=True)
    frames = []
    for begin in range(0, len(keys), CHUNK):
        part = keys.iloc[begin : begin + CHUNK]
        if db.dialect == "postgresql":
            source, params = _unnest_keys(db, part)
            sql = (
                f"SELECT k.tx_id, k.ts, {', '.join('x.' + n for n in names)} FROM {source} CROSS JOIN LATERAL "
                f"(SELECT {columns} FROM {table} x WHERE x.tx_id = k.tx_id COLLATE \"C\" AND x.ts = k.ts "
                f"ORDER BY {newest} LIMIT 1) x"
            )
        else:
            stamps = [db.ts_param(t) for t in pd.unique(part["ts"])]
            id_condition, params = _in(db, "x.tx_id", part["tx_id"].tolist())
            params += [min(stamps), max(stamps)]
            sql = (
                f"SELECT tx_id, ts, {', '.join(names)} FROM (SELECT x.tx_id, x.ts, {columns}, "
                f"ROW_NUMBER() OVER (PARTITION BY x.tx_id, x.ts ORDER BY {newest}) AS k "
                f"FROM {table} x WHERE {id_condition} AND x.ts >= {db.p} AND x.ts <= {db.p}) y WHERE k = 1"
            )
        frames.append(db.frame(sql, params, ts=("ts",)))
    found = pd.concat(frames, ignore_index=True)
    found["tx_id"] = found["tx_id"].astype(str)
    return found.merge(keys, on=["tx_id", "ts"], how="inner")


def transactions_by_key(db: Database, keys: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of the transactions with the ``(tx_id, ts)`` of ``keys`` (in no particular
    order; ``tx_id`` as text, ``ts`` in UTC when asked for)."""
    select = ", ".join(f"t.{c}" for c in columns)
    keys = pd.DataFrame({"tx_id": keys["tx_id"].astype(str).to_numpy(), "ts": keys["ts"].to_numpy()})
    frames = []
    for begin in range(0, len(keys), CHUNK):
        part = keys.iloc[begin : begin + CHUNK]
        if db.dialect == "postgresql":
            source, params = _unnest_keys(db, part)
            sql = (
                f"SELECT {select} FROM {source} CROSS JOIN LATERAL (SELECT * FROM transactions t "
                "WHERE t.tx_id = k.tx_id COLLATE \"C\" AND t.ts = k.ts LIMIT 1) t"
            )
        else:
            condition, params = _in(db, "t.tx_id", part["tx_id"].tolist())
            sql = f"SELECT {select} FROM transactions t WHERE {condition}"
        frames.append(db.frame(sql, params, ts=("ts",) if "ts" in columns else ()))
    found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in columns})
    if "tx_id" in found:
        found["tx_id"] = found["tx_id"].astype(str)
    return found


def latest_decisions(db: Database, keys: pd.DataFrame) -> pd.DataFrame:
    """``tx_id, ts, score, verdict`` of the newest decision on each ``(tx_id, ts)`` of ``keys``."""
    return _latest_by_event(
        db, keys, "decisions", "x.score, x.verdict", "x.decided_at DESC, x.model_version"
    )


def latest_alerts(db: Database, keys: pd.DataFrame) -> pd.DataFrame:
    """``tx_id, ts, alert_status`` of the newest alert on each ``(tx_id, ts)`` of ``keys``."""
    found = _latest_by_event(db, keys, "alerts", "x.status", "x.raised_at DESC, x.kind")
    return found.rename(columns={"status": "alert_status"})


def row_state(db: Database, keys: pd.DataFrame) -> pd.DataFrame:
    """For each row of ``keys`` (``tx_id``, ``ts``), in order: ``score``, ``verdict``,
    ``alert_status`` (None where there is none) and ``is_fraud`` (the current label or None)."""
    keys = pd.DataFrame({"tx_id": keys["tx_id"].astype(str).to_numpy(), "ts": keys["ts"].to_numpy()})
    out = keys.merge(latest_decisions(db, keys), on=["tx_id", "ts"], how="left")
    out = out.merge(latest_alerts(db, keys), on=["tx_id", "ts"], how="left")
    out["is_fraud"] = latest_labels(db, keys["tx_id"].tolist()).to_numpy()
    out = out.astype({"verdict": object, "alert_status": object})
    out = out.astype(object).where(out.notna(), None).astype({"ts": keys["ts"].dtype})
    out["score"] = pd.to_numeric(out["score"], errors="coerce")
    return out
