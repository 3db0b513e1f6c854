"""Server-side queries of the dashboard, for SQLite and PostgreSQL alike.

Every value that comes from a user travels as a bound parameter; the only text spliced into
SQL is chosen from fixed lists here (sort columns, status conditions, dialect fragments).
Aggregation happens in the database; a page reads at most a page of rows.

>>> from fraudstream.store import open_store
>>> import pandas as pd
>>> with open_store("sqlite:///:memory:") as store:
...     _ = store.write_transactions(pd.DataFrame({"tx_id": [1, 2], "customer_id": [7, 8],
...         "ts": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True), "merchant_id": ["M1", "M2"],
...         "amount": [5.0, 7.5], "category": ["food", "travel"], "is_fraud": [False, True]}))
...     db = Database(store)
...     rows, total, capped = db.explore(Filters(customer="8"))
...     (rows["tx_id"].tolist(), total, db.explore(Filters(customer="8' OR '1'='1"))[1])
(['2'], 1, 0)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fraudstream.store import Store

if TYPE_CHECKING:
    from fraudstream.dashboard.rollups import Rollup

__all__ = ["COUNT_CAP", "SORT_COLUMNS", "STATUSES", "Database", "Filters"]

SORT_COLUMNS = ("ts", "amount", "customer_id", "merchant_id", "tx_id")
STATUSES = ("all", "alert", "fraud", "legit", "unlabelled")
MAX_HOUR_RANGES = 400
"""At most this many ranges of hours with unlabelled transactions go into one query."""
MAX_LISTED = 50_000
"""PostgreSQL: the ``fraud`` and ``alert`` filters list up to this many ids as an array."""
COUNT_CAP = 100_000
"""Counts of filtered rows stop here (the page says "100,000+"), so a count never scans a
million rows just to number the pages."""

PAGE_COLUMNS = (
    "tx_id",
    "ts",
    "customer_id",
    "merchant_id",
    "amount",
    "category",
    "channel",
    "country",
    "lat",
    "lon",
    "score",
    "verdict",
    "alert_status",
    "is_fraud",
)


@dataclass(frozen=True)
class Filters:
    """The Explorer's filters (all optional) plus sorting and paging."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    customer: str | None = None
    merchant: str | None = None
    category: str | None = None
    status: str = "all"
    amount_min: float | None = None
    amount_max: float | None = None
    q: str | None = None
    sort: str = "ts"
    descending: bool = True
    page: int = 1
    page_size: int = 50
    ignored: tuple[str, ...] = field(default=(), compare=False)
    """Messages about values that could not be used (shown on the page, never an error page)."""

    @classmethod
    def parse(cls, params: dict[str, Any]) -> Filters:
        """Filters from query parameters; a value that does not parse is left out and named in
        :attr:`ignored`.

        >>> f = Filters.parse({"amount_min": "1; DROP TABLE x", "sort": "amount", "start": "2024-01-02"})
        >>> f.amount_min, f.sort, str(f.start), f.ignored
        (None, 'amount', '2024-01-02 00:00:00+00:00', ("amount_min: not a number: '1; DROP TABLE x'",))
        """
        ignored: list[str] = []
        values: dict[str, Any] = {}

        def text(name: str) -> None:
            value = str(params.get(name) or "").strip()
            if value:
                values[name] = value[:200]

        for name in ("customer", "merchant", "category", "q"):
            text(name)
        for name in ("start", "end"):
            value = str(params.get(name) or "").strip()
            if value:
                try:
                    stamp = pd.Timestamp(value)
                    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
                    if name == "end" and len(value) <= 10:  # a date: include that whole day
                        stamp += pd.Timedelta(days=1)
                    values[name] = stamp
                except (ValueError, TypeError, OverflowError):
                    ignored.append(f"{name}: not a date: {value[:60]!r}")
        for name in ("amount_min", "amount_max"):
            value = str(params.get(name) or "").strip()
            if value:
                try:
                    number = float(value)
                    if not np.isfinite(number):
                        raise ValueError(value)
                    values[name] = number
                except ValueError:
                    ignored.append(f"{name}: not a number: {value[:60]!r}")
        status = str(params.get("status") or "all")
        if status in STATUSES:
            values["status"] = status
        else:
            ignored.append(f"status: must be one of {', '.join(STATUSES)}, got {status[:60]!r}")
        sort = str(params.get("sort") or "ts")
        if sort in SORT_COLUMNS:
            values["sort"] = sort
        else:
            ignored.append(f"sort: must be one of {', '.join(SORT_COLUMNS)}, got {sort[:60]!r}")
        values["descending"] = str(params.get("order") or "desc") != "asc"
        for name, low, high in (("page", 1, 10**7), ("page_size", 1, 500)):
            value = str(params.get(name) or "").strip()
            if value:
                try:
                    values[name] = min(max(int(value), low), high)
                except ValueError:
                    ignored.append(f"{name}: not a whole number: {value[:60]!r}")
        return cls(**values, ignored=tuple(ignored))

    def query_string(self, **changes: Any) -> str:
        """These filters (with ``changes``) as URL query parameters."""
        from urllib.parse import urlencode

        f = replace(self, **changes)
        pairs = {
            "start": f.start.isoformat() if f.start is not None else None,
            "end": f.end.isoformat() if f.end is not None else None,
            "customer": f.customer,
            "merchant": f.merchant,
            "category": f.category,
            "status": None if f.status == "all" else f.status,
            "amount_min": f.amount_min,
            "amount_max": f.amount_max,
            "q": f.q,
            "sort": f.sort,
            "order": "desc" if f.descending else "asc",
            "page": f.page if f.page > 1 else None,
            "page_size": f.page_size if f.page_size != 50 else None,
        }
        return urlencode({k: v for k, v in pairs.items() if v is not None})


