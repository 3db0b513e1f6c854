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

import datetime
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fraudstream.dashboard.statuses import StatusPlan, in_ranges, plan_status
from fraudstream.store import Store

if TYPE_CHECKING:
    from fraudstream.dashboard.rollups import Rollup

__all__ = ["COUNT_CAP", "SORT_COLUMNS", "STATUSES", "Database", "Filters"]

SORT_COLUMNS = ("ts", "amount", "customer_id", "merchant_id", "tx_id")
STATUSES = ("all", "alert", "fraud", "legit", "unlabelled")
COUNT_CAP = 100_000
"""Counts of filtered rows stop here (the page says "100,000+"), so a count never scans a
million rows just to number the pages."""

TRANSACTION_COLUMNS = (
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
)
"""The Explorer's columns read from ``transactions``; the rest come from the look-ups."""
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)
PAGE_COLUMNS = (*TRANSACTION_COLUMNS, "score", "verdict", "alert_status", "is_fraud")


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
                conn = self.store.conn  # type: ignore[attr-defined]
                if conn.prepare_threshold is not None:  # a new connection
                    # psycopg prepares a statement run 5 times and PostgreSQL may then use a generic
                    # plan, which cannot see how many ids an array holds: plan each query each time
                    conn.prepare_threshold = None
                    # the probe-per-row plans are costed as if they ran to the end (the planner's
                    # cost ignores the LIMIT's early stop), which crosses ``jit_above_cost``: JIT
                    # compilation then took 0.12 s of the Model page's 0.28 s of execution
                    conn.execute("SET jit = off")
            return self.store._query_with_names(sql, params)

    def frame(self, sql: str, params: Sequence[Any] = (), ts: Sequence[str] = ()) -> pd.DataFrame:
        """The rows of ``sql`` as a frame; the columns named in ``ts`` as UTC timestamps."""
        return self.to_frame(*self.rows(sql, params), ts=ts)

    def to_frame(self, names: list[str], rows: Sequence[Sequence[Any]], ts: Sequence[str] = ()) -> pd.DataFrame:
        """``rows`` as a frame; the columns named in ``ts`` as UTC timestamps, converted from the
        values as read (not from what pandas would first infer of them)."""
        if not ts:
            return pd.DataFrame.from_records(rows, columns=names)
        keep = [i for i, name in enumerate(names) if name not in ts]
        frame = pd.DataFrame.from_records([[r[i] for i in keep] for r in rows], columns=[names[i] for i in keep])
        for name in ts:
            at = names.index(name)
            frame[name] = self.times(pd.Series([r[at] for r in rows], dtype=object)).array
        return frame[names]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.rows(sql, params)[1][0][0]

    def ts_param(self, value: Any) -> Any:
        return self.store._ts_param(value)

    def times(self, values: pd.Series) -> pd.Series:
        """Event times as read from the database -> UTC timestamps. PostgreSQL's (timezone-aware
        ``datetime`` objects, microseconds) are counted in whole microseconds since 1970, about ten
        times faster than pandas parsing the objects one by one."""
        if not len(values):
            return pd.Series([], dtype="datetime64[ns, UTC]")
        if self.dialect == "postgresql" and values.dtype == object:
            micros = [None if v is None else (v - _EPOCH) // _MICROSECOND for v in values]
            stamps = pd.to_datetime(pd.array(micros, dtype="Int64"), unit="us", utc=True)
            return pd.Series(stamps.as_unit("ns"), index=values.index)
        return self.store._times_from_db(values)

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
        """Ids whose current label (as :meth:`latest_label` picks it) is ``value``."""
        return (
            f"SELECT l.tx_id FROM labels l WHERE l.is_fraud = {value} AND NOT EXISTS "
            "(SELECT 1 FROM labels l2 WHERE l2.tx_id = l.tx_id AND (l2.labelled_at > l.labelled_at "
            "OR (l2.labelled_at = l.labelled_at AND l2.source < l.source)))"
        )

    # ---- the Explorer --------------------------------------------------------------------------

    def selection(
        self,
        f: Filters,
        plan: StatusPlan,
        *,
        extra: str | None = None,
        extra_params: Sequence[Any] = (),
    ) -> tuple[str, list[Any]]:
        """``FROM ... WHERE ...`` of the transactions ``t`` matching ``f`` (their status read as
        ``plan`` says, :mod:`.statuses`) and its parameters. ``extra``: one more condition (with
        ``extra_params``)."""
        p, conditions, params = self.p, [], list(plan.source_params)
        if plan.hours:
            inside, hours = in_ranges(self, plan.hours)
            conditions.append(inside)
            params += hours
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
                conditions.append(f"t.{column} = {p}")
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
        if plan.condition:
            conditions.append(plan.condition)
            params += plan.condition_params
        if extra:
            conditions.append(extra)
            params += list(extra_params)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return f"FROM {plan.source}{where}", params

    def count(self, f: Filters, plan: StatusPlan | None = None, cap: int = COUNT_CAP) -> tuple[int, bool]:
        """(rows matching ``f`` up to ``cap``, whether there are more)."""
        selection, params = self.selection(f, plan or plan_status(self, f))
        n = int(self.scalar(f"SELECT count(*) FROM (SELECT 1 {selection} LIMIT {int(cap) + 1}) x", params))
        return min(n, cap), n > cap

    def _order(self, f: Filters) -> str:
        direction = "DESC" if f.descending else "ASC"
        return f"t.{f.sort} {direction}, t.tx_id {direction}"

    def with_state(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (transactions) with each row's score, verdict, alert status and current
        label, looked up once for all the rows (:mod:`.lookups`), in the Explorer's columns."""
        from fraudstream.dashboard.lookups import row_state

        frame = frame.reset_index(drop=True)
        frame["tx_id"] = frame["tx_id"].astype(str)
        state = row_state(self, frame[["tx_id", "ts"]])
        for column in ("score", "verdict", "alert_status", "is_fraud"):
            frame[column] = state[column].to_numpy()
        return frame[list(PAGE_COLUMNS)]

    def details(self, tx_ids: list[str], ts: Sequence[Any]) -> pd.DataFrame:
        """The Explorer's columns of the transactions ``(tx_ids, ts)``, in that order (``ts`` as
        read from the database, or timestamps)."""
        from fraudstream.dashboard.lookups import transactions_by_key

        if not tx_ids:
            return pd.DataFrame({c: [] for c in PAGE_COLUMNS})
        stamps = [self.ts_param(t) if isinstance(t, pd.Timestamp) else t for t in ts]
        keys = pd.DataFrame({"tx_id": [str(i) for i in tx_ids], "ts": self.times(pd.Series(stamps))})
        frame = transactions_by_key(self, keys, TRANSACTION_COLUMNS)
        order = {tx_id: i for i, tx_id in enumerate(keys["tx_id"])}
        frame = frame.iloc[np.argsort([order[i] for i in frame["tx_id"]], kind="stable")]
        return self.with_state(frame)

    def explore(self, f: Filters) -> tuple[pd.DataFrame, int, bool]:
        """(one page of rows, count up to :data:`COUNT_CAP`, whether the count was capped)."""
        plan = plan_status(self, f, page_only=True)
        selection, params = self.selection(f, plan)
        offset = (f.page - 1) * f.page_size
        counted = ", count(*) OVER ()" if plan.driven else ""  # the driving ids are all read anyway
        keys = self.rows(
            f"SELECT t.tx_id, t.ts{counted} {selection} ORDER BY {self._order(f)} "
            f"LIMIT {int(f.page_size)} OFFSET {int(offset)}",
            params,
        )[1]
        page = self.details([k[0] for k in keys], [k[1] for k in keys])
        known_total = int(keys[0][2]) if plan.driven and keys else plan.known_total
        if len(keys) < f.page_size and (keys or offset == 0):  # the last page: no need to count
            return page, offset + len(keys), False
        if known_total is not None:
            return page, min(known_total, COUNT_CAP), known_total > COUNT_CAP
        total, capped = self.count(f, plan)
        return page, total, capped

    def explore_all(self, f: Filters, chunk: int = 5000) -> Iterator[pd.DataFrame]:
        """Every row matching ``f`` in its order, ``chunk`` rows at a time (keyset paging)."""
        plan = plan_status(self, f)
        op, p = ("<" if f.descending else ">"), self.p
        columns = ", ".join(f"t.{c}" for c in TRANSACTION_COLUMNS)
        after: list[Any] = []
        while True:
            beyond = f"(t.{f.sort} {op} {p} OR (t.{f.sort} = {p} AND t.tx_id {op} {p}))" if after else None
            selection, params = self.selection(f, plan, extra=beyond, extra_params=after)
            names, rows = self.rows(
                f"SELECT {columns}, t.{f.sort} {selection} ORDER BY {self._order(f)} LIMIT {int(chunk)}", params
            )
            if not rows:
                return
            yield self.with_state(self.to_frame(names[:-1], [r[:-1] for r in rows], ts=("ts",)))
            if len(rows) < chunk:
                return
            after = [rows[-1][-1], rows[-1][-1], rows[-1][0]]

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
