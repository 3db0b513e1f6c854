"""Analysts' reviews as late labels: polling the store while the detector runs.

Analysts confirm or reject alerts in the dashboard (:func:`fraudstream.dashboard.triage.triage`),
which writes a label with ``source='review'`` to the store's ``labels`` table (escalating writes
none: it is not a label). While ``fraudstream detect --store URL`` runs, a :class:`ReviewPoller`
thread reads new reviews every ``poll_s`` seconds with its own connection, incrementally by their
key ``(labelled_at, tx_id)`` (:meth:`~fraudstream.store.base.Store.read_labels_page`), at most
``page_rows`` per read (a full page is followed by the next read at once), and queues them (at
most ``max_pages`` pages wait: memory stays bounded). The detection loop takes the pages between
two micro-batches and feeds them through the path of label messages: feature-engine risk state,
prequential metrics and online model (see :mod:`fraudstream.service.runtime`).

**Cursor.** The key of the last review applied, as JSON (``{"labelled_at": ISO 8601, "tx_id":
TEXT}``), is part of the detector's checkpoint and of every feature-state snapshot. After a
restart the poller starts at the *snapshot's* cursor (the restored state holds the reviews up to
it); reviews up to the *checkpoint's* cursor then only rebuild the risk state (they were counted
before the restart), later ones are new: no review missed, none applied twice.

**Settling.** Only reviews at least ``settle_s`` seconds old (by ``labelled_at``) are read. A
review is stamped before its database transaction commits, so a younger one may still be
invisible while a later-stamped one is already read, and the cursor would pass it. The stamp is
the dashboard host's clock: keep the clocks of the two hosts within ``settle_s`` of each other.

>>> from fraudstream.store import open_store
>>> store = open_store("sqlite:///:memory:")
>>> _ = store.write_labels(pd.DataFrame({"tx_id": [7, 8], "is_fraud": [True, False],
...     "labelled_at": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)}))
>>> poller = ReviewPoller(lambda: store, close_store=False)
>>> poller.resume(None, replay_until=cursor_of("2024-01-01", 7))
>>> poller.poll_once()
False
>>> [(page.replayed["tx_id"].tolist(), page.labels["tx_id"].tolist(), page.cursor) for page in poller.take()]
[([7], [8], {'labelled_at': '2024-01-02T00:00:00+00:00', 'tx_id': '8'})]
>>> store.close()
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fraudstream.errors import ConfigError, StoreError
from fraudstream.store.base import Store

__all__ = ["ReviewPage", "ReviewPoller", "cursor_key", "cursor_of"]

log = logging.getLogger(__name__)

Cursor = dict[str, str]
"""``{"labelled_at": ISO 8601, "tx_id": TEXT}``: the key of a review (JSON-able)."""


def cursor_of(labelled_at: Any, tx_id: Any) -> Cursor:
    """The cursor of the review ``(labelled_at, tx_id)`` (a naive time is UTC)."""
    stamp = pd.Timestamp(labelled_at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return {"labelled_at": stamp.isoformat(), "tx_id": str(tx_id)}


def cursor_key(cursor: Cursor) -> tuple[pd.Timestamp, str]:
    """``(labelled_at, tx_id as text)``: cursors compare as their keys, in the store's order."""
    return pd.Timestamp(cursor["labelled_at"]), str(cursor["tx_id"])


@dataclass
class ReviewPage:
    """Reviews read in one go, in key order: ``replayed`` (up to the checkpoint's cursor after a
    restart: risk state only), then ``labels`` (new); ``cursor``: the key of the last one."""

    replayed: pd.DataFrame
    labels: pd.DataFrame
    cursor: Cursor


class ReviewPoller:
    """A thread that reads new reviews from the store (see the module docstring)."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        poll_s: float = 2.0,
        page_rows: int = 10_000,
        settle_s: float = 2.0,
        max_pages: int = 4,
        close_store: bool = True,
    ) -> None:
        if poll_s <= 0:
            raise ConfigError(f"--review-poll-s must be > 0 seconds, got {poll_s:g}")
        if page_rows < 1:
            raise ConfigError(f"review page_rows must be >= 1, got {page_rows}")
        self.open_store = open_store
        self.poll_s = poll_s
        self.page_rows = page_rows
        self.settle_s = settle_s
        self.close_store = close_store
        self.read = 0
        """Reviews read so far."""
        self._pages: queue.Queue[ReviewPage] = queue.Queue(max_pages)
        self._after: tuple[pd.Timestamp, str] | None = None
        self._replay_until: tuple[pd.Timestamp, str] | None = None
        self._store: Store | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def resume(self, after: Cursor | None, replay_until: Cursor | None = None) -> None:
        """Read reviews after ``after`` (from the first when None); those up to ``replay_until``
        come as ``replayed``. Call before :meth:`start`."""
        self._after = cursor_key(after) if after else None
        self._replay_until = cursor_key(replay_until) if replay_until else None

    @property
    def ready(self) -> bool:
        """Whether a page waits (cheap: the detection loop asks between batches)."""
        return not self._pages.empty()

    def take(self) -> list[ReviewPage]:
        """The pages read so far, oldest first (never blocks)."""
        pages = []
        while True:
            try:
                pages.append(self._pages.get_nowait())
            except queue.Empty:
                return pages

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fraudstream-reviews", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread (it finishes the read in progress) and close its store."""
        self._stop.set()
        if self._thread is not None:  # the thread closes the store it opened
            self._thread.join(30)
            self._thread = None
        else:
            self._close_store()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                full = self.poll_once()
            except StoreError as exc:
                log.warning("reading analysts' reviews failed (retrying in %g s): %s", self.poll_s, exc)
                self._close_store()
                full = False
            if not full and self._stop.wait(self.poll_s):
                break
        self._close_store()

    def poll_once(self) -> bool:
        """Read one page of reviews and queue it (waits while ``max_pages`` are queued); True if
        the page was full (more may be waiting)."""
        if self._store is None:
            self._store = self.open_store()
        until = pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=self.settle_s)
        page = self._store.read_labels_page("review", self._after, until=until, limit=self.page_rows)
        if not len(page):
            return False
        page = page[["tx_id", "is_fraud", "fraud_pattern", "labelled_at"]]
        replayed = 0
        if self._replay_until is not None:
            at, tx_id = self._replay_until
            times, ids = page["labelled_at"], page["tx_id"].astype(str)
            replayed = int(((times < at) | ((times == at) & (ids <= tx_id))).sum())
            if replayed < len(page):
                self._replay_until = None
        last = page.iloc[-1]
        cursor = cursor_of(last["labelled_at"], last["tx_id"])
        item = ReviewPage(page.iloc[:replayed], page.iloc[replayed:].reset_index(drop=True), cursor)
        while not self._stop.is_set():
            try:
                self._pages.put(item, timeout=0.2)
                break
            except queue.Full:
                continue
        else:
            return False
        self._after = cursor_key(cursor)
        self.read += len(page)
        return len(page) == self.page_rows

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None and self.close_store:
            with contextlib.suppress(StoreError):
                store.close()