class Database:
    """The dashboard's read (and triage) access to a store; one query at a time per store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dialect = store.dialect
        self.p = store.placeholder
        self.true = "TRUE" if self.dialect == "postgresql" else "1"
        self.false = "FALSE" if self.dialect == "postgresql" else "0"
        self.lock = threading.RLock()
        self.rollup: Rollup | None = None
        """Hourly rollups (set by the app): the ``unlabelled`` filter reads only hours that have some."""

    # ---- plumbing ------------------------------------------------------------------------

    def rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.lock, self.store._errors():
            if self.dialect == "postgresql":
                # psycopg prepares a statement run 5 times and PostgreSQL may then use a generic
                # plan, which cannot prune partitions by ``ts = ANY(...)`` at planning time nor
                # see how many ids an array holds: the dashboard's queries are planned each time
                conn = self.store.conn  # type: ignore[attr-defined]
                if conn.prepare_threshold is not None:
                    conn.prepare_threshold = None
            return self.store._query_with_names(sql, params)

    def frame(self, sql: str, params: Sequence[Any] = (), ts: Sequence[str] = ()) -> pd.DataFrame:
        names, rows = self.rows(sql, params)
        frame = pd.DataFrame.from_records(rows, columns=names)
        for name in ts:
            frame[name] = self.times(frame[name])
        return frame

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.rows(sql, params)[1][0][0]

    def ts_param(self, value: Any) -> Any:
        return self.store._ts_param(value)

    def times(self, values: pd.Series) -> pd.Series:
        return (
            self.store._times_from_db(values) if len(values) else pd.Series([], dtype="datetime64[ns, UTC]")
        )

    # ---- dialect fragments (constants only) ----------------------------------------------------

    def hour(self, column: str) -> str:
        if self.dialect == "postgresql":
            return f"CAST(extract(hour FROM {column} AT TIME ZONE 'UTC') AS INTEGER)"
        return f"(({column} / 3600000000000) % 24)"

    def weekday(self, column: str) -> str:
        """0 = Monday ... 6 = Sunday (UTC)."""
        if self.dialect == "postgresql":
            return f"(CAST(extract(isodow FROM {column} AT TIME ZONE 'UTC') AS INTEGER) - 1)"
        return f"((({column} / 86400000000000) + 3) % 7)"

    def bucket(self, column: str, seconds: int) -> str:
        seconds = int(seconds)
        if self.dialect == "postgresql":
            return f"date_bin(INTERVAL '{seconds} seconds', {column}, TIMESTAMPTZ '1970-01-01 00:00:00+00')"
        return f"(({column} / {seconds * 1_000_000_000}) * {seconds * 1_000_000_000})"

    def latest_label(self, alias: str = "t") -> str:
        return (
            f"(SELECT l.is_fraud FROM labels l WHERE l.tx_id = {alias}.tx_id "
            "ORDER BY l.labelled_at DESC, l.source LIMIT 1)"
        )

    def _current_labels(self, value: str) -> str:
        return (
            f"SELECT l.tx_id FROM labels l WHERE l.is_fraud = {value} AND NOT EXISTS "
            "(SELECT 1 FROM labels l2 "
            "WHERE l2.tx_id = l.tx_id AND l2.labelled_at > l.labelled_at)"
        )

    # ---- the Explorer --------------------------------------------------------------------------

    def where(
        self, f: Filters, *, ordered: bool = False, hours: Sequence[tuple[int, int]] | None = None
    ) -> tuple[str, list[Any]]:
        """``WHERE ...`` of ``f`` over ``transactions t`` and its parameters. ``ordered``: for a
        page sorted by amount, keep the planner off the category index (``category || ''``), so
        it walks the amount index and stops after a page instead of sorting a whole category
        (unless the ``(category, amount)`` index serves both). ``hours``: ``[start, end)``
        nanosecond ranges of event time to keep to (the hours that hold unlabelled rows)."""
        p, conditions, params = self.p, [], []
        if hours:
            conditions.append("(" + " OR ".join([f"(t.ts >= {p} AND t.ts < {p})"] * len(hours)) + ")")
            for start, end in hours:
                params += [
                    self.ts_param(pd.Timestamp(start, tz="UTC")),
                    self.ts_param(pd.Timestamp(end, tz="UTC")),
                ]
        if f.start is not None:
            conditions.append(f"t.ts >= {p}")
            params.append(self.ts_param(f.start))
        if f.end is not None:
            conditions.append(f"t.ts < {p}")
            params.append(self.ts_param(f.end))
        for name, column in (
            ("customer", "customer_id"),
            ("merchant", "merchant_id"),
            ("category", "category"),
        ):
            value = getattr(f, name)
            if value is not None:
                unindexed = (
                    ordered
                    and name == "category"
                    and f.sort == "amount"
                    and (f.customer or f.merchant) is not None
                )
                conditions.append(f"t.{column} || '' = {p}" if unindexed else f"t.{column} = {p}")
                params.append(value)
        if f.amount_min is not None:
            conditions.append(f"t.amount >= {p}")
            params.append(f.amount_min)
        if f.amount_max is not None:
            conditions.append(f"t.amount <= {p}")
            params.append(f.amount_max)
        if f.q:
            pattern = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(
                " OR ".join(
                    f"t.{c} LIKE {p} ESCAPE '\\'" for c in ("tx_id", "customer_id", "merchant_id")
                ).join("()")
            )
            params += [pattern] * 3
        status_sql = self._listed_status(f.status, params) if self.dialect == "postgresql" else None
        status_sql = status_sql or {
            "all": None,
            "alert": "t.tx_id IN (SELECT a.tx_id FROM alerts a)",
            "fraud": f"t.tx_id IN ({self._current_labels(self.true)})",
            # most labels say legitimate: check each row (a page stops early) instead of listing them all
            "legit": f"{self.latest_label()} = {self.false}",
            "unlabelled": "NOT EXISTS (SELECT 1 FROM labels l WHERE l.tx_id = t.tx_id)",
        }[f.status]
        if status_sql:
            conditions.append(status_sql)
        return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), params

    def fraud_ids(self) -> list[str]:
        """Ids of the transactions whose current label says fraud: the few fraud labels (partial
        index ``labels_fraud_tx_id_idx``), kept where that is still the newest label."""
        from fraudstream.dashboard.lookups import latest_labels

        ids = [r[0] for r in self.rows(f"SELECT DISTINCT l.tx_id FROM labels l WHERE l.is_fraud = {self.true}")[1]]
        current = latest_labels(self, ids)
        return [i for i, v in zip(ids, current, strict=True) if v is True]

    def _listed_status(self, status: str, params: list[Any]) -> str | None:
        """PostgreSQL: ``fraud`` / ``alert`` as ``t.tx_id = ANY(<ids read first>)`` (appending the
        array to ``params``) when at most :data:`MAX_LISTED` ids qualify; None otherwise. The
        planner cannot see how few rows the subqueries give and hashes every transaction and
        label; a list of constants makes it probe the ``tx_id`` index of each partition instead."""
        if status == "fraud":
            ids = self.fraud_ids()
        elif status == "alert":
            ids = [r[0] for r in self.rows(f"SELECT DISTINCT a.tx_id FROM alerts a LIMIT {MAX_LISTED + 1}")[1]]
        else:
            return None
        if len(ids) > MAX_LISTED:
            return None
        params.append(ids)
        return f"t.tx_id = ANY({self.p})"

    def count(
        self, f: Filters, cap: int = COUNT_CAP, hours: Sequence[tuple[int, int]] | None = None
    ) -> tuple[int, bool]:
        """(rows matching ``f`` up to ``cap``, whether there are more)."""
        where, params = self.where(f, hours=hours)
        n = int(
            self.scalar(
                f"SELECT count(*) FROM (SELECT 1 FROM transactions t {where} LIMIT {int(cap) + 1}) x", params
            )
        )
        return min(n, cap), n > cap

    def _order(self, f: Filters) -> str:
        direction = "DESC" if f.descending else "ASC"
        return f"t.{f.sort} {direction}, t.tx_id {direction}"

    def details(self, tx_ids: list[str], ts: Sequence[Any] | None = None) -> pd.DataFrame:
        """The Explorer's columns of ``tx_ids`` (in that order); ``ts``: their event times when
        known (as read from the database), which lets PostgreSQL prune partitions. Labels,
        decisions and alerts are looked up once for all the rows (:mod:`.lookups`)."""
        from fraudstream.dashboard.lookups import _in, row_state

        if not tx_ids:
            return pd.DataFrame({c: [] for c in PAGE_COLUMNS})
        condition, params = _in(self, "t.tx_id", tx_ids)
        if ts is not None and self.dialect == "postgresql":
            ts_condition, ts_params = _in(self, "t.ts", list(dict.fromkeys(ts)))
            condition, params = f"{condition} AND {ts_condition}", params + ts_params
        frame = self.frame(
            "SELECT t.tx_id, t.ts, t.customer_id, t.merchant_id, t.amount, t.category, t.channel, t.country, "
            f"t.lat, t.lon FROM transactions t WHERE {condition}",
            params,
            ts=("ts",),
        )
        frame["tx_id"] = frame["tx_id"].astype(str)
        state = row_state(self, frame[["tx_id", "ts"]])
        for column in ("score", "verdict", "alert_status", "is_fraud"):
            frame[column] = state[column].to_numpy()
        order = {str(tx_id): i for i, tx_id in enumerate(tx_ids)}
        frame = frame.iloc[np.argsort([order[i] for i in frame["tx_id"]], kind="stable")]
        return frame.reset_index(drop=True)[list(PAGE_COLUMNS)]

    def unlabelled_hours(self, f: Filters) -> tuple[list[tuple[int, int]] | None, int | None]:
        """For ``status=unlabelled``: (ranges of hours holding unlabelled transactions, enough
        for the page when it is sorted by time and otherwise unfiltered; their exact count when
        that is all the filter asks) from the rollup; (None, None) without a current rollup."""
        from fraudstream.dashboard.rollups import _ranges

        if f.status != "unlabelled" or self.rollup is None or not self.rollup.ready(self):
            return None, None
        with self.lock:
            hours = self.rollup.unlabelled_hours(self, descending=f.descending)
        plain = f == Filters(status="unlabelled", descending=f.descending, page=f.page, page_size=f.page_size)
        total = sum(n for _, n in hours)
        if plain:  # newest (oldest) hours until the page is covered
            need, taken = f.page * f.page_size + 1, 0
            for i, (_, n) in enumerate(hours):
                taken += n
                if taken >= need:
                    hours = hours[: i + 1]
                    break
        starts = np.sort(np.array([h for h, _ in hours], dtype=np.int64))
        ranges = _ranges(starts, 10**9)
        if not ranges:
            ranges = [(0, 0)]  # nothing is unlabelled: an empty range
        if len(ranges) > MAX_HOUR_RANGES:
            return None, None
        return ranges, total if plain else None

    def explore(self, f: Filters) -> tuple[pd.DataFrame, int, bool]:
        """(one page of rows, count up to :data:`COUNT_CAP`, whether the count was capped)."""
        hours, known_total = self.unlabelled_hours(f)
        where, params = self.where(f, ordered=True, hours=hours)
        offset = (f.page - 1) * f.page_size
        keys = self.rows(
            f"SELECT t.tx_id, t.ts FROM transactions t {where} ORDER BY {self._order(f)} "
            f"LIMIT {int(f.page_size)} OFFSET {int(offset)}",
            params,
        )[1]
        ids, stamps = [k[0] for k in keys], [k[1] for k in keys]
        if len(ids) < f.page_size and (ids or offset == 0):  # the last page: no need to count
            return self.details(ids, stamps), offset + len(ids), False
        if known_total is not None:
            return self.details(ids, stamps), min(known_total, COUNT_CAP), known_total > COUNT_CAP
        total, capped = self.count(f, hours=hours)
        return self.details(ids, stamps), total, capped

    def explore_all(self, f: Filters, chunk: int = 5000) -> Iterator[pd.DataFrame]:
        """Every row matching ``f`` in its order, ``chunk`` rows at a time (keyset paging)."""
        where, params = self.where(f)
        op = "<" if f.descending else ">"
        after: tuple[Any, Any] | None = None
        while True:
            extra, extra_params = "", []
            if after is not None:
                p = self.p
                extra = (
                    f"{'AND' if where else 'WHERE'} (t.{f.sort} {op} {p} OR (t.{f.sort} = {p} "
                    f"AND t.tx_id {op} {p}))"
                )
                extra_params = [after[0], after[0], after[1]]
            keys = self.rows(
                f"SELECT t.tx_id, t.{f.sort}, t.ts FROM transactions t {where} {extra} "
                f"ORDER BY {self._order(f)} LIMIT {int(chunk)}",
                params + extra_params,
            )[1]
            if not keys:
                return
            yield self.details([k[0] for k in keys], [k[2] for k in keys])
            if len(keys) < chunk:
                return
            after = (keys[-1][1], keys[-1][0])

    def categories(self, limit: int = 200) -> list[str]:
        """Distinct categories (for the filter's list): a skip scan of the category index, one
        probe per category instead of a pass over every transaction."""
        p = self.p
        sql = (
            "WITH RECURSIVE c(v) AS (SELECT min(category) FROM transactions UNION ALL "
            "SELECT (SELECT min(t.category) FROM transactions t WHERE t.category > c.v) FROM c "
            f"WHERE c.v IS NOT NULL) SELECT v FROM c WHERE v IS NOT NULL LIMIT {p}"
        )
        return [r[0] for r in self.rows(sql, (int(limit),))[1]]
