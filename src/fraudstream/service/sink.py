"""The store sink: each micro-batch's transactions, decisions, alerts, labels and checkpoint in
**one** database transaction, written from a background thread.

A :class:`~fraudstream.store.buffered.BackgroundWriter` (the machinery of
:class:`~fraudstream.store.buffered.BufferedWriter`) whose items are bundles
(:mod:`~fraudstream.service.bundle`): a bundle carries every table of a batch so that the
checkpoint commits atomically with all of the batch's rows. :meth:`StoreSink.prepare` converts a
bundle to the store's rows in the caller's thread (``put`` does it for a bundle not yet
prepared); the writer thread only merges and writes:

* **Merging**: bundles already waiting are merged (up to ``merge_rows`` transactions) into one
  database transaction; the last checkpoint goes with it.
* **Backpressure**: at most ``max_pending`` bundles wait; :meth:`StoreSink.put` then blocks, so
  a slow store slows the reader instead of growing memory.
* **Outage**: on :class:`~fraudstream.store.base.StoreUnavailable` the bundle is kept and
  written again after a reconnect, with exponential backoff (writes are idempotent, so a commit
  that reached the database before the connection broke is not doubled). After ``retry_for_s``
  seconds without success the sink fails loudly: every later call raises a
  :class:`~fraudstream.errors.StoreError` naming the database, how long it was unreachable and
  the last checkpoint stored.
* After each commit the bundles' ``after`` callbacks run (external alerts, latency figures), so
  nothing leaves the service before its decision is stored.

>>> import pandas as pd
>>> from fraudstream.store import open_store
>>> store = open_store("sqlite:///:memory:")
>>> tx = pd.DataFrame({"tx_id": [1], "ts": pd.to_datetime(["2024-01-01"], utc=True), "customer_id": [7],
...                    "merchant_id": ["M1"], "amount": [5.0]})
>>> with StoreSink(lambda: store, close_store=False) as sink:
...     sink.put(Bundle(tx, checkpoint=("detect", {"position": 1})))
>>> store.count("transactions"), store.read_checkpoint("detect")
(1, {'position': 1})
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fraudstream.errors import ConfigError, StoreError
from fraudstream.service.bundle import Bundle, StoreRows
from fraudstream.store.base import Store, StoreUnavailable
from fraudstream.store.buffered import BackgroundWriter

__all__ = ["NullSink", "StoreSink"]

log = logging.getLogger(__name__)

PARTITIONS_AHEAD = 2
"""Time partitions made ahead of the latest one written, off the writes' path (PostgreSQL)."""


class NullSink:
    """No store: ``after`` runs at once."""

    written_rows = commits = reconnects = max_seen_pending = 0
    busy_s = busy_cpu_s = 0.0
    store = None

    def prepare(self, bundle: Bundle) -> Bundle:
        return bundle

    def put(self, bundle: Bundle) -> None:
        self.written_rows += bundle.rows
        if bundle.after is not None:
            bundle.after()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NullSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StoreSink(BackgroundWriter[StoreRows]):
    """Writes bundles from a background thread (see the module docstring). ``open_store`` runs
    in the writer thread (SQLite connections belong to one thread); the store is closed with the
    sink unless ``close_store=False``."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        max_pending: int = 8,
        merge_rows: int = 20_000,
        retry_for_s: float = 30.0,
        backoff_s: float = 0.05,
        max_backoff_s: float = 2.0,
        close_store: bool = True,
        label_source: str = "stream",
    ) -> None:
        if retry_for_s < 0:
            raise ConfigError(f"--retry-for must be >= 0 seconds, got {retry_for_s}")
        self.label_source = label_source
        self.commits = 0
        self.busy_s = 0.0
        """Seconds the writer thread spent writing (the store's share of the work)."""
        self.busy_cpu_s = 0.0
        """CPU seconds the writer thread spent writing (its own work, not the database server's)."""
        super().__init__(
            open_store,
            max_pending=max_pending,
            merge_rows=merge_rows,
            retry_for_s=retry_for_s,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            owns_store=close_store,
            thread_name="fraudstream-detect-store",
        )

    def _open(self) -> None:
        super()._open()
        assert self.store is not None
        self.store.keep_partitions_ahead(PARTITIONS_AHEAD)

    def prepare(self, bundle: Bundle) -> StoreRows:
        """``bundle`` as the store's rows, converted in the calling thread (the detection loop's)."""
        return StoreRows.of(bundle, label_source=self.label_source)

    def put(self, bundle: Bundle | StoreRows) -> None:
        """Queue a bundle (prepared or not); blocks while ``max_pending`` bundles wait
        (backpressure)."""
        self._put(bundle if isinstance(bundle, StoreRows) else self.prepare(bundle))

    # ---- writer thread ------------------------------------------------------------------------
    def _rows(self, item: StoreRows) -> int:
        return item.rows

    def _write(self, items: list[StoreRows]) -> None:
        merged = StoreRows.merge(items)
        checkpoint = merged.checkpoint
        assert self.store is not None
        store = self.store

        def commit() -> None:
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                merged.write(store)
            finally:
                self.busy_s += time.perf_counter() - started
                self.busy_cpu_s += time.thread_time() - cpu

        def give_up(exc: StoreUnavailable, unreachable_s: float) -> StoreError:
            stored_up_to = self.last_checkpoint[1] if self.last_checkpoint else None
            return StoreError(
                f"{store.describe()} unreachable for {unreachable_s:.0f} s ({exc}); gave up. "
                f"Stored up to checkpoint {stored_up_to!r}; "
                f"{merged.rows + self._queued_rows():,} transactions after it are not "
                "stored. Restart fraudstream detect when the database is back: a replayable source "
                "resumes from that checkpoint"
            )

        self._retrying(commit, give_up)
        self.commits += 1
        self.written_rows += merged.rows
        if checkpoint is not None:
            self.last_checkpoint = checkpoint
        for bundle in items:
            if bundle.after is not None:
                try:
                    bundle.after()
                except Exception:  # an alert sink must not stop the store writer
                    log.exception("after-commit action failed")

