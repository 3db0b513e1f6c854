"""The :class:`Store` interface: one API over SQLite and PostgreSQL.

A store holds transactions, their labels, detector decisions, alerts, customer behaviour
profiles, the model registry, metrics and checkpoints (see ``docs/storage.md``). Every write
takes a whole frame (a micro-batch) and is **idempotent**: writing the same rows again stores
nothing twice (transactions by ``tx_id``; decisions by ``(tx_id, model_version)``; alerts by
``(tx_id, kind)``; labels by ``(tx_id, source, labelled_at)``). A write may carry a
``checkpoint=(name, value)`` that is committed in the same database transaction as its rows, and
:meth:`Store.batch` groups several writes and checkpoints into one transaction.

Labels keep their history: each ``(tx_id, source, labelled_at)`` is one row; the current label
of a transaction is its latest one (:meth:`Store.read_labels` with ``latest_only=True``).

>>> from fraudstream.store import open_store
>>> import pandas as pd
>>> with open_store("sqlite:///:memory:") as store:
...     frame = pd.DataFrame({"tx_id": [1, 2], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
...         "customer_id": [7, 7], "merchant_id": ["M1", "M2"], "amount": [5.0, 7.5],
...         "is_fraud": [False, True]})
...     first, again = store.write_transactions(frame), store.write_transactions(frame)
...     (first, again, store.count("transactions"), store.read_labels()["is_fraud"].tolist())
(2, 0, 2, [False, True])
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa

from fraudstream.errors import StoreError
from fraudstream.store import frames
from fraudstream.store.migrations import LATEST, VERSION_TABLE_SQL, pending
from fraudstream.store.schema import TABLES_BY_NAME, Table

__all__ = ["Checkpoint", "Store", "StoreUnavailable"]

log = logging.getLogger(__name__)

Checkpoint = tuple[str, Any]
"""``(name, value)``: a checkpoint written atomically with the data it covers (value: JSON-able)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now (connection refused or lost, database locked).

    Retrying later may succeed; :class:`~fraudstream.store.buffered.BufferedWriter` does."""


class Store(ABC):
    """A database of transactions, labels, decisions, alerts, profiles, models, metrics and
    checkpoints. Use as a context manager; back ends implement the few primitives at the end."""

    dialect: str
    placeholder: str = "?"
    partition_months: int = 1
    """Months a time partition spans (PostgreSQL's ``partition_months``; 1 where nothing is partitioned)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._depth = 0

    # ---- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()!r})"

    def describe(self) -> str:
        """Where the store is, without secrets (e.g. ``PostgreSQL at 127.0.0.1:5432``)."""
        return self.url

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def reconnect(self) -> None:
        """Drop the connection and open a new one (:class:`StoreUnavailable` if that fails)."""

    # ---- migrations ------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version of the database (0: empty)."""
        rows = self._query("SELECT max(version) FROM schema_version")
        return int(rows[0][0] or 0)

    def migrate(self) -> list[int]:
        """Apply the pending migrations in order (idempotent); return the versions applied."""
        try:
            current: int | None = self.schema_version()
        except StoreUnavailable:
            raise
        except StoreError:  # no schema_version table yet
            self._rollback_quietly()
            current = None
        if current is not None and not pending(current):
            return []  # up to date: no write lock needed
        applied = []
        with self.batch():
            self._lock_for_migration()
            self._execute(VERSION_TABLE_SQL[self.dialect])
            for migration in pending(self.schema_version()):
                for statement in migration.statements(self.dialect, self._partitioning()):
                    self._execute(statement)
                self._execute(
                    f"INSERT INTO schema_version (version, description) VALUES "
                    f"({self.placeholder}, {self.placeholder})",
                    (migration.version, migration.description),
                )
                applied.append(migration.version)
        if applied:
            log.info("%s: applied schema migrations %s (now at version %d)", self.describe(), applied, LATEST)
        return applied

    def _lock_for_migration(self) -> None:  # noqa: B027 (optional hook)
        """Serialise concurrent migrations (SQLite's BEGIN IMMEDIATE already does)."""

    def _partitioning(self) -> str:
        return "none"

    # ---- transactions of the database ------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[Store]:
        """One database transaction around every write and checkpoint inside the block: all of
        them are stored, or (on an exception) none."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        with self._errors():
            self._begin()
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._rollback_quietly()
            raise
        self._depth = 0
        with self._errors():
            self._commit()

    def _checkpoint_in(self, checkpoint: Checkpoint | None) -> None:
        if checkpoint is not None:
            self.checkpoint(*checkpoint)

    # ---- writes ------------------------------------------------------------------------------

    def write_transactions(
        self,
        frame: pd.DataFrame,
        *,
        source: str | None = None,
        label_source: str = "file",
        checkpoint: Checkpoint | None = None,
    ) -> int:
        """Store canonical transactions once each (by ``tx_id``); labels (``is_fraud``,
        ``fraud_pattern``) go to the ``labels`` table, dated at the transaction's time, from
        ``label_source``. Returns the number of transactions newly stored."""
        rows, labels = frames.transaction_rows(frame, source=source, label_source=label_source)
        return self.write_transaction_rows(rows, labels, checkpoint=checkpoint)

    def write_transaction_rows(
        self, rows: pa.Table, labels: pa.Table | None = None, *, checkpoint: Checkpoint | None = None
    ) -> int:
        """:meth:`write_transactions` for rows already converted by
        :func:`frames.transaction_rows <fraudstream.store.frames.transaction_rows>` (unique by
        ``tx_id``; ``labels`` row for row with ``rows`` or None), so a caller can convert in
        another thread than the one writing (``fraudstream import`` does)."""
        with self.batch():
            stored = self._insert_transactions(rows) if len(rows) else 0
            if labels is not None and len(labels):
                self._insert_labels_of_new(labels, rows.num_rows == stored)
            self._checkpoint_in(checkpoint)
        return stored

    def encode_ahead(self, table: str, rows: pa.Table) -> None:  # noqa: B027 - a hint, not abstract
        """A hint inside :meth:`batch`: ``rows`` (converted by :mod:`~fraudstream.store.frames`)
        are about to be written to ``table`` as they are. A store may start turning them into its
        wire format in the background; this one does nothing."""

    def keep_partitions_ahead(self, count: int) -> None:  # noqa: B027 - only partitioned stores act
        """Make the ``count`` time partitions after the latest one written in the background, so
        that a stream's writes seldom wait for one to be made. A no-op here."""

    @contextmanager
    def bulk_load(self) -> Iterator[Store]:
        """Session settings for a long series of bulk writes that can be re-run (an import):
        PostgreSQL commits without waiting for the WAL flush (``synchronous_commit = off``: a
        server crash may lose the last commits, data and checkpoint together, never half of
        one; re-running the import stores them again). A no-op on SQLite."""
        yield self

    def write_decisions(self, frame: pd.DataFrame, *, checkpoint: Checkpoint | None = None) -> int:
        """Store detector decisions: ``tx_id, score, verdict, model_version, reasons`` (dict or
        JSON text), ``decided_at`` (default now) and ``ts``, the transaction's event time (looked
        up among stored transactions when absent). A decision for the same ``(tx_id,
        model_version)`` replaces the earlier one."""
        frame = self._with_event_time(frame)
        rows = frames.table_rows(TABLES_BY_NAME["decisions"], frame, {"decided_at": frames.now_utc()})
        return self._write(TABLES_BY_NAME["decisions"], rows, update=True, checkpoint=checkpoint)

    def write_alerts(self, frame: pd.DataFrame, *, checkpoint: Checkpoint | None = None) -> int:
        """Store alerts: ``tx_id, kind`` (rule or detector), optional ``customer_id, severity,
        score, message, details``, ``raised_at`` (default now), ``status`` (default ``open``) and
        ``ts`` as for decisions. The same ``(tx_id, kind)`` replaces the earlier alert."""
        frame = self._with_event_time(frame)
        rows = frames.table_rows(
            TABLES_BY_NAME["alerts"], frame, {"raised_at": frames.now_utc(), "status": "open"}
        )
        return self._write(TABLES_BY_NAME["alerts"], rows, update=True, checkpoint=checkpoint)

    def write_labels(self, frame: pd.DataFrame, *, checkpoint: Checkpoint | None = None) -> int:
        """Store labels: ``tx_id, is_fraud``, ``source`` (stream / review / file, default
        review), ``labelled_at`` (default now), optional ``fraud_pattern``. Each label is kept
        (history); writing the same ``(tx_id, source, labelled_at)`` again replaces it."""
        rows = frames.table_rows(
            TABLES_BY_NAME["labels"], frame, {"source": "review", "labelled_at": frames.now_utc()}
        )
        frames.check_label_sources(rows)
        return self._write(TABLES_BY_NAME["labels"], rows, update=True, checkpoint=checkpoint)

    def upsert_profiles(self, frame: pd.DataFrame, *, checkpoint: Checkpoint | None = None) -> int:
        """Store behaviour profiles (see :mod:`fraudstream.store.profiles`), one per
        ``customer_id``; a stored profile is replaced unless its ``latest_ts`` is newer."""
        rows = frames.table_rows(TABLES_BY_NAME["profiles"], frame, {"updated_at": frames.now_utc()})
        with self.batch():
            count = self._upsert_profiles(rows) if len(rows) else 0
            self._checkpoint_in(checkpoint)
        return count

    def register_model(
        self,
        name: str,
        version: str,
        path: str | None = None,
        metadata: dict[str, Any] | None = None,
        created_at: Any = None,
    ) -> None:
        """Add (or replace) model ``name`` ``version`` in the registry."""
        frame = pd.DataFrame(
            {
                "name": [name],
                "version": [version],
                "path": [path],
                "metadata": [metadata],
                "created_at": [created_at if created_at is not None else frames.now_utc()],
            }
        )
        self._write(TABLES_BY_NAME["models"], frames.table_rows(TABLES_BY_NAME["models"], frame), update=True)

    def write_rows(self, table: str, rows: pa.Table, *, checkpoint: Checkpoint | None = None) -> int:
        """:meth:`write_decisions`, :meth:`write_alerts` or :meth:`write_labels` for rows already
        converted by :func:`frames.table_rows <fraudstream.store.frames.table_rows>` (event times
        included), so that the conversion can run elsewhere than the writer (``detect`` does)."""
        if table not in ("decisions", "alerts", "labels"):
            raise StoreError(f"write_rows takes decisions, alerts or labels, not {table!r}")
        return self._write(TABLES_BY_NAME[table], rows, update=True, checkpoint=checkpoint)

    def write_metrics(self, frame: pd.DataFrame) -> int:
        """Store metric points: ``name, value, at`` (default now), ``labels`` (dict, default {})."""
        frame = frame.copy()
        if "labels" not in frame.columns:
            frame["labels"] = [{}] * len(frame)
        frame["labels"] = [
            v if isinstance(v, dict) else json.loads(v) if isinstance(v, str) else {} for v in frame["labels"]
        ]
        rows = frames.table_rows(TABLES_BY_NAME["metrics"], frame, {"at": frames.now_utc()})
        return self._write(TABLES_BY_NAME["metrics"], rows, update=True)

    def checkpoint(self, name: str, value: Any) -> None:
        """Set checkpoint ``name`` to ``value`` (JSON-able); inside :meth:`batch` (or as a write's
        ``checkpoint=``) it commits together with the data."""
        frame = pd.DataFrame({"name": [name], "value": [json.dumps(value)], "updated_at": [frames.now_utc()]})
        table = TABLES_BY_NAME["checkpoints"]
        with self.batch():
            self._upsert(table, frames.table_rows(table, frame), update=True)

    def _write(
        self, table: Table, rows: pa.Table, *, update: bool, checkpoint: Checkpoint | None = None
    ) -> int:
        with self.batch():
            count = self._upsert(table, rows, update=update) if len(rows) else 0
            self._checkpoint_in(checkpoint)
        return count

    def _with_event_time(self, frame: pd.DataFrame) -> pd.DataFrame:
        if "ts" in frame.columns:
            return frame
        ids = frames.text_ids(frame["tx_id"]).to_pylist()
        found = dict(self._event_times(ids))
        missing = [i for i in ids if i not in found]
        if missing:
            raise StoreError(
                f"tx_id {missing[0]!r} is not a stored transaction: give the decision or alert "
                "a ts column (the transaction's event time)"
            )
        return frame.assign(
            ts=pd.to_datetime(pd.Series([found[i] for i in ids], index=frame.index), utc=True)
        )

    # ---- reads -------------------------------------------------------------------------------

    def count(self, table: str) -> int:
        """Rows in ``table``."""
        if table not in TABLES_BY_NAME and table != "schema_version":
            raise StoreError(f"unknown table {table!r}; tables: {', '.join(TABLES_BY_NAME)}")
        return int(self._query(f"SELECT count(*) FROM {table}")[0][0])

    def read_checkpoint(self, name: str, default: Any = None) -> Any:
        """The value of checkpoint ``name``, or ``default`` when never set."""
        rows = self._query(f"SELECT value FROM checkpoints WHERE name = {self.placeholder}", (name,))
        if not rows:
            return default
        value = rows[0][0]
        return json.loads(value) if isinstance(value, str) else value

    def read_labels(self, since: Any = None, *, latest_only: bool = False) -> pd.DataFrame:
        """Labels with ``labelled_at`` after ``since`` (all when None), oldest first; with
        ``latest_only`` only the current (latest) label of each transaction."""
        where, params = self._since("labelled_at", since)
        frame = self._frame(
            f"SELECT tx_id, source, labelled_at, is_fraud, fraud_pattern FROM labels {where} "
            "ORDER BY labelled_at, tx_id, source",
            params,
            TABLES_BY_NAME["labels"],
        )
        if latest_only and len(frame):
            frame = frame.drop_duplicates("tx_id", keep="last").reset_index(drop=True)
        frame["tx_id"] = frames.restore_ids(frame["tx_id"])
        return frame

    def read_labels_page(
        self, source: str, after: tuple[Any, str] | None = None, *, until: Any = None, limit: int = 10_000
    ) -> pd.DataFrame:
        """One page of an incremental read of the labels of ``source``: at most ``limit`` labels
        whose key ``(labelled_at, tx_id)`` comes after ``after`` (from the first when None) and
        whose ``labelled_at <= until`` (when given), in key order. The key of the last row (its
        ``labelled_at`` and its ``tx_id`` as text) is the ``after`` of the next page, so a page
        boundary between two labels of the same instant neither skips nor repeats one.

        >>> from fraudstream.store import open_store
        >>> with open_store("sqlite:///:memory:") as store:
        ...     _ = store.write_labels(pd.DataFrame({"tx_id": [3, 1, 2], "is_fraud": [True, False, True],
        ...         "labelled_at": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-01"], utc=True)}))
        ...     first = store.read_labels_page("review", limit=2)
        ...     last = first.iloc[-1]
        ...     rest = store.read_labels_page("review", (last["labelled_at"], str(last["tx_id"])))
        ...     first["tx_id"].tolist(), rest["tx_id"].tolist()
        ([1, 2], [3])
        """
        if source not in frames.LABEL_SOURCES:
            raise StoreError(f"labels: source must be one of {', '.join(frames.LABEL_SOURCES)}, got {source!r}")
        p = self.placeholder
        conditions, params = [f"source = {p}"], [source]
        if after is not None:
            at = self._ts_param(after[0])
            conditions.append(f"labelled_at >= {p} AND (labelled_at > {p} OR tx_id > {p})")
            params += [at, at, str(after[1])]
        if until is not None:
            conditions.append(f"labelled_at <= {p}")
            params.append(self._ts_param(until))
        frame = self._frame(
            f"SELECT tx_id, source, labelled_at, is_fraud, fraud_pattern FROM labels "
            f"WHERE {' AND '.join(conditions)} ORDER BY labelled_at, tx_id LIMIT {int(limit)}",
            params,
            TABLES_BY_NAME["labels"],
        )
        frame["tx_id"] = frames.restore_ids(frame["tx_id"])
        return frame

    def transactions(
        self,
        start: Any = None,
        end: Any = None,
        customer_id: Any = None,
        *,
        limit: int = 1000,
        offset: int = 0,
        with_labels: bool = False,
    ) -> pd.DataFrame:
        """Stored transactions with ``start <= ts < end`` (either may be None), optionally of one
        customer, ordered by time and id, ``limit`` rows from ``offset``: a canonical frame with
        the attrs expanded and, ``with_labels``, each transaction's current ``is_fraud`` and
        ``fraud_pattern`` (None when unlabelled)."""
        table = TABLES_BY_NAME["transactions"]
        conditions, params = [], []
        p = self.placeholder
        for column, op, value in (("ts", ">=", start), ("ts", "<", end)):
            if value is not None:
                conditions.append(f"t.{column} {op} {p}")
                params.append(self._ts_param(value))
        if customer_id is not None:
            conditions.append(f"t.customer_id = {p}")
            params.append(str(customer_id))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        columns = ", ".join(f"t.{c}" for c in table.column_names)
        label_sql = ""
        if with_labels:
            columns += ", l.is_fraud, l.fraud_pattern"
            label_sql = (
                "LEFT JOIN (SELECT tx_id, is_fraud, fraud_pattern, row_number() OVER (PARTITION BY "
                "tx_id ORDER BY labelled_at DESC, source DESC) AS k FROM labels) l ON l.tx_id = t.tx_id "
                "AND l.k = 1"
            )
        sql = (
            f"SELECT {columns} FROM transactions t {label_sql} {where} ORDER BY t.ts, t.tx_id "
            f"LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        types = {**table.types(), "is_fraud": "bool", "fraud_pattern": "text"}
        frame = self._frame(sql, params, types=types)
        for column in ("tx_id", "customer_id", "merchant_id"):
            frame[column] = frames.restore_ids(frame[column])
        frame = frames.expand_attrs(frame.drop(columns=["stored_at"]))
        if with_labels:
            frame["is_fraud"] = [None if pd.isna(v) else bool(v) for v in frame["is_fraud"]]
        return frame

    def decisions(self, since: Any = None) -> pd.DataFrame:
        """Decisions with ``decided_at`` after ``since``, oldest first."""
        return self._read_table("decisions", "decided_at", since)

    def alerts(self, since: Any = None) -> pd.DataFrame:
        """Alerts with ``raised_at`` after ``since``, oldest first."""
        return self._read_table("alerts", "raised_at", since)

    def profiles(self, customer_ids: Sequence[Any] | None = None) -> pd.DataFrame:
        """Stored behaviour profiles (all, or of ``customer_ids``), ordered by customer."""
        frame = self._read_table("profiles", None, None, order="customer_id")
        if customer_ids is not None:
            frame = frame[frame["customer_id"].isin([str(c) for c in customer_ids])].reset_index(drop=True)
        return frame

    def models(self, name: str | None = None) -> pd.DataFrame:
        """The model registry (all models, or the versions of ``name``), oldest first."""
        frame = self._read_table("models", None, None, order="created_at, name, version")
        return frame if name is None else frame[frame["name"] == name].reset_index(drop=True)

    def metrics(self, name: str | None = None, since: Any = None) -> pd.DataFrame:
        """Metric points (of ``name``) with ``at`` after ``since``, oldest first."""
        frame = self._read_table("metrics", "at", since, order="at, name")
        return frame if name is None else frame[frame["name"] == name].reset_index(drop=True)

    def _read_table(
        self, name: str, time_column: str | None, since: Any, order: str | None = None
    ) -> pd.DataFrame:
        table = TABLES_BY_NAME[name]
        where, params = self._since(time_column, since) if time_column else ("", [])
        order = order or f"{time_column}, tx_id"
        frame = self._frame(
            f"SELECT {', '.join(table.column_names)} FROM {name} {where} ORDER BY {order}", params, table
        )
        for column in ("tx_id", "customer_id"):
            if column in frame.columns:
                frame[column] = frames.restore_ids(frame[column])
        for column in table.columns:
            if column.type in ("json", "jsontext"):
                frame[column.name] = [json.loads(v) if isinstance(v, str) else v for v in frame[column.name]]
        return frame

    @staticmethod
    def _cutoff(days: float, now: Any) -> pd.Timestamp:
        """``now - days`` as a UTC timestamp (``now`` default: the current time; naive = UTC)."""
        stamp = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp - pd.Timedelta(days=days)

    def _open(self) -> None:
        """Connect and migrate; close again if that fails (used by the back ends' ``__init__``)."""
        try:
            self.reconnect()
            self.migrate()
        except BaseException:
            self.close()
            raise

    def _since(self, column: str | None, since: Any) -> tuple[str, list[Any]]:
        if since is None:
            return "", []
        return f"WHERE {column} > {self.placeholder}", [self._ts_param(since)]

    def _frame(
        self,
        sql: str,
        params: Sequence[Any],
        table: Table | None = None,
        *,
        types: dict[str, str] | None = None,
    ) -> pd.DataFrame:
        types = types if types is not None else table.types() if table is not None else {}
        with self._errors():
            names, rows = self._query_with_names(sql, params)
        frame = pd.DataFrame.from_records(rows, columns=names)
        for name in names:
            kind = types.get(name)
            if kind == "ts":
                frame[name] = self._times_from_db(frame[name])
            elif kind == "bool" and frame[name].notna().all():
                frame[name] = frame[name].astype(bool)
            elif kind == "float":
                frame[name] = frame[name].astype("float64")
        return frame

    # ---- retention ----------------------------------------------------------------------------

    @abstractmethod
    def drop_older_than(self, days: float, now: Any = None) -> list[str]:
        """Drop transactions, decisions and alerts of every month that ended more than ``days``
        days before ``now`` (default: the current time); return what was dropped."""

    # ---- back-end primitives ----------------------------------------------------------------

    @abstractmethod
    def _errors(self) -> AbstractContextManager[None]:
        """A context that turns driver exceptions into StoreUnavailable / StoreError."""

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback_quietly(self) -> None: ...

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._errors():
            return self._query_with_names(sql, params)[1]

    @abstractmethod
    def _query_with_names(
        self, sql: str, params: Sequence[Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    @abstractmethod
    def _upsert(self, table: Table, rows: pa.Table, *, update: bool) -> int:
        """Insert ``rows``; on a key conflict replace (``update``) or keep the stored row."""

    @abstractmethod
    def _insert_transactions(self, rows: pa.Table) -> int:
        """Insert transactions whose ``tx_id`` is not stored yet; return how many."""

    @abstractmethod
    def _upsert_profiles(self, rows: pa.Table) -> int: ...

    def _insert_labels_of_new(self, labels: pa.Table, all_new: bool) -> None:
        """Labels that arrived with transactions (``all_new``: every one of those transactions
        was new); a label never replaces a stored one here."""
        self._upsert(TABLES_BY_NAME["labels"], labels, update=False)

    @abstractmethod
    def _event_times(self, tx_ids: list[str]) -> list[tuple[str, Any]]: ...

    @abstractmethod
    def _ts_param(self, value: Any) -> Any: ...

    @abstractmethod
    def _times_from_db(self, values: pd.Series) -> pd.Series: ...
