"""Time partitions of PostgreSQL tables: their spans, names and DDL, and a keeper that makes them ahead.

A partition spans ``months`` calendar months (1 by default; 2, 3, 4, 6 or 12 with the store URL's
``partition_months``), aligned on the year: with 3, January to March, April to June, ... It is named
after its first month (``transactions_p202404``).

A partition is made as a plain table with a ``CHECK`` constraint equal to its bounds, then
attached (``ATTACH PARTITION`` skips its validation scan thanks to the constraint, which is
dropped afterwards). Attaching locks the parent table in ``SHARE UPDATE EXCLUSIVE`` mode, which
lets readers and writers of the other partitions go on; ``CREATE TABLE ... PARTITION OF`` would
lock it in ``ACCESS EXCLUSIVE`` mode until the transaction ends, stopping every dashboard query.

:class:`PartitionKeeper` makes, on a connection of its own, the partitions just
after the latest one written, so that a stream's writes find their partition made instead of
making it inside their transaction (5 to 9 ms a table: when a replay or a simulated stream crosses
months every few seconds, that work sat in every commit's latency;
``benchmarks/pg_commit_steps.py``). Each partition is
its own short transaction under ``lock_timeout``: when a writer holds the parent table, the
keeper gives way and tries again after the next write, so it never makes a writer wait for
long, nor deadlocks with one. Partitions are named ``{table}_pYYYYMM`` and their creation is
serialised by a transaction-level advisory lock on that name, taken by the keeper and by writers
alike, so a partition is never made twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SPANS", "PartitionKeeper", "advisory_lock_sql", "attach_statements", "partition_name", "partition_starts"]

log = logging.getLogger(__name__)

KEEPER_LOCK_TIMEOUT_MS = 50
"""How long the keeper waits for a lock before giving way to a writer."""


SPANS = (1, 2, 3, 4, 6, 12)
"""Months a partition may span: the divisors of a year, so that spans align on years."""


def partition_starts(ns: np.ndarray, months: int) -> np.ndarray:
    """The first month (``datetime64[M]``) of the partition of each instant of ``ns``
    (nanoseconds since 1970, UTC).

    >>> stamps = pd.to_datetime(["2024-01-31", "2024-05-02", "2024-12-31"]).as_unit("ns").asi8
    >>> partition_starts(stamps, 1).astype(str).tolist(), partition_starts(stamps, 3).astype(str).tolist()
    (['2024-01', '2024-05', '2024-12'], ['2024-01', '2024-04', '2024-10'])
    """
    month_index = ns.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    return (month_index - month_index % months).astype("datetime64[M]")


def partition_name(table: str, month: pd.Timestamp) -> str:
    """``transactions_p202401`` for the month of 2024-01 of ``transactions``."""
    return f"{table}_p{month:%Y%m}"


def advisory_lock_sql(blocking: bool = True) -> str:
    """The statement that takes the creation lock of a partition (its name as the parameter)."""
    function = "pg_advisory_xact_lock" if blocking else "pg_try_advisory_xact_lock"
    return f"SELECT {function}(hashtext(current_schema() || '.' || %s))"


def attach_statements(table: str, time_key: str, month: pd.Timestamp, months: int = 1) -> tuple[str, str, str]:
    """For the partition of ``months`` months from ``month``: (create the plain table with its
    bounds as a check, attach it, drop the check); rows may be loaded between the first two."""
    name = partition_name(table, month)
    upper = month + pd.offsets.MonthBegin(months)
    lower_sql, upper_sql = f"'{month:%Y-%m-%d} 00:00:00+00'", f"'{upper:%Y-%m-%d} 00:00:00+00'"
    return (
        f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS, CONSTRAINT {name}_bounds "
        f"CHECK ({time_key} >= {lower_sql} AND {time_key} < {upper_sql}))",
        f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lower_sql}) TO ({upper_sql})",
        f"ALTER TABLE {name} DROP CONSTRAINT {name}_bounds",
    )


class PartitionKeeper:
    """Makes the ``ahead`` partitions after the latest one written to each table
    (:meth:`written`; partitions of ``months`` months), in a background thread with its own
    connection (``connect`` returns a psycopg connection in autocommit mode, on the store's
    ``search_path``). What it has made is in :attr:`made`; :meth:`close` stops it."""

    def __init__(self, connect: Any, time_keys: dict[str, str], *, ahead: int = 2, months: int = 1) -> None:
        self._connect = connect
        self._time_keys = time_keys
        self.ahead, self.months = ahead, months
        self.made: set[tuple[str, pd.Timestamp]] = set()
        """Partitions known to exist, (table, first instant of the month)."""
        self._latest: dict[str, pd.Timestamp] = {}
        self._wake: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._conn: Any = None
        self._thread = threading.Thread(target=self._run, name="fraudstream-partition-keeper", daemon=True)
        self._thread.start()

    def written(self, table: str, month: pd.Timestamp) -> None:
        """Rows of the partition starting at ``month`` were written to ``table``: make the
        following partitions (those it could not make before, too)."""
        latest = max(month, self._latest.get(table, month))
        self._latest[table] = latest
        if any((table, m) not in self.made for m in self._following(latest)):
            self._wake.put(True)

    def _following(self, month: pd.Timestamp) -> list[pd.Timestamp]:
        return [month + pd.offsets.MonthBegin(step * self.months) for step in range(1, self.ahead + 1)]

    def close(self) -> None:
        self._wake.put(False)
        self._thread.join(timeout=10)

    # ---- keeper thread --------------------------------------------------------------------------
    def _run(self) -> None:
        while self._wake.get():
            while not self._wake.empty():  # one pass for every write since the last one
                if not self._wake.get():
                    self._disconnect()
                    return
            for table, latest in list(self._latest.items()):
                for month in self._following(latest):
                    if (table, month) not in self.made and not self._make(table, month):
                        break  # gave way to a writer, or the database is away: next write
        self._disconnect()

    def _make(self, table: str, month: pd.Timestamp) -> bool:
        """Make the partition of ``month`` unless it exists; False when it could not now."""
        name = partition_name(table, month)
        try:
            conn = self._connection()
            with conn.transaction():
                if not conn.execute(advisory_lock_sql(blocking=False), (name,)).fetchone()[0]:
                    return False  # a writer is making it
                if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is None:
                    for statement in attach_statements(table, self._time_keys[table], month, self.months):
                        conn.execute(statement)
        except Exception as exc:  # a lock timeout, an outage: writers make partitions too
            log.debug("partition keeper: %s not made now (%s)", name, exc)
            if self._conn is not None and self._conn.broken:
                self._disconnect()
            return False
        self.made.add((table, month))
        return True

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
            self._conn.execute(f"SET lock_timeout = {KEEPER_LOCK_TIMEOUT_MS}")
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
