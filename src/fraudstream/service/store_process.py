"""The store sink in a process of its own, so that writing never competes with scoring for the GIL.

A :class:`~fraudstream.service.sink.StoreSink` runs the database work in a thread, but Python
holds one lock (the GIL) for all threads of a process: binding parameters, converting rows and
the driver's own bookkeeping take it away from the detector, and a thread that releases it for
every row's database step waits to get it back. :class:`ProcessStoreSink` runs the same
``StoreSink`` in a child process (a fresh interpreter) and talks to it over a socket pair:

* ``put`` sends the bundle as the store's rows (:class:`~fraudstream.service.bundle.StoreRows`,
  converted in the sending thread: Arrow tables, pickled as flat buffers) and keeps its ``after``
  callback; the child merges and commits bundles exactly as ``StoreSink`` does (one database
  transaction per merge, checkpoint included) and acknowledges each bundle once it is
  committed; a thread of this process then runs that bundle's ``after`` — so, as before,
  nothing leaves the service before its decision is stored.
* **Backpressure**: at most ``max_pending`` bundles are unacknowledged; ``put`` blocks beyond.
* **Failures** keep their words: the child's :class:`~fraudstream.errors.StoreError` (cannot
  open the store, gave up after an outage) is raised by the next ``put``, ``flush`` or
  ``close``; a child that dies is reported with its exit code.
* **Stopping**: ``close`` flushes and waits for the child. Ctrl-C reaches the parent only (the
  child ignores SIGINT and stops when told to); if the parent is killed, the child stores what
  it had already received, then exits.

The child's work shows in ``busy_s`` / ``busy_cpu_s`` (its writer thread's wall and CPU
seconds), ``commits``, ``written_rows`` and ``reconnects``, refreshed by every acknowledgement.
An in-memory SQLite store cannot be shared with another process: use :class:`StoreSink`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from fraudstream.errors import ConfigError, StoreError
from fraudstream.service.bundle import Bundle, StoreRows
from fraudstream.service.sink import StoreSink
from fraudstream.store.base import Checkpoint

__all__ = ["ProcessStoreSink"]

log = logging.getLogger(__name__)

_STATS = ("busy_s", "busy_cpu_s", "commits", "written_rows", "reconnects", "max_seen_pending", "last_checkpoint")


class ProcessStoreSink:
    """A :class:`~fraudstream.service.sink.StoreSink` for ``url`` run in a child process (see the
    module docstring); the keyword arguments are ``StoreSink``'s."""

    def __init__(
        self,
        url: str,
        *,
        max_pending: int = 8,
        start_timeout_s: float = 60.0,
        **settings: Any,
    ) -> None:
        if ":memory:" in url:
            raise ConfigError(f"store {url!r} lives in memory and cannot be written from another process")
        if max_pending < 1:
            raise ConfigError(f"max_pending must be >= 1, got {max_pending}")
        self.url = url
        self._label_source = settings.get("label_source", "stream")
        self.busy_s = self.busy_cpu_s = 0.0
        self.process_cpu_s = 0.0
        """CPU seconds of the whole writer process so far (its writer thread's are ``busy_cpu_s``)."""
        self.commits = self.written_rows = self.reconnects = self.max_seen_pending = 0
        self.last_checkpoint: Checkpoint | None = None
        self.store = None
        self._failure: StoreError | ConfigError | None = None
        self._slots = threading.Semaphore(max_pending)
        self._afters: dict[int, Callable[[], None] | None] = {}
        self._seq = 0
        self._send_lock = threading.Lock()
        self._events: dict[str, threading.Event] = {"ready": threading.Event(), "flushed": threading.Event(),
                                                    "closed": threading.Event()}
        self._closing = False
        ours, theirs = socket.socketpair()
        with ours, theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(theirs.fileno()), url,
                 json.dumps({"max_pending": max_pending, **settings})],
                pass_fds=(theirs.fileno(),),
            )
            self._conn = Connection(ours.detach())
        self._reader = threading.Thread(target=self._read_acks, name="fraudstream-store-acks", daemon=True)
        self._reader.start()
        try:
            self._wait("ready", start_timeout_s, "start")
        except BaseException:
            self._stop_child()
            raise

    @property
    def failure(self) -> StoreError | ConfigError | None:
        """The writer's failure (it has stopped writing), or None while it works."""
        return self._failure

    @property
    def pending(self) -> int:
        """Bundles sent but not yet acknowledged as stored (at most ``max_pending``)."""
        return len(self._afters)

    # ---- producer side --------------------------------------------------------------------------
    def prepare(self, bundle: Bundle) -> StoreRows:
        """``bundle`` as the store's rows, converted in the calling thread (not in the writer)."""
        return StoreRows.of(bundle, label_source=self._label_source)

    def put(self, bundle: Bundle | StoreRows) -> None:
        """Send a bundle (prepared or not) to the writer; blocks while ``max_pending`` bundles are
        not yet stored."""
        rows = bundle if isinstance(bundle, StoreRows) else self.prepare(bundle)
        while not self._slots.acquire(timeout=0.1):
            self._raise_if_failed()
        self._raise_if_failed()
        self._seq += 1
        self._afters[self._seq] = rows.after
        self.max_seen_pending = max(self.max_seen_pending, len(self._afters))
        self._send(("bundle", self._seq, replace(rows, after=None)))

    def flush(self) -> None:
        """Wait until every bundle given so far is stored (or raise the writer's failure)."""
        self._raise_if_failed()
        self._events["flushed"].clear()
        self._send(("flush",))
        self._wait("flushed", None, "flush")

    def close(self) -> None:
        """Flush, stop the child process and wait for it."""
        try:
            if self._failure is None and self._process.poll() is None:
                self._closing = True
                self._send(("close",))
                self._wait("closed", None, "close")
        finally:
            self._stop_child()
        self._raise_if_failed()

    def __enter__(self) -> ProcessStoreSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stop_child(self) -> None:
        self._closing = True
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._conn.close()

    # ---- talking to the child -------------------------------------------------------------------
    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            with self._send_lock:
                self._conn.send(message)
        except (OSError, ValueError):
            self._fail_if_gone()
            self._raise_if_failed()
            raise

    def _wait(self, event: str, timeout_s: float | None, doing: str) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._events[event].wait(timeout=0.1):
            self._raise_if_failed()
            if deadline is not None and time.monotonic() > deadline:
                raise StoreError(f"store writer process for {self.url!r} did not {doing} within {timeout_s:g} s")
        self._raise_if_failed()

    def _read_acks(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                self._fail_if_gone()
                return
            kind = message[0]
            if kind == "stored":
                self._stored(message[1], message[2])
            elif kind == "failed":
                self._failure = (ConfigError if message[2] else StoreError)(message[1])
                log.error("%s", self._failure)
            else:  # ready / flushed / closed
                if len(message) > 1:
                    self._update(message[1])
                self._events[kind].set()
            if kind == "closed":
                return

    def _stored(self, seq: int, stats: dict[str, Any]) -> None:
        self._update(stats)
        after = self._afters.pop(seq)
        self._slots.release()
        if after is not None:
            try:
                after()
            except Exception:  # an alert sink must not stop the acknowledgements
                log.exception("after-commit action failed")

    def _update(self, stats: dict[str, Any]) -> None:
        for name, value in stats.items():
            if name == "max_seen_pending":
                continue  # counted here: bundles sent and not yet acknowledged
            setattr(self, name, value)

    def _fail_if_gone(self) -> None:
        if self._failure is None and not (self._closing and self._events["closed"].is_set()):
            try:
                code: int | None = self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                code = None
            self._failure = StoreError(
                f"store writer process for {self.url!r} exited unexpectedly (exit code {code}); "
                f"stored up to checkpoint {self.last_checkpoint!r}"
            )

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure


_CHILD = "import sys; from fraudstream.service.store_process import serve; serve(*sys.argv[1:])"


def serve(fd: str, url: str, settings: str) -> None:  # pragma: no cover - runs in the child process
    """The writer process: a StoreSink for ``url`` (``settings``: its keyword arguments as JSON) fed
    bundles from the connection on file descriptor ``fd``, acknowledging each committed bundle."""
    from fraudstream.store import open_store

    conn = Connection(int(fd))
    sink_settings = json.loads(settings)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    send_lock = threading.Lock()

    def send(*message: Any) -> None:
        with send_lock, contextlib.suppress(OSError):  # the parent is gone: nobody to tell
            conn.send(message)

    def fail(exc: StoreError | ConfigError) -> None:
        send("failed", str(exc), isinstance(exc, ConfigError))

    try:
        sink = StoreSink(lambda: open_store(url), **sink_settings)
    except (StoreError, ConfigError) as exc:
        fail(exc)
        return

    def stats() -> dict[str, Any]:
        return {name: getattr(sink, name) for name in _STATS} | {"process_cpu_s": time.process_time()}

    def acknowledge(seq: int) -> Callable[[], None]:
        return lambda: send("stored", seq, stats())

    send("ready", stats())
    while True:
        if not conn.poll(0.1):
            if sink.failure is not None:
                fail(sink.failure)
                return
            continue
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone: store what was accepted, then stop
            try:
                sink.close()
            except StoreError as exc:
                log.error("%s", exc)
            return
        try:
            if message[0] == "bundle":
                bundle = message[2]
                bundle.after = acknowledge(message[1])
                sink.put(bundle)
            elif message[0] == "flush":
                sink.flush()
                send("flushed", stats())
            elif message[0] == "close":
                sink.close()
                send("closed", stats())
                return
        except (StoreError, ConfigError) as exc:
            fail(exc)
            return
