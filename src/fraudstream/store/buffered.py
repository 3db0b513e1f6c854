"""A background writer in front of a store: batching, backpressure and outage handling.

:class:`BackgroundWriter` is the machinery; :class:`BufferedWriter` uses it for one table per
batch, and the detection service's :class:`~fraudstream.service.sink.StoreSink` for whole
micro-batches (every table and the checkpoint in one database transaction).

Producers call ``write_transactions`` / ``write_decisions`` / ``write_alerts`` /
``write_labels`` with micro-batches (and optionally a checkpoint). The batches wait in a
bounded queue of ``max_pending`` items that one writer thread drains into the store, merging
consecutive batches of the same kind into one write (the checkpoint of the last one goes with
it, in the same database transaction).

* **Backpressure**: when the store is slower than the producers the queue fills and the next
  ``write_*`` call blocks until there is room, so memory stays bounded by ``max_pending``
  batches instead of growing.
* **Outage**: when the database goes away (:class:`~fraudstream.store.base.StoreUnavailable`)
  the writer keeps the batch, reconnects with exponential backoff and writes it again (writes
  are idempotent, so a batch whose commit reached the database before the connection broke is
  not doubled). After ``retry_for_s`` seconds without success it gives up, and every later
  call (``write_*``, ``flush``, ``close``) raises a :class:`StoreError` that says where the
  database is, for how long it was unreachable, and the last checkpoint stored: the data
  after it is not stored.

>>> import pandas as pd
>>> from fraudstream.store import open_store
>>> store = open_store("sqlite:///:memory:")
>>> frame = pd.DataFrame({"tx_id": [1], "ts": pd.to_datetime(["2024-01-01"], utc=True),
...     "customer_id": [7], "merchant_id": ["M1"], "amount": [5.0]})
>>> with BufferedWriter(lambda: store, max_pending=4, owns_store=False) as writer:
...     writer.write_transactions(frame, checkpoint=("stream", 1))
>>> store.count("transactions"), store.read_checkpoint("stream")
(1, 1)
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

import pandas as pd

from fraudstream.errors import ConfigError, StoreError
from fraudstream.store.base import Checkpoint, Store, StoreUnavailable

__all__ = ["BackgroundWriter", "BufferedWriter"]

log = logging.getLogger(__name__)

Item = TypeVar("Item")
_STOP = object()


class BackgroundWriter(ABC, Generic[Item]):
    """Items queued by producers, merged and written to a store by one background thread.

    The writer thread opens the store with ``open_store`` (:meth:`_open`), then takes items from
    a queue of at most ``max_pending``, merges those already waiting (while
    :meth:`_mergeable` and up to ``merge_rows`` rows) and hands them to :meth:`_write`, which
    wraps each database attempt in :meth:`_retrying`. A failure (a :class:`StoreError`, such as
    giving up after ``retry_for_s`` seconds of outage) is raised by every later call. The store
    is closed in the writer thread when it stops, unless ``owns_store`` is False.
    """

    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        max_pending: int,
        merge_rows: int,
        retry_for_s: float,
        backoff_s: float,
        max_backoff_s: float,
        owns_store: bool,
        thread_name: str,
    ) -> None:
        if max_pending < 1:
            raise ConfigError(f"max_pending must be >= 1, got {max_pending}")
        if retry_for_s < 0:
            raise ConfigError(f"retry_for_s must be >= 0, got {retry_for_s}")
        self.max_pending, self.merge_rows = max_pending, merge_rows
        self.retry_for_s, self.backoff_s, self.max_backoff_s = retry_for_s, backoff_s, max_backoff_s
        self._open_store = open_store
        self.owns_store = owns_store
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._failure: StoreError | ConfigError | None = None
        self._ready = threading.Event()
        self.store: Store | None = None
        self.written_rows = self.reconnects = self.max_seen_pending = 0
        self.last_checkpoint: Checkpoint | None = None
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()
        self._ready.wait()
        self._raise_if_failed()

    # ---- what a kind of writer says --------------------------------------------------------

    @abstractmethod
    def _rows(self, item: Item) -> int:
        """Rows of ``item`` counted against ``merge_rows``."""

    def _mergeable(self, first: Item, following: Item) -> bool:
        """Whether ``following`` may go into the same write as ``first``."""
        return True

    @abstractmethod
    def _write(self, items: list[Item]) -> None:
        """Write ``items`` (already merged) to :attr:`store`, through :meth:`_retrying`."""

    def _open(self) -> None:
        """Open the store (in the writer thread); override to retry while it is unavailable."""
        self.store = self._open_store()

    # ---- producer side ------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def failure(self) -> StoreError | ConfigError | None:
        """The writer's failure (it has stopped writing), or None while it works."""
        return self._failure

    @property
    def pending(self) -> int:
        """Batches waiting in the queue (at most ``max_pending``)."""
        return self._queue.qsize()

    def _put(self, item: Any) -> None:
        while True:  # block while the queue is full, but wake up to notice a failure
            self._raise_if_failed()
            try:
                self._queue.put(item, timeout=0.1)
                break
            except queue.Full:
                continue
        self.max_seen_pending = max(self.max_seen_pending, self._queue.qsize())

    def flush(self) -> None:
        """Wait until every batch given so far is stored (or raise the writer's failure)."""
        while self._queue.unfinished_tasks:
            self._raise_if_failed()
            with self._queue.all_tasks_done:
                self._queue.all_tasks_done.wait(timeout=0.1)
        self._raise_if_failed()

    def close(self) -> None:
        """Flush, stop the writer thread and close the store it opened."""
        try:
            if self._thread.is_alive() and self._failure is None:
                self._put(_STOP)
                self.flush()
        finally:
            self._thread.join(timeout=5)
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure

    # ---- writer thread --------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._open()
        except (StoreError, ConfigError) as exc:  # e.g. a folder that does not exist
            self._failure = exc
        finally:
            self._ready.set()
        if self._failure is not None:
            return
        try:
            self._drain()
        finally:
            if self.owns_store and self.store is not None:
                self.store.close()

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._queue.task_done()
                return
            items = [item]
            rows = self._rows(item)
            while rows < self.merge_rows:  # merge what is already waiting, in order
                try:
                    following = self._queue.queue[0]
                except IndexError:
                    break
                if following is _STOP or not self._mergeable(item, following):
                    break
                items.append(self._queue.get_nowait())
                rows += self._rows(following)
            try:
                self._write(items)
            except StoreError as exc:
                self._failure = exc
                log.error("%s", exc)
                return
            finally:
                for _ in items:
                    self._queue.task_done()

    def _retrying(
        self,
        action: Callable[[], None],
        give_up: Callable[[StoreUnavailable, float], StoreError],
        what: str = "store write",
    ) -> None:
        """Run ``action`` until it succeeds, reconnecting with backoff while the store is
        unavailable, for at most ``retry_for_s`` seconds; then raise ``give_up(error, seconds)``."""
        first_failure: float | None = None
        delay = self.backoff_s
        while True:
            try:
                action()
                return
            except StoreUnavailable as exc:
                now = time.monotonic()
                first_failure = now if first_failure is None else first_failure
                if now - first_failure >= self.retry_for_s:
                    raise give_up(exc, now - first_failure) from exc
                log.warning("%s failed (%s); retrying in %.2f s", what, exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
                if self.store is not None:
                    try:
                        self.store.reconnect()
                        self.reconnects += 1
                    except StoreUnavailable:
                        pass

    def _queued_rows(self) -> int:
        """Rows still waiting in the queue (for the give-up message)."""
        return sum(self._rows(item) for item in list(self._queue.queue) if item is not _STOP)


@dataclass
class _Item:
    kind: str
    frame: pd.DataFrame
    checkpoint: Checkpoint | None


class BufferedWriter(BackgroundWriter[_Item]):
    """Writes micro-batches to a store from a background thread (see the module docstring).

    ``open_store`` is called in the writer thread, and retried like a write while the database
    is unreachable; the writer closes that store when it stops unless ``owns_store`` is False
    (pass ``lambda: store, owns_store=False`` to share an open store).
    """

    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        max_pending: int = 16,
        merge_rows: int = 50_000,
        retry_for_s: float = 30.0,
        backoff_s: float = 0.05,
        max_backoff_s: float = 2.0,
        owns_store: bool = True,
    ) -> None:
        super().__init__(
            open_store,
            max_pending=max_pending,
            merge_rows=merge_rows,
            retry_for_s=retry_for_s,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            owns_store=owns_store,
            thread_name="fraudstream-store-writer",
        )

    def write_transactions(self, frame: pd.DataFrame, *, checkpoint: Checkpoint | None = None) -> None:
        self._put(_Item("transactions", frame, checkpoint))

    def write_decisions(self, frame: pd.DataFrame, *, checkpoint: Checkpoint | None = None) -> None:
        self._put(_Item("decisions", frame, checkpoint))

    def write_alerts(self, frame: pd.DataFrame, *, checkpoint: Checkpoint | None = None) -> None:
        self._put(_Item("alerts", frame, checkpoint))

    def write_labels(self, frame: pd.DataFrame, *, checkpoint: Checkpoint | None = None) -> None:
        self._put(_Item("labels", frame, checkpoint))

    # ---- writer thread --------------------------------------------------------------------------

    def _rows(self, item: _Item) -> int:
        return len(item.frame)

    def _mergeable(self, first: _Item, following: _Item) -> bool:
        return following.kind == first.kind

    def _open(self) -> None:
        self._retrying(super()._open, self._give_up("opening the store"), what="opening the store")

    def _write(self, items: list[_Item]) -> None:
        frame = items[0].frame if len(items) == 1 else pd.concat([i.frame for i in items], ignore_index=True)
        checkpoint = next((i.checkpoint for i in reversed(items) if i.checkpoint is not None), None)

        def write() -> None:
            assert self.store is not None
            getattr(self.store, f"write_{items[0].kind}")(frame, checkpoint=checkpoint)

        pending = f"{len(items)} batch(es) of {items[0].kind}, {len(frame) + self._queued_rows():,} rows"
        self._retrying(write, self._give_up(pending))
        self.written_rows += len(frame)
        if checkpoint is not None:
            self.last_checkpoint = checkpoint

    def _give_up(self, pending: str) -> Callable[[StoreUnavailable, float], StoreError]:
        def error(exc: StoreUnavailable, unreachable_s: float) -> StoreError:
            where = self.store.describe() if self.store is not None else str(exc).split(": ", 1)[0]
            return StoreError(
                f"{where} unreachable for {unreachable_s:.0f} s: {_cause(exc)}; data since "
                f"checkpoint {self.last_checkpoint!r} is not stored ({pending}, still queued)"
            )

        return error


def _cause(exc: StoreUnavailable) -> str:
    """The driver's message without the store's own ``<where>: `` prefix."""
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text
