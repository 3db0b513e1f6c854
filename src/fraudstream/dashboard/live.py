"""The Live page's feed: the server reads what was stored since its last look (twice a second),
aggregates it, and pushes one summary to every browser over server-sent events.

A browser never receives individual transactions beyond the 20-row live table, so the page
keeps up however fast transactions arrive; the cost on the server is one indexed range query
on ``transactions.stored_at`` (and one on ``alerts.raised_at``) per tick.

Transactions are found by their storage time with one second of overlap (ids already counted
are skipped), so a batch committed slightly out of order is still counted once.

>>> import pandas as pd
>>> from fraudstream.store import open_store
>>> with open_store("sqlite:///:memory:") as store:
...     live = LiveAggregator(store)
...     _ = store.write_transactions(pd.DataFrame({"tx_id": [1, 2], "customer_id": [7, 8],
...         "ts": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True), "merchant_id": ["M1", "M2"],
...         "amount": [5.0, 7.5], "is_fraud": [False, True]}))
...     summary = live.tick()
...     (summary["total"], summary["statistics"]["total_amount"], len(summary["table"]))
(2, 12.5, 2)
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.dashboard.insights import ALERT_CATEGORIES
from fraudstream.dashboard.lookups import latest_labels
from fraudstream.dashboard.queries import Database
from fraudstream.store import Store

__all__ = ["LiveAggregator", "StreamFeed"]

log = logging.getLogger(__name__)

_OVERLAP_NS = 1_000_000_000
_SERIES_S = 120
_RECENT = 100


class LiveAggregator:
    """Per-second aggregates of what reaches ``store``; :meth:`tick` reads and summarises."""

    def __init__(self, store: Store, *, interval_s: float = 0.5, stream: StreamFeed | None = None) -> None:
        self.db = Database(store)
        self.interval_s = interval_s
        self.stream = stream
        self.version = 0
        self.summary: dict[str, Any] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._seen: dict[str, int] = {}
        self._seen_alerts: dict[tuple[str, str], int] = {}
        self._per_second: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()
        self._amounts: collections.deque[float] = collections.deque(maxlen=_RECENT)
        self._table: collections.deque[dict[str, Any]] = collections.deque(maxlen=20)
        self._users: collections.Counter[str] = collections.Counter()
        self._items: collections.Counter[str] = collections.Counter()
        self._categories: collections.Counter[str] = collections.Counter()
        self._since_start = np.zeros(4)  # transactions, amount, amount^2, labelled fraud
        self._initial()

    # ---- state ------------------------------------------------------------------------------

    def _initial(self) -> None:
        db = self.db
        self.total = int(db.scalar("SELECT count(*) FROM transactions"))
        self.alerts_total = int(db.scalar("SELECT count(*) FROM alerts"))
        self._tx_cursor = int(self._ns(db.scalar("SELECT max(stored_at) FROM transactions")))
        self._alert_cursor = int(self._ns(db.scalar("SELECT max(raised_at) FROM alerts")))
        for category, n in db.rows(
            f"SELECT category, count(*) FROM ({ALERT_CATEGORIES}) c "
            "WHERE category IS NOT NULL GROUP BY category"
        )[1]:
            self._categories[str(category)] += int(n)
        self.counted_until_ns = self._tx_cursor
        # what the overlap of the first look would count twice
        since = (db.ts_param(pd.Timestamp(self._tx_cursor - _OVERLAP_NS, tz="UTC")),)
        recent = db.frame(
            f"SELECT tx_id, stored_at FROM transactions WHERE stored_at > {db.p}", since, ts=("stored_at",)
        )
        stored = recent["stored_at"].astype("int64").tolist() if len(recent) else []
        self._seen.update(zip(recent["tx_id"], stored, strict=True))
        since = (db.ts_param(pd.Timestamp(self._alert_cursor - _OVERLAP_NS, tz="UTC")),)
        recent = db.frame(
            f"SELECT tx_id, kind, raised_at FROM alerts WHERE raised_at > {db.p}", since, ts=("raised_at",)
        )
        raised = recent["raised_at"].astype("int64").tolist() if len(recent) else []
        self._seen_alerts.update(zip(zip(recent["tx_id"], recent["kind"], strict=True), raised, strict=True))

    def _ns(self, value: Any) -> int:
        if value is None:
            return 0
        return int(self.db.times(pd.Series([value])).iloc[0].value)

    def _bucket(self, second: int) -> np.ndarray:
        if second not in self._per_second:
            self._per_second[second] = np.zeros(4)  # transactions, alerts, amount sum, labelled fraud
            while len(self._per_second) > _SERIES_S + 10:
                self._per_second.popitem(last=False)
        return self._per_second[second]

    # ---- one look at the store --------------------------------------------------------------

    def _since(self, table: str, column: str, cursor: int, known: str) -> int:
        """Where to read ``table`` from: just after ``cursor``, or ``_OVERLAP_NS`` before it when
        the number of rows stamped in that overlap changed since the last look (a batch that
        committed late). The count is an index-only range count."""
        db = self.db
        n = int(
            db.scalar(
                f"SELECT count(*) FROM {table} WHERE {column} > {db.p} AND {column} <= {db.p}",
                (
                    db.ts_param(pd.Timestamp(cursor - _OVERLAP_NS, tz="UTC")),
                    db.ts_param(pd.Timestamp(cursor, tz="UTC")),
                ),
            )
        )
        if getattr(self, known, None) == (cursor, n):
            return cursor
        setattr(self, known, None)
        return cursor - _OVERLAP_NS

    def _remember(self, table: str, column: str, cursor: int, known: str) -> None:
        db = self.db
        n = int(
            db.scalar(
                f"SELECT count(*) FROM {table} WHERE {column} > {db.p} AND {column} <= {db.p}",
                (
                    db.ts_param(pd.Timestamp(cursor - _OVERLAP_NS, tz="UTC")),
                    db.ts_param(pd.Timestamp(cursor, tz="UTC")),
                ),
            )
        )
        setattr(self, known, (cursor, n))

    def _new_transactions(self) -> pd.DataFrame:
        db = self.db
        since = self._since("transactions", "stored_at", self._tx_cursor, "_tx_overlap")
        frame = db.frame(
            "SELECT t.tx_id, t.ts, t.customer_id, t.merchant_id, t.amount, t.category, t.item_id, "
            f"t.stored_at FROM transactions t WHERE t.stored_at > {db.p} "
            "ORDER BY t.stored_at LIMIT 200000",
            (db.ts_param(pd.Timestamp(since, tz="UTC")),),
            ts=("ts", "stored_at"),
        ).assign(is_fraud=None)
        if frame.empty:
            self._remember("transactions", "stored_at", self._tx_cursor, "_tx_overlap")
            return frame
        if frame.empty:
            return frame
        stored = frame["stored_at"].astype("int64").to_numpy()
        fresh = ~frame["tx_id"].isin(self._seen.keys()).to_numpy()
        frame, stored = frame[fresh].copy(), stored[fresh]
        frame["is_fraud"] = latest_labels(db, frame["tx_id"].tolist()).to_numpy()
        self._seen.update(zip(frame["tx_id"], stored.tolist(), strict=True))
        if len(stored):
            self._tx_cursor = max(self._tx_cursor, int(stored.max()))
        horizon = self._tx_cursor - 2 * _OVERLAP_NS
        if len(self._seen) > 50_000 or len(stored) == 0:
            self._seen = {k: v for k, v in self._seen.items() if v >= horizon}
        self._remember("transactions", "stored_at", self._tx_cursor, "_tx_overlap")
        return frame.assign(stored_ns=stored)

    def _new_alerts(self) -> pd.DataFrame:
        db = self.db
        frame = db.frame(
            "SELECT a.tx_id, a.kind, a.raised_at, t.category FROM alerts a LEFT JOIN transactions t "
            f"ON t.tx_id = a.tx_id AND t.ts = a.ts WHERE a.raised_at > {db.p} "
            "ORDER BY a.raised_at LIMIT 200000",
            (
                db.ts_param(
                    pd.Timestamp(
                        self._since("alerts", "raised_at", self._alert_cursor, "_alert_overlap"), tz="UTC"
                    )
                ),
            ),
            ts=("raised_at",),
        )
        if frame.empty:
            self._remember("alerts", "raised_at", self._alert_cursor, "_alert_overlap")
            return frame
        raised = frame["raised_at"].astype("int64").to_numpy()
        keys = list(zip(frame["tx_id"], frame["kind"], strict=True))
        fresh = np.array([k not in self._seen_alerts for k in keys], dtype=bool)
        self._seen_alerts.update((k, r) for k, r, f in zip(keys, raised.tolist(), fresh, strict=True) if f)
        self._alert_cursor = max(self._alert_cursor, int(raised.max()))
        horizon = self._alert_cursor - 2 * _OVERLAP_NS
        self._seen_alerts = {k: v for k, v in self._seen_alerts.items() if v >= horizon}
        self._remember("alerts", "raised_at", self._alert_cursor, "_alert_overlap")
        return frame[fresh].assign(raised_ns=raised[fresh])

    def tick(self) -> dict[str, Any]:
        """Read what is new, fold it into the aggregates and publish a new summary."""
        with self.db.lock:
            tx = self._new_transactions()
            alerts = self._new_alerts()
        if len(tx):
            amounts = tx["amount"].to_numpy(float)
            fraud = tx["is_fraud"].map(lambda v: bool(v) if v is not None else False).to_numpy(bool)
            seconds = tx["stored_ns"].to_numpy() // 1_000_000_000
            for second in np.unique(seconds):
                mask = seconds == second
                self._bucket(int(second))[[0, 2, 3]] += (mask.sum(), amounts[mask].sum(), fraud[mask].sum())
            self.total += len(tx)
            self._since_start += (len(tx), amounts.sum(), (amounts**2).sum(), fraud.sum())
            self._amounts.extend(amounts[-_RECENT:].tolist())
            self._users.update(tx["customer_id"].astype(str).value_counts().to_dict())
            self._items.update(tx["item_id"].dropna().astype(str).value_counts().to_dict())
            for row in tx.tail(20).itertuples(index=False):
                self._table.append(
                    {
                        "tx_id": row.tx_id,
                        "customer_id": row.customer_id,
                        "amount": float(row.amount),
                        "item_id": row.item_id,
                        "category": row.category,
                        "ts": row.ts.isoformat(),
                        "is_fraud": None if row.is_fraud is None else bool(row.is_fraud),
                    }
                )
            self.counted_until_ns = max(self.counted_until_ns, int(tx["stored_ns"].max()))
        if len(alerts):
            seconds = alerts["raised_ns"].to_numpy() // 1_000_000_000
            for second, n in zip(*np.unique(seconds, return_counts=True), strict=True):
                self._bucket(int(second))[1] += n
            self.alerts_total += len(alerts)
            self._categories.update(alerts["category"].dropna().astype(str).value_counts().to_dict())
        return self._publish()

    def _publish(self) -> dict[str, Any]:
        now_s = int(time.time())
        seconds = list(range(now_s - _SERIES_S, now_s + 1))
        grid = np.array([self._per_second.get(s, np.zeros(4)) for s in seconds])
        last5 = grid[-6:-1].sum(axis=0)  # the five complete seconds before this one
        amounts = np.array(self._amounts, dtype=float)
        n, amount_sum, amount_sq, _ = self._since_start
        top_category = self._categories.most_common(1)
        edges = np.histogram_bin_edges(amounts, bins=15) if len(amounts) else np.zeros(16)
        summary = {
            "at": time.time(),
            "total": self.total,
            "alerts_total": self.alerts_total,
            "anomaly_pct": 100.0 * self.alerts_total / self.total if self.total else 0.0,
            "top_category": top_category[0][0] if top_category else None,
            "tx_per_s": last5[0] / 5,
            "alerts_per_s": last5[1] / 5,
            "fraud_rate": float(grid[-31:, 3].sum() / grid[-31:, 0].sum()) if grid[-31:, 0].sum() else None,
            "counted_until": self.counted_until_ns / 1e9,
            "series": {"t": seconds, "tx": grid[:, 0].tolist(), "alerts": grid[:, 1].tolist()},
            "amounts": amounts.tolist(),
            "histogram": {
                "edges": edges.tolist(),
                "counts": np.histogram(amounts, edges)[0].tolist() if len(amounts) else [0] * 15,
            },
            "table": list(self._table)[::-1],
            "statistics": {
                "transactions": int(n),
                "total_amount": round(float(amount_sum), 2),
                "mean_amount": float(amount_sum / n) if n else None,
                "median_amount": float(np.median(amounts)) if len(amounts) else None,
                "std_amount": float(math.sqrt(max(amount_sq / n - (amount_sum / n) ** 2, 0.0)))
                if n
                else None,
                "min_amount": float(amounts.min()) if len(amounts) else None,
                "max_amount": float(amounts.max()) if len(amounts) else None,
                "unique_users": len(self._users),
                "unique_items": len(self._items),
                "top_user": self._users.most_common(1)[0][0] if self._users else None,
                "top_item": self._items.most_common(1)[0][0] if self._items else None,
            },
            "stream": self.stream.summary() if self.stream is not None else None,
        }
        with self._changed:
            self.summary = summary
            self.version += 1
            self._changed.notify_all()
        return summary

    # ---- the background thread ----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dashboard-live", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # a store outage must not end the live page
                log.exception("live aggregation failed; retrying")
            self._stop.wait(max(0.05, self.interval_s - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait(self, after_version: int, timeout_s: float) -> tuple[int, dict[str, Any]]:
        """The next summary after ``after_version`` (or the current one after ``timeout_s``)."""
        with self._changed:
            self._changed.wait_for(lambda: self.version > after_version or self._stop.is_set(), timeout_s)
            return self.version, self.summary


class StreamFeed:
    """Counts transactions of a live stream server (``--stream host:port``) in a thread."""

    def __init__(self, host: str, port: int) -> None:
        from fraudstream.stream.client import DataStreamClient

        feed = self

        class _Client(DataStreamClient):
            def process_welcome(self, message: dict[str, Any]) -> None:
                feed.connected = True

            def process_transaction(self, transaction: dict[str, Any]) -> None:
                feed._times.append(time.time())
                feed.received += 1
                feed.last = transaction

        self.connected = False
        self.received = 0
        self.last: dict[str, Any] | None = None
        self._times: collections.deque[float] = collections.deque(maxlen=100_000)
        self.address = f"{host}:{port}"
        self.client = _Client(host, port, client_id="dashboard")
        self._thread = threading.Thread(
            target=self.client.connect_and_stream, name="dashboard-stream", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.client.stop()
        self._thread.join(timeout=3)

    def summary(self) -> dict[str, Any]:
        now = time.time()
        recent = sum(1 for t in list(self._times)[-50_000:] if now - 5 <= t < now)
        return {
            "address": self.address,
            "connected": self.connected,
            "received": self.received,
            "per_s": recent / 5,
            "last": self.last,
        }
