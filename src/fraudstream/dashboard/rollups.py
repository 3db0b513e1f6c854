"""Hourly rollups of transactions for the dashboard's summaries (table ``rollup_hourly``).

Per hour of event time, per dimension (``all``, ``category``, ``channel``, ``country``) and value:
transactions, amount, alerted transactions (with at least one alert) and unlabelled ones (no
label). The KPIs, the Patterns page and the Explorer's ``unlabelled`` filter read these few
thousand rows instead of a million transactions.

The rollup is kept by **recomputing dirty hours**: an hour is dirty when a transaction of it was
stored (``stored_at``), an alert on it raised (``raised_at``) or a label for it written
(``labelled_at``) since the previous refresh, with :data:`OVERLAP_S` of overlap so that a batch
committed slightly after its stamp is not missed. Recomputing an hour is idempotent, so the
overlap never counts anything twice. The refresh state (cursors) is a store checkpoint written
in the same database transaction as the rows. A refresh runs inline before a read when at most
``max_hours`` hours are dirty (usually a handful), otherwise the reader falls back to a direct
query and the dashboard's background thread catches up.

Known limits: labels written with a ``labelled_at`` more than a minute in the future (other
than those stored with their transactions) are not seen as dirtying an hour, so that hour's
``unlabelled`` may stay too high (rows shown by the Explorer are still exact: it re-checks);
retention (``drop_older_than``) is handled by reading only hours from the oldest stored
transaction on.

>>> import pandas as pd
>>> from fraudstream.store import open_store
>>> from fraudstream.dashboard.queries import Database
>>> with open_store("sqlite:///:memory:") as store:
...     _ = store.write_transactions(pd.DataFrame({"tx_id": [1, 2, 3], "customer_id": [7, 8, 8],
...         "ts": pd.to_datetime(["2024-01-01 10:05", "2024-01-01 10:50", "2024-01-01 12:00"], utc=True),
...         "merchant_id": ["M1", "M2", "M2"], "amount": [5.0, 7.5, 1.0], "category": ["a", "b", "b"]}))
...     db = Database(store)
...     Rollup().refresh(db)["hours"], Rollup().totals(db)
(3, {'transactions': 3, 'amount': 13.5, 'alerted': 0, 'unlabelled': 3})
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.dashboard.queries import Database
from fraudstream.store import Store, frames
from fraudstream.store.schema import Table, _cols

__all__ = ["DIMENSIONS", "HOUR_NS", "OVERLAP_S", "ROLLUP_TABLE", "Rollup", "RollupRefresher", "recompute"]

log = logging.getLogger(__name__)

HOUR_NS = 3_600_000_000_000
OVERLAP_S = 10.0
"""Rows stamped up to this long before the previous refresh are looked at again."""
DIMENSIONS = ("category", "channel", "country")
CHECKPOINT = "dashboard.rollup_hourly"
ROLLUP_TABLE = Table(
    "rollup_hourly",
    _cols(
        "hour ts!, dim text!, value text!, transactions int!, amount float!, alerted int!, unlabelled int!"
    ),
    ("dim", "hour", "value"),
)
"""Created by schema migration 3."""
_CHUNK_HOURS = 24 * 14
_STAMPS = (
    ("tx", "transactions", "stored_at", "SELECT ts, stored_at FROM transactions WHERE stored_at > {p}"),
    ("alert", "alerts", "raised_at", "SELECT ts, raised_at FROM alerts WHERE raised_at > {p}"),
    (
        "label",
        "labels",
        "labelled_at",
        "SELECT t.ts, l.labelled_at FROM labels l JOIN transactions t ON t.tx_id = l.tx_id "
        "WHERE l.labelled_at > {p} AND l.labelled_at <= {p}",
    ),
)
"""(state key, table, stamp column, query of (event time, stamp) after a stamp) of each write kind."""


def _hours_ns(db: Database, values: list[Any]) -> np.ndarray:
    if not values:
        return np.zeros(0, dtype=np.int64)
    ns = db.times(pd.Series(values)).astype("int64").to_numpy()
    return np.unique(ns - ns % HOUR_NS)


def _ranges(hours: np.ndarray, max_hours: int) -> list[tuple[int, int]]:
    """Sorted hour starts -> ``[start, end)`` ranges of consecutive hours, at most ``max_hours`` each.

    >>> h = HOUR_NS
    >>> _ranges(np.array([0, h, 2 * h, 5 * h]), 2) == [(0, 2 * h), (2 * h, 3 * h), (5 * h, 6 * h)]
    True
    """
    out: list[tuple[int, int]] = []
    for hour in hours.tolist():
        if out and out[-1][1] == hour and (hour - out[-1][0]) // HOUR_NS < max_hours:
            out[-1] = (out[-1][0], hour + HOUR_NS)
        else:
            out.append((hour, hour + HOUR_NS))
    return out


def recompute(db: Database, start_ns: int, end_ns: int) -> pd.DataFrame:
    """The rollup rows of the hours in ``[start_ns, end_ns)``, straight from the tables."""
    p = db.p
    bounds = [db.ts_param(pd.Timestamp(start_ns, tz="UTC")), db.ts_param(pd.Timestamp(end_ns, tz="UTC"))]
    rows = db.frame(
        "SELECT t.tx_id, t.ts, t.category, t.channel, t.country, t.amount FROM transactions t "
        f"WHERE t.ts >= {p} AND t.ts < {p}",
        bounds,
        ts=("ts",),
    )
    alerted = {
        r[0]
        for r in db.rows(f"SELECT DISTINCT a.tx_id FROM alerts a WHERE a.ts >= {p} AND a.ts < {p}", bounds)[1]
    }
    labelled = {
        r[0]
        for r in db.rows(
            f"SELECT t.tx_id FROM transactions t WHERE t.ts >= {p} AND t.ts < {p} "
            "AND EXISTS (SELECT 1 FROM labels l WHERE l.tx_id = t.tx_id)",
            bounds,
        )[1]
    }
    ns = rows["ts"].astype("int64").to_numpy()
    rows = rows.assign(
        hour=ns - ns % HOUR_NS,
        alerted=rows["tx_id"].isin(alerted).astype(np.int64),
        unlabelled=(~rows["tx_id"].isin(labelled)).astype(np.int64),
        transactions=np.int64(1),
        all="",
    )
    parts = []
    for dim in ("all", *DIMENSIONS):
        grouped = (
            rows.dropna(subset=[dim])
            .groupby(["hour", dim], sort=False)[["transactions", "amount", "alerted", "unlabelled"]]
            .sum()
            .reset_index()
            .rename(columns={dim: "value"})
        )
        parts.append(grouped.assign(dim=dim))
    out = pd.concat(parts, ignore_index=True)
    out["hour"] = pd.to_datetime(out["hour"], utc=True)
    out["value"] = out["value"].astype(str)
    return out[["hour", "dim", "value", "transactions", "amount", "alerted", "unlabelled"]]


class Rollup:
    """Reads and refreshes ``rollup_hourly`` through a dashboard :class:`Database`."""

    def __init__(self, *, min_interval_s: float = 1.0) -> None:
        self.min_interval_s = min_interval_s
        self._last_refresh = 0.0
        self._lock = threading.Lock()

    # ---- refresh ----------------------------------------------------------------------------

    def state(self, db: Database) -> dict[str, Any] | None:
        with db.lock:
            value = db.store.read_checkpoint(CHECKPOINT)
        return value if isinstance(value, dict) else None

    def _dirty_hours(
        self, db: Database, state: dict[str, Any], now_ns: int, max_rows: int | None
    ) -> tuple[np.ndarray, dict[str, Any]] | None:
        """(dirty hours, new state); None when one kind has more than ``max_rows`` new rows.

        Rows stamped after a kind's cursor are new. The :data:`OVERLAP_S` before the cursor is
        read again only when the number of rows stamped in it changed since the last refresh (a
        batch that committed after its stamp); that count is an index-only range count."""
        p, overlap = db.p, int(OVERLAP_S * 1e9)
        limit = f" LIMIT {int(max_rows) + 1}" if max_rows is not None else ""
        upper = db.ts_param(pd.Timestamp(now_ns + 60 * 10**9, tz="UTC"))
        out: dict[str, Any] = {}
        found: list[np.ndarray] = []
        for name, table, column, sql in _STAMPS:
            cursor = int(state[name])
            same = self._overlap(db, table, column, cursor) == state.get(f"{name}_n")
            since = cursor if same else cursor - overlap
            params = [db.ts_param(pd.Timestamp(since, tz="UTC"))] + ([upper] if name == "label" else [])
            _, rows = db.rows(sql.format(p=p) + limit, params)
            if max_rows is not None and len(rows) > max_rows:
                return None
            found.append(_hours_ns(db, [r[0] for r in rows]))
            if rows:
                stamps = db.times(pd.Series([r[1] for r in rows])).astype("int64")
                cursor = max(cursor, int(stamps.max()))
            out[name], out[f"{name}_n"] = cursor, self._overlap(db, table, column, cursor)
        return np.unique(np.concatenate(found)), out

    @staticmethod
    def _overlap(db: Database, table: str, column: str, cursor: int) -> int:
        """Rows of ``table`` stamped in the :data:`OVERLAP_S` up to ``cursor``."""
        bounds = [
            db.ts_param(pd.Timestamp(cursor - int(OVERLAP_S * 1e9), tz="UTC")),
            db.ts_param(pd.Timestamp(cursor, tz="UTC")),
        ]
        sql = f"SELECT count(*) FROM {table} WHERE {column} > {db.p} AND {column} <= {db.p}"
        return int(db.scalar(sql, bounds))

    def refresh(
        self, db: Database, max_hours: int | None = None, max_rows: int | None = None, *, wait: bool = True
    ) -> dict[str, Any]:
        """Recompute the dirty hours (everything on the first run). With ``max_hours`` /
        ``max_rows``, give up (``ready`` False) when more hours are dirty or more rows new than
        that, or when there is no rollup yet; without ``wait``, also when another refresh runs.
        Returns ``hours`` recomputed and ``ready``."""
        if not self._lock.acquire(blocking=wait):
            return {"hours": 0, "ready": False}
        try:
            return self._refresh(db, max_hours, max_rows)
        finally:
            self._lock.release()

    def _refresh(self, db: Database, max_hours: int | None, max_rows: int | None) -> dict[str, Any]:
        now_ns = time.time_ns() // 1000 * 1000  # microseconds: PostgreSQL's resolution
        state = self.state(db)
        if state is None:
            if max_hours is not None or max_rows is not None:
                return {"hours": 0, "ready": False}
            return self._build(db, now_ns)
        with db.lock:
            dirty = self._dirty_hours(db, state, now_ns, max_rows)
        if dirty is None or (max_hours is not None and len(dirty[0]) > max_hours):
            return {"hours": 0, "ready": False}
        hours, cursors = dirty
        self._write(db, _ranges(hours, _CHUNK_HOURS), {**state, **cursors, "refreshed_ns": now_ns})
        self._last_refresh = time.monotonic()
        return {"hours": len(hours), "ready": True}

    def _build(self, db: Database, now_ns: int) -> dict[str, Any]:
        """The first run: every hour from the oldest to the newest transaction, in chunks."""
        with db.lock:
            marks = {
                "tx": db.scalar("SELECT max(stored_at) FROM transactions"),
                "alert": db.scalar("SELECT max(raised_at) FROM alerts"),
                "label": db.scalar(
                    f"SELECT max(labelled_at) FROM labels WHERE labelled_at <= {db.p}",
                    (db.ts_param(pd.Timestamp(now_ns, tz="UTC")),),
                ),
            }
            first, last = db.rows("SELECT min(ts), max(ts) FROM transactions")[1][0]
        cursors: dict[str, Any] = {
            k: int(db.times(pd.Series([v])).iloc[0].value) if v is not None else 0 for k, v in marks.items()
        }
        with db.lock:
            for name, table, column, _ in _STAMPS:
                cursors[f"{name}_n"] = self._overlap(db, table, column, cursors[name])
        hours = np.zeros(0, dtype=np.int64)
        if first is not None:
            lo, hi = (int(v) for v in _hours_ns(db, [first, last])[[0, -1]])
            hours = np.arange(lo, hi + HOUR_NS, HOUR_NS, dtype=np.int64)
        ranges = _ranges(hours, _CHUNK_HOURS)
        for i, chunk in enumerate(ranges):
            last_chunk = i == len(ranges) - 1
            self._write(db, [chunk], {**cursors, "refreshed_ns": now_ns} if last_chunk else None)
        if not ranges:
            self._write(db, [], {**cursors, "refreshed_ns": now_ns})
        self._last_refresh = time.monotonic()
        return {"hours": len(hours), "ready": True}

    def _write(self, db: Database, ranges: list[tuple[int, int]], state: dict[str, Any] | None) -> None:
        p, store = db.p, db.store
        with db.lock, store.batch():
            for start, end in ranges:
                frame = recompute(db, start, end)
                store._execute(
                    f"DELETE FROM rollup_hourly WHERE hour >= {p} AND hour < {p}",
                    (db.ts_param(pd.Timestamp(start, tz="UTC")), db.ts_param(pd.Timestamp(end, tz="UTC"))),
                )
                if len(frame):
                    store._upsert(ROLLUP_TABLE, frames.table_rows(ROLLUP_TABLE, frame), update=True)
            if state is not None:
                store.checkpoint(CHECKPOINT, state)

    def ready(self, db: Database, max_hours: int = 48, max_rows: int = 50_000) -> bool:
        """Whether the rollup is current: refreshed inline now (unless done in the last
        ``min_interval_s``) when at most ``max_hours`` hours are dirty and ``max_rows`` rows new,
        and no other refresh is running."""
        if time.monotonic() - self._last_refresh < self.min_interval_s:
            return True
        try:
            return bool(self.refresh(db, max_hours=max_hours, max_rows=max_rows, wait=False)["ready"])
        except Exception:  # the store's write lock is busy, ...: answer without the rollup
            log.warning("rollup refresh failed; answering from the tables", exc_info=True)
            return False

    # ---- reads --------------------------------------------------------------------------------

    def _floor(self, db: Database) -> Any:
        """The hour of the oldest stored transaction (older rollup rows were dropped by retention)."""
        oldest = db.scalar("SELECT min(ts) FROM transactions")
        if oldest is None:
            return None
        return db.ts_param(pd.Timestamp(int(_hours_ns(db, [oldest])[0]), tz="UTC"))

    def totals(self, db: Database) -> dict[str, Any]:
        """Sums over every hour: transactions, amount, alerted, unlabelled."""
        floor = self._floor(db)
        if floor is None:  # no transactions (any rollup rows are of dropped hours)
            return {"transactions": 0, "amount": 0.0, "alerted": 0, "unlabelled": 0}
        row = db.rows(
            "SELECT sum(transactions), sum(amount), sum(alerted), sum(unlabelled) FROM rollup_hourly "
            f"WHERE dim = 'all' AND hour >= {db.p}",
            (floor,),
        )[1][0]
        return {
            "transactions": int(row[0] or 0),
            "amount": round(float(row[1] or 0.0), 6),
            "alerted": int(row[2] or 0),
            "unlabelled": int(row[3] or 0),
        }

    def by(self, db: Database, dim: str, start_ns: int | None, end_ns: int | None) -> pd.DataFrame:
        """``value, transactions, alerted`` of ``dim`` over whole hours in ``[start_ns, end_ns)``."""
        p = db.p
        floor = self._floor(db)
        conditions, params = [f"dim = {p}"], [dim]
        if floor is None:
            conditions.append("1 = 0")  # no transactions
        else:
            conditions.append(f"hour >= {p}")
            params.append(floor)
        for op, value in ((">=", start_ns), ("<", end_ns)):
            if value is not None:
                conditions.append(f"hour {op} {p}")
                params.append(db.ts_param(pd.Timestamp(value, tz="UTC")))
        return db.frame(
            "SELECT value, sum(transactions) AS transactions, sum(alerted) AS alerted FROM rollup_hourly "
            f"WHERE {' AND '.join(conditions)} GROUP BY value",
            params,
        )

    def unlabelled_hours(self, db: Database, descending: bool) -> list[tuple[int, int]]:
        """``(hour start ns, unlabelled)`` of the hours with unlabelled transactions, newest first
        (``descending``) or oldest first."""
        rows = db.rows(
            "SELECT hour, unlabelled FROM rollup_hourly WHERE dim = 'all' AND unlabelled > 0 "
            f"ORDER BY hour {'DESC' if descending else 'ASC'}"
        )[1]
        starts = db.times(pd.Series([r[0] for r in rows])).astype("int64").tolist() if rows else []
        return [(int(s), int(r[1])) for s, r in zip(starts, rows, strict=True)]


class RollupRefresher:
    """Keeps the rollup of a store current in a background thread (every ``interval_s``)."""

    def __init__(self, store: Store, rollup: Rollup, *, interval_s: float = 2.0) -> None:
        self.db = Database(store)
        self.rollup = rollup
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashboard-rollup", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.rollup.refresh(self.db)
                if done["hours"]:
                    log.info("rollup: %d hours recomputed", done["hours"])
            except Exception:
                log.warning("rollup refresh failed; retrying", exc_info=True)
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
