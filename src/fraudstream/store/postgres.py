"""The PostgreSQL back end: psycopg 3, ``COPY`` into a temporary table, then one
``INSERT ... SELECT ... ON CONFLICT`` per write.

URL: any libpq URL (``postgresql://user:secret@host:5432/db``) plus an optional ``schema=NAME``
query parameter (created when missing, and put first on the ``search_path``).

``transactions``, ``decisions`` and ``alerts`` are range-partitioned by their event time ``ts``
(``labels`` by ``labelled_at``) into partitions of one month, or of ``partition_months`` months
(a URL parameter, recorded in the database); partitions (``transactions_p202401`` ...) are
made on demand, or ahead of the writes by a :class:`~.pgpartitions.PartitionKeeper`. When the
TimescaleDB extension can be created they become hypertables with one-month chunks instead.
Because a unique key on a partitioned table must include the partition key, ``tx_id``
uniqueness lives in the plain table ``tx_keys (tx_id PRIMARY KEY, ts)``: a transaction is
inserted only when its key is new, in the same statement.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudstream.errors import ConfigError, StoreError
from fraudstream.store import pgcopy
from fraudstream.store.base import Store, StoreUnavailable
from fraudstream.store.pgpartitions import (
    SPANS,
    PartitionKeeper,
    advisory_lock_sql,
    attach_statements,
    partition_name,
    partition_starts,
)
from fraudstream.store.schema import TABLES_BY_NAME, Table

__all__ = ["PostgresStore", "partitions_touched", "split_url", "url_partition_months"]

log = logging.getLogger(__name__)

PARTITIONED = ("transactions", "decisions", "alerts")
_IDENT_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_")
SMALL_UPSERT_ROWS = 8
"""Upserts of at most this many rows (a checkpoint, an alert's new status) send their values in
the ``INSERT`` itself: a commit's checkpoint then takes about 0.5 ms instead of 1.9 ms through a
temporary table (create, truncate, ``COPY``; ``benchmarks/pg_commit_steps.py``)."""
ATTACH_MIN_ROWS = 20_000
"""A new partition with at least this many rows in a write is loaded as a plain table, then
attached (its indexes built in one sorted pass); fewer rows go in through the parent table into
a partition created empty, in the same ``COPY`` as the rest of the write."""
_SPAN_COMMENT = "fraudstream partition_months="
_OWN_PARAMETERS = ("schema", "partition_months")


def split_url(url: str) -> tuple[str, str | None, str]:
    """(libpq URL without fraudstream's own parameters, schema or None, ``host:port`` for messages).

    >>> split_url("postgresql://u:pw@127.0.0.1:5432/test?schema=fs_1&connect_timeout=3")
    ('postgresql://u:pw@127.0.0.1:5432/test?connect_timeout=3', 'fs_1', '127.0.0.1:5432')
    >>> split_url("postgresql://h/db?options=-c%20work_mem%3D64MB&schema=s")[0]
    'postgresql://h/db?options=-c%20work_mem%3D64MB'
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((v for k, v in query if k == "schema"), None)
    if schema is not None and (not schema or set(schema) - _IDENT_OK or schema[0].isdigit()):
        raise ConfigError(f"schema must be a lower-case SQL name (a-z, 0-9, _), got {schema!r}")
    rest = urlencode([(k, v) for k, v in query if k not in _OWN_PARAMETERS], quote_via=quote)  # libpq: %20, not +
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)), schema, where


def url_partition_months(url: str) -> int | None:
    """The URL's ``partition_months`` (months a time partition spans), or None when absent.

    >>> url_partition_months("postgresql://h/db?schema=s&partition_months=12")
    12
    >>> url_partition_months("postgresql://h/db?partition_months=5")
    Traceback (most recent call last):
    ...
    fraudstream.errors.ConfigError: partition_months must be one of 1, 2, 3, 4, 6, 12 (months a \
partition spans, aligned on the year), got '5'
    """
    value = next((v for k, v in parse_qsl(urlsplit(url).query) if k == "partition_months"), None)
    if value is None:
        return None
    if value not in {str(span) for span in SPANS}:
        raise ConfigError(
            f"partition_months must be one of {', '.join(map(str, SPANS))} (months a partition spans, "
            f"aligned on the year), got {value!r}"
        )
    return int(value)


