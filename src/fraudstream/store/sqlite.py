"""The SQLite back end: one file, WAL journal (``synchronous=NORMAL``: a commit is durable
against a crash of the process, fsync at checkpoints, one per 64 MiB of WAL), 16 KiB pages, a
64 MiB page cache, bulk ``executemany`` with ``ON CONFLICT``.

URL: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``sqlite:///:memory:``;
``?timeout=5`` sets how long a write waits for another writer's lock (seconds) before the
store reports :class:`~fraudstream.store.base.StoreUnavailable`.

Times are stored as INTEGER nanoseconds since 1970-01-01 UTC, booleans as 0/1, JSON as text.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudstream.errors import ConfigError, StoreError
from fraudstream.store.base import Store, StoreUnavailable
from fraudstream.store.schema import Table

__all__ = ["SQLiteStore", "sqlite_path"]

PAGE_BYTES = 16384
"""Page size of a new file: a third fewer b-tree pages to dirty per stored row than SQLite's 4 KiB
on the ingest path (``BENCHMARKS.md``); an existing file keeps its own."""
CHECKPOINT_WAL_BYTES = 64 << 20
"""The WAL is copied back into the database once it holds this much: a page rewritten by many
commits (an index's hot end) is copied once per checkpoint, not once per 4 MiB as by default."""
_TIME_TABLES = ("transactions", "decisions", "alerts")
_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def sqlite_path(url: str) -> tuple[str, float]:
    """(file path, lock timeout in seconds) of a ``sqlite://`` URL.

    >>> sqlite_path("sqlite:///data/f.db?timeout=2"), sqlite_path("sqlite:////tmp/f.db")
    (('data/f.db', 2.0), ('/tmp/f.db', 5.0))
    >>> sqlite_path("sqlite:////tmp/f.db?partition_months=12")
    Traceback (most recent call last):
    ...
    fraudstream.errors.ConfigError: store URL 'sqlite:////tmp/f.db?partition_months=12': SQLite takes \
only timeout=SECONDS, not partition_months
    """
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise ConfigError(
            f"store URL {url!r} is not a SQLite URL; use sqlite:///relative.db or sqlite:////absolute/path.db"
        )
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"timeout"})
    if unknown:
        raise ConfigError(f"store URL {url!r}: SQLite takes only timeout=SECONDS, not {', '.join(unknown)}")
    try:
        timeout = float(query.get("timeout", ["5"])[0])
    except ValueError:
        raise ConfigError(f"timeout in {url!r} must be a number of seconds") from None
    return parts.path[1:], timeout


class SQLiteStore(Store):
    """A store in one SQLite file (WAL mode: readers never block the writer)."""

    dialect = "sqlite"
    placeholder = "?"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.path, self.timeout_s = sqlite_path(url)
        if self.path != ":memory:" and not Path(self.path).resolve().parent.is_dir():
            raise ConfigError(
                f"cannot open store {self.path!r}: folder {str(Path(self.path).parent)!r} does not exist"
            )
        self._conn: sqlite3.Connection | None = None
        self._open()

    def describe(self) -> str:
        return f"SQLite at {self.path}"

    def reconnect(self) -> None:
        self.close()
        with self._errors():
            conn = sqlite3.connect(
                self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False
            )  # one thread at a time (BufferedWriter)
            conn.execute(f"PRAGMA page_size={PAGE_BYTES}")  # takes effect in a new file only
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
                page = conn.execute("PRAGMA page_size").fetchone()[0]
                conn.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_WAL_BYTES // page}")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: the indexes' hot ends stay in memory
            conn.execute("PRAGMA temp_store=MEMORY")
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.describe()} is closed")
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if any(word in text.lower() for word in _TRANSIENT):
                raise StoreUnavailable(f"{self.describe()}: {text}") from exc
            raise StoreError(f"{self.describe()}: {text}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"{self.describe()}: {exc}") from exc

    def _begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    def _rollback_quietly(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._errors():
            self.conn.execute(sql, params)

    def _query_with_names(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.conn.execute(sql, params)
        return [d[0] for d in cursor.description], cursor.fetchall()

    @staticmethod
    def _rows(rows: pa.Table) -> list[tuple[Any, ...]]:
        columns = []
        for column in rows.columns:
            if pa.types.is_timestamp(column.type) or pa.types.is_boolean(column.type):
                column = pc.cast(column, pa.int64())
            columns.append(column.to_pylist())
        return list(zip(*columns, strict=True))

    def _insert(self, table: Table, rows: pa.Table, conflict: str) -> int:
        names = rows.column_names
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT ({', '.join(table.primary_key)}) {conflict}"
        )
        before = self.conn.total_changes
        with self._errors(), self.batch():
            self.conn.executemany(sql, self._rows(rows))
        return self.conn.total_changes - before

    def _upsert(self, table: Table, rows: pa.Table, *, update: bool) -> int:
        others = [c for c in rows.column_names if c not in table.primary_key]
        conflict = (
            f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in others)}"
            if update and others
            else "DO NOTHING"
        )
        return self._insert(table, rows, conflict)

    def _insert_transactions(self, rows: pa.Table) -> int:
        from fraudstream.store.schema import TABLES_BY_NAME

        table = TABLES_BY_NAME["transactions"]
        empty = [  # NULL is their default: nothing to bind (a stream without geo, channel, ...)
            column.name for column in table.columns
            if column.nullable and column.name in rows.column_names
            and rows.column(column.name).null_count == rows.num_rows
        ]
        return self._insert(table, rows.drop_columns(empty), "DO NOTHING")

    def _upsert_profiles(self, rows: pa.Table) -> int:
        from fraudstream.store.schema import TABLES_BY_NAME

        others = [c for c in rows.column_names if c != "customer_id"]
        conflict = (
            f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in others)} "
            "WHERE excluded.latest_ts >= profiles.latest_ts"
        )
        return self._insert(TABLES_BY_NAME["profiles"], rows, conflict)

    def _event_times(self, tx_ids: list[str]) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = []
        for start in range(0, len(tx_ids), 500):
            part = tx_ids[start : start + 500]
            found += self._query(
                f"SELECT tx_id, ts FROM transactions WHERE tx_id IN ({', '.join('?' * len(part))})", part
            )
        return [(tx_id, pd.Timestamp(ts, unit="ns", tz="UTC")) for tx_id, ts in found]

    def _ts_param(self, value: Any) -> int:
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int(stamp.value)

    def _times_from_db(self, values: pd.Series) -> pd.Series:
        return pd.to_datetime(values.astype("Int64"), unit="ns", utc=True)

    def drop_older_than(self, days: float, now: Any = None) -> list[str]:
        cutoff = self._cutoff(days, now)
        boundary = cutoff.tz_localize(None).to_period("M").to_timestamp().tz_localize("UTC")
        dropped = []
        with self.batch():
            for name in _TIME_TABLES:
                before = self.conn.total_changes
                self._execute(f"DELETE FROM {name} WHERE ts < ?", (int(boundary.value),))
                count = self.conn.total_changes - before
                if count:
                    dropped.append(f"{name}: {count} rows before {boundary:%Y-%m-%d}")
        return dropped