def partitions_touched(ts: pa.Array, months: int = 1) -> list[pd.Timestamp]:
    """First instants (UTC) of the partitions of ``months`` months that ``ts`` touches, sorted.

    >>> partitions_touched(pa.array(pd.to_datetime(["2024-01-31T23:59", "2024-03-01T00:00"], utc=True)))
    [Timestamp('2024-01-01 00:00:00+0000', tz='UTC'), Timestamp('2024-03-01 00:00:00+0000', tz='UTC')]
    >>> partitions_touched(pa.array(pd.to_datetime(["2024-01-31T23:59", "2024-03-01T00:00"], utc=True)), 12)
    [Timestamp('2024-01-01 00:00:00+0000', tz='UTC')]
    """
    if len(ts) == 0:
        return []
    ns = pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False)
    return [pd.Timestamp(m).tz_localize("UTC") for m in np.unique(partition_starts(ns, months))]


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigError("PostgreSQL support needs psycopg: pip install 'fraudstream[postgres]'") from None
    return psycopg


class PostgresStore(Store):
    """A store in a PostgreSQL database (optionally in its own schema)."""

    dialect = "postgresql"
    placeholder = "%s"

    def __init__(self, url: str, *, connect_timeout_s: float = 5.0) -> None:
        super().__init__(url)
        self._psycopg = _psycopg()
        self.conninfo, self.schema, self.where = split_url(url)
        self._asked_months = url_partition_months(url)
        self.partition_months = 1
        """Months each time partition spans (native partitioning; see :meth:`_settle_partition_months`)."""
        self.connect_timeout_s = connect_timeout_s
        self._conn: Any = None
        self._months: dict[str, set[pd.Timestamp]] = {}
        """Partitions known to exist (committed), per table."""
        self._new_months: list[tuple[str, pd.Timestamp]] = []
        """Partitions created or seen in the open transaction (known once it commits)."""
        self._native: dict[str, bool] = {}
        self._mode: str | None = None
        self._keeper: PartitionKeeper | None = None
        self._encoder: ThreadPoolExecutor | None = None
        self._encoded: dict[int, tuple[pa.Table, Future[pa.Buffer]]] = {}
        """COPY bodies being encoded ahead (:meth:`encode_ahead`), by the id of their rows."""
        self._open()
        try:
            self._settle_partition_months()
        except BaseException:
            self.close()
            raise

    def describe(self) -> str:
        return f"PostgreSQL at {self.where}"

    def reconnect(self) -> None:
        self._close_connection()
        self._months, self._new_months, self._native = {}, [], {}
        with self._errors():
            self._conn = self._connect()

    def _connect(self) -> Any:
        """A new connection in autocommit mode, on this store's schema (created when missing)."""
        timeout = max(1, int(self.connect_timeout_s))
        conn = self._psycopg.connect(self.conninfo, autocommit=True, connect_timeout=timeout)
        if self.schema:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            conn.execute(f"SET search_path TO {self.schema}, public")
        return conn

    def keep_partitions_ahead(self, count: int) -> None:
        """Make the ``count`` partitions after the latest one written in the background, on a
        connection of their own (see :mod:`.pgpartitions`): a stream's writes then seldom make a
        partition inside their own transaction."""
        if self._keeper is None and count > 0:
            time_keys = {t.name: t.time_key for t in TABLES_BY_NAME.values() if t.time_key}
            self._keeper = PartitionKeeper(self._connect, time_keys, ahead=count, months=self.partition_months)

    def close(self) -> None:
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None
        self._close_connection()

    def _close_connection(self) -> None:
        self._encoded = {}
        if self._encoder is not None:
            self._encoder.shutdown(wait=True)
            self._encoder = None
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def backend_pid(self) -> int:
        """The server process id of this store's connection."""
        return int(self.conn.info.backend_pid)

    @property
    def conn(self) -> Any:
        if self._conn is None:
            raise StoreUnavailable(f"{self.describe()}: not connected")
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        psycopg = self._psycopg
        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"{self.describe()}: {str(exc).strip() or type(exc).__name__}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"{self.describe()}: {str(exc).strip()}") from exc

    @contextmanager
    def bulk_load(self) -> Iterator[Store]:
        self._execute("SET synchronous_commit = off")
        try:
            yield self
        finally:
            if self._conn is not None and not self._conn.closed:
                with contextlib.suppress(StoreError):
                    self._execute("RESET synchronous_commit")

    def _begin(self) -> None:
        self.conn.execute("BEGIN")

    def _commit(self) -> None:
        self._encoded = {}
        self.conn.execute("COMMIT")
        for table, month in self._new_months:
            self._months.setdefault(table, set()).add(month)
        self._new_months = []

    def _rollback_quietly(self) -> None:
        self._new_months, self._encoded = [], {}
        if self._conn is not None and not self._conn.closed:
            with contextlib.suppress(self._psycopg.Error):
                self._conn.execute("ROLLBACK")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._errors():
            self.conn.execute(sql, params or None)

    def _query_with_names(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.conn.execute(sql, params or None)
        return [d.name for d in cursor.description], cursor.fetchall()

    # ---- partitions ---------------------------------------------------------------------------

    def _lock_for_migration(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.fraudstream_migrate'))")

    def _partitioning(self) -> str:
        """``timescale`` when the TimescaleDB extension can be created here, else ``native``."""
        if not self._query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"):
            return "native"
        self._execute("SAVEPOINT timescale")
        try:
            self._execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except StoreError as exc:
            self._execute("ROLLBACK TO SAVEPOINT timescale")
            log.info("TimescaleDB is installed but cannot be enabled (%s): using native partitions", exc)
            return "native"
        self._execute("RELEASE SAVEPOINT timescale")
        return "timescale"

    @property
    def partitioning(self) -> str:
        """``native`` (declarative monthly partitions) or ``timescale`` (hypertables)."""
        if self._mode is None:
            kind = self._query("SELECT relkind FROM pg_class WHERE oid = to_regclass('transactions')")
            self._mode = "native" if kind and kind[0][0] == "p" else "timescale"
        return self._mode

    def _settle_partition_months(self) -> None:
        """The months a partition spans are the database's: recorded (a comment on
        ``transactions``) by the first store to open it, from its URL's ``partition_months``
        (default 1). A database without the record but with partitions (made before it existed)
        spans 1 month. A URL asking for another span than the database's is refused."""
        if self.partitioning != "native":
            if self._asked_months not in (None, 1):
                log.warning("partition_months=%s is ignored: TimescaleDB chunks stay one month "
                            "(change them with set_chunk_time_interval)", self._asked_months)
            return
        with self.batch():
            self._lock_for_migration()
            comment = self._query("SELECT obj_description(to_regclass('transactions'), 'pg_class')")[0][0]
            if comment and comment.startswith(_SPAN_COMMENT):
                recorded = int(comment.removeprefix(_SPAN_COMMENT))
            elif self.partitions("transactions"):
                recorded = 1
            else:
                recorded = self._asked_months or 1
                self._execute(f"COMMENT ON TABLE transactions IS '{_SPAN_COMMENT}{recorded}'")
        if self._asked_months is not None and self._asked_months != recorded:
            raise ConfigError(
                f"partition_months={self._asked_months} asked, but the tables of {self.describe()}"
                f"{f' (schema {self.schema})' if self.schema else ''} are partitioned by {recorded} "
                f"month(s): drop partition_months from the URL, or use another schema or database"
            )
        self.partition_months = recorded

    def _natively_partitioned(self, table: str) -> bool:
        """Whether ``table`` is a declaratively partitioned table here (``labels`` is one since
        schema version 1 was extended; databases made before stay as they are)."""
        if table not in self._native:
            kind = self._query("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", (table,))
            self._native[table] = bool(kind) and kind[0][0] == "p"
        return self._native[table]

    def _partition_exists(self, table: str, month: pd.Timestamp) -> bool:
        """Whether the partition of ``month`` exists; when it does not, this transaction holds a
        lock on its name (until it ends) so that no other writer creates it meanwhile."""
        if month in self._months.get(table, ()) or (table, month) in self._new_months:
            return True
        if self._keeper is not None and (table, month) in self._keeper.made:
            self._months.setdefault(table, set()).add(month)
            return True
        name = partition_name(table, month)
        self._execute(advisory_lock_sql(), (name,))
        if self._query("SELECT to_regclass(%s)", (name,))[0][0] is None:
            return False
        self._new_months.append((table, month))
        return True

    def _ensure_partitions(self, table: str, ts: pa.Array) -> None:
        if not self._natively_partitioned(table):
            return
        months = partitions_touched(ts, self.partition_months)
        for month in months:
            if not self._partition_exists(table, month):
                self._make_partition(TABLES_BY_NAME[table], month)
        if months and self._keeper is not None:
            self._keeper.written(table, months[-1])

    def partitions(self, table: str = "transactions") -> list[str]:
        """Names of the partitions of ``table`` (native partitioning), sorted."""
        rows = self._query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY 1",
            (table,),
        )
        return [r[0] for r in rows]

    def drop_older_than(self, days: float, now: Any = None) -> list[str]:
        cutoff = self._cutoff(days, now)
        dropped: list[str] = []
        with self.batch():
            if self.partitioning == "timescale":  # not exercised where TimescaleDB is absent
                for table in PARTITIONED:
                    rows = self._query(
                        "SELECT drop_chunks(%s, older_than => %s)", (table, cutoff.to_pydatetime())
                    )
                    dropped += [str(r[0]) for r in rows]
                self._execute(
                    "DELETE FROM tx_keys k WHERE k.ts < %s AND NOT EXISTS (SELECT 1 FROM transactions t "
                    "WHERE t.tx_id = k.tx_id AND t.ts = k.ts)",
                    (cutoff.to_pydatetime(),),
                )
                return dropped
            boundary = None
            for table in PARTITIONED:
                for name in self.partitions(table):
                    month = pd.Timestamp(f"{name[-6:-2]}-{name[-2:]}-01", tz="UTC")
                    upper = month + pd.offsets.MonthBegin(self.partition_months)
                    if upper <= cutoff:
                        self._execute(f"DROP TABLE {name}")
                        self._months.get(table, set()).discard(month)
                        if self._keeper is not None:
                            self._keeper.made.discard((table, month))
                        dropped.append(name)
                        boundary = upper if boundary is None else max(boundary, upper)
            if boundary is not None:
                self._execute(
                    "DELETE FROM tx_keys WHERE ts < %s", (boundary.to_pydatetime(),)
                )  # a rare seq scan
        return dropped

    # ---- bulk writes ----------------------------------------------------------------------------

    def encode_ahead(self, table: str, rows: pa.Table) -> None:
        """Start encoding the ``COPY`` body of ``rows`` in a worker thread: a write of several
        tables then sends each table's rows while the server still works on the previous
        table's (the encoding is about a quarter of the write's time, otherwise spent with the
        server idle)."""
        if not rows.num_rows:
            return
        if self._encoder is None:
            self._encoder = ThreadPoolExecutor(1, thread_name_prefix="fraudstream-copy-encode")
        kinds = _kinds(TABLES_BY_NAME[table], rows)
        self._encoded[id(rows)] = (rows, self._encoder.submit(pgcopy.encode_body, rows, kinds))

    def _copy(self, target: str, rows: pa.Table, table: Table, *, freeze: bool = False) -> None:
        """Binary ``COPY`` of ``rows`` (columns of ``table``) into ``target`` (``table`` itself,
        one of its partitions or a staging table shaped like it); see :mod:`.pgcopy`. The body
        comes from :meth:`encode_ahead` when these very rows were given to it; otherwise, when
        the rows make several pieces, a worker thread sends each piece while the next is
        encoded, so the server starts on the first piece without waiting for the rest."""
        options = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
        sql = f"COPY {target} ({', '.join(rows.column_names)}) FROM STDIN ({options})"
        ahead = self._encoded.pop(id(rows), None)
        with self._errors(), self.conn.cursor() as cursor:
            if ahead is not None and ahead[0] is rows:
                parts: Iterator[bytes | pa.Buffer] = iter((pgcopy.SIGNATURE, ahead[1].result(), pgcopy.TRAILER))
                writer = None
            else:
                parts = pgcopy.encode_parts(rows, _kinds(table, rows))
                queued = rows.num_rows > pgcopy.PIECE_ROWS
                writer = self._psycopg.copy.QueuedLibpqWriter(cursor) if queued else None
            with cursor.copy(sql, writer=writer) as copy:
                for part in parts:
                    copy.write(part)

    def _stage(self, table: Table, rows: pa.Table) -> str:
        """COPY ``rows`` into an empty temporary table shaped like ``table``; return its name."""
        stage = f"stage_{table.name}"
        self._execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name})")
        self._execute(f"TRUNCATE {stage}")
        self._copy(stage, rows, table)
        return stage

    def _dedupe(self, rows: pa.Table, keys: Sequence[str], keep: str) -> pa.Table:
        key_frame = pd.DataFrame({k: rows.column(k).to_numpy(zero_copy_only=False) for k in keys})
        duplicated = key_frame.duplicated(keep=keep).to_numpy()
        return rows.filter(pa.array(~duplicated)) if duplicated.any() else rows

    def _run_count(self, sql: str) -> int:
        with self._errors():
            return int(self.conn.execute(sql).rowcount)

    def _upsert(self, table: Table, rows: pa.Table, *, update: bool, unique: bool = False) -> int:
        """Write ``rows`` (``unique``: known to be unique by primary key already, not checked)."""
        if not unique:
            rows = self._dedupe(rows, table.primary_key, "last" if update else "first")
        with self.batch():
            if table.time_key and self._copied_if_new(table, rows):
                return rows.num_rows
            if table.time_key:
                self._ensure_partitions(table.name, rows.column(table.time_key))
            names = rows.column_names
            others = [c for c in names if c not in table.primary_key]
            updates = ", ".join(f"{c} = excluded.{c}" for c in others)
            action = f"DO UPDATE SET {updates}" if update and others else "DO NOTHING"
            conflict = f"ON CONFLICT ({', '.join(table.primary_key)}) {action}"
            if rows.num_rows <= SMALL_UPSERT_ROWS:
                return self._upsert_values(table.name, rows, conflict)
            stage = self._stage(table, rows)
            return self._run_count(
                f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(names)} FROM {stage} {conflict}"
            )

    def _upsert_values(self, name: str, rows: pa.Table, conflict: str) -> int:
        """``INSERT ... VALUES`` of a few rows, their values as parameters (text values are sent
        untyped, so the server casts them to the column's type: json, jsonb, text)."""
        row = f"({', '.join(['%s'] * rows.num_columns)})"
        values = [value for record in zip(*rows.to_pydict().values(), strict=True) for value in record]
        with self._errors():
            return int(
                self.conn.execute(
                    f"INSERT INTO {name} ({', '.join(rows.column_names)}) VALUES "
                    f"{', '.join([row] * rows.num_rows)} {conflict}",
                    values,
                ).rowcount
            )

    def _copied_if_new(self, table: Table, rows: pa.Table) -> bool:
        """The rows of a time-partitioned table (decisions, alerts, labels) are nearly always new:
        COPY them straight in, inside a savepoint. When a key is already stored (a batch written
        again after a restart, an alert's new status) roll back to it and return False: the
        caller then upserts through a staging table."""
        made = len(self._new_months)
        self._execute("SAVEPOINT fresh_rows")
        try:
            self._copy_partitioned(table, rows)
        except StoreUnavailable:
            raise
        except StoreError as exc:
            self._execute("ROLLBACK TO SAVEPOINT fresh_rows")
            del self._new_months[made:]  # partitions made inside the savepoint are gone
            if isinstance(exc.__cause__, self._psycopg.errors.UniqueViolation):
                return False
            raise
        self._execute("RELEASE SAVEPOINT fresh_rows")
        return True

    def _insert_transactions(self, rows: pa.Table) -> int:
        """Claim the ids in ``tx_keys``, then COPY only the new rows straight into the
        partitioned table (no wide staging copy). The keys are COPYed directly when all are new
        (inside a savepoint); on a duplicate, a staged ``INSERT ... ON CONFLICT DO NOTHING
        RETURNING`` says which ones are new."""
        keys = rows.select(["tx_id", "ts"])
        fresh = None
        self._execute("SAVEPOINT tx_keys")
        try:  # fast path: every id is new, COPY the keys straight in, in key order (the b-tree
            # is then walked leaf by leaf instead of at random: about 20 % less server CPU)
            in_order = keys.take(pc.sort_indices(keys.column("tx_id"))) if keys.num_rows > 1 else keys
            self._copy("tx_keys", in_order, TABLES_BY_NAME["tx_keys"])
            self._execute("RELEASE SAVEPOINT tx_keys")
            fresh = rows.num_rows
        except StoreUnavailable:
            raise
        except StoreError:
            self._execute("ROLLBACK TO SAVEPOINT tx_keys")
        if fresh is None:
            stage = self._stage(TABLES_BY_NAME["tx_keys"], keys)
            with self._errors():
                new_ids = self.conn.execute(
                    f"INSERT INTO tx_keys (tx_id, ts) SELECT tx_id, ts FROM {stage} "
                    "ON CONFLICT (tx_id) DO NOTHING RETURNING tx_id"
                ).fetchall()
            new = pa.array([r[0] for r in new_ids], pa.string())
            rows = rows.filter(pc.is_in(rows.column("tx_id"), value_set=new))
        if rows.num_rows:
            self._copy_partitioned(TABLES_BY_NAME["transactions"], rows)
        return rows.num_rows

    def _copy_partitioned(self, table: Table, rows: pa.Table) -> None:
        """COPY ``rows`` into ``table``. On a natively partitioned table, the rows of a month
        whose partition does not exist yet go, when they are many (``ATTACH_MIN_ROWS``), into a
        new plain table without indexes, which is then attached as the partition: PostgreSQL
        builds its indexes in one sorted pass (several times cheaper than updating each b-tree
        row by row), and the rows are written frozen (no later hint-bit or freeze work). The
        other rows are copied through the parent table, into partitions created empty when
        missing."""
        if not table.time_key or not self._natively_partitioned(table.name):
            self._copy(table.name, rows, table)
            return
        ns = pc.cast(rows.column(table.time_key), pa.int64()).to_numpy(zero_copy_only=False)
        start_of_row = partition_starts(ns, self.partition_months)
        into_parent = np.zeros(len(ns), dtype=bool)
        months = np.unique(start_of_row)
        for value in months:
            month = pd.Timestamp(value).tz_localize("UTC")
            mine = start_of_row == value
            if self._partition_exists(table.name, month):
                into_parent |= mine
            elif np.count_nonzero(mine) < ATTACH_MIN_ROWS:
                self._make_partition(table, month)
                into_parent |= mine
            else:
                self._make_partition(table, month, rows if mine.all() else rows.filter(pa.array(mine)))
        if self._keeper is not None:
            self._keeper.written(table.name, pd.Timestamp(months[-1]).tz_localize("UTC"))
        if into_parent.all():
            self._copy(table.name, rows, table)
        elif into_parent.any():
            self._copy(table.name, rows.filter(pa.array(into_parent)), table)

    def _make_partition(self, table: Table, month: pd.Timestamp, rows: pa.Table | None = None) -> None:
        """Make the partition starting at ``month`` (:meth:`_partition_exists` said it is missing) as a
        plain table, COPY ``rows`` into it if any (frozen: the table is new in this
        transaction), then attach it (see :mod:`.pgpartitions`)."""
        assert table.time_key is not None
        create, attach, drop_check = attach_statements(table.name, table.time_key, month, self.partition_months)
        self._execute(create)
        if rows is not None:
            self._copy(partition_name(table.name, month), rows, table, freeze=True)
        self._execute(attach)
        self._execute(drop_check)
        self._new_months.append((table.name, month))

    def _insert_labels_of_new(self, labels: pa.Table, all_new: bool) -> None:
        """The labels of a write: COPYed straight in when none is stored yet (nearly always when
        every transaction was new), else upserted through a staging table (see :meth:`_upsert`).
        They are unique by ``tx_id`` like the write's rows, so there is no duplicate to drop."""
        self._upsert(TABLES_BY_NAME["labels"], labels, update=False, unique=True)

    def _upsert_profiles(self, rows: pa.Table) -> int:
        table = TABLES_BY_NAME["profiles"]
        rows = self._dedupe(rows, table.primary_key, "last")
        with self.batch():
            stage = self._stage(table, rows)
            names = rows.column_names
            others = [c for c in names if c != "customer_id"]
            return self._run_count(
                f"INSERT INTO profiles ({', '.join(names)}) SELECT {', '.join(names)} FROM {stage} "
                f"ON CONFLICT (customer_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in others)} "
                "WHERE excluded.latest_ts >= profiles.latest_ts"
            )

    def _event_times(self, tx_ids: list[str]) -> list[tuple[str, Any]]:
        return [
            (r[0], r[1])
            for r in self._query("SELECT tx_id, ts FROM tx_keys WHERE tx_id = ANY(%s)", (tx_ids,))
        ]

    def _ts_param(self, value: Any) -> Any:
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.to_pydatetime()

    def _times_from_db(self, values: pd.Series) -> pd.Series:
        return pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")


def _kinds(table: Table, rows: pa.Table) -> list[str]:
    """The store's logical types of ``rows``' columns, which are columns of ``table``."""
    types = table.types()
    return [types[name] for name in rows.column_names]
