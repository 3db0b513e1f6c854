"""The embedded runtime: the whole flow of ``ARCHITECTURE.md`` in one process.

::

    classroom world ─► StreamServer ──TCP 127.0.0.1──► DetectionService ─► SQLite ◄── dashboard (uvicorn)
    (simulated, paced)  (free port, labels late)        (model trained now)  (store)   (127.0.0.1:8000)

:class:`Demo` starts the parts in the order that shows something soonest: the store and the
demo user, the dashboard (its URL and login are known at once, so one can log in while the
model trains), the model (:func:`~fraudstream.demo.model.train_demo_model`), then the stream
server and the detection service reading it over real TCP. :meth:`Demo.close` stops them the
other way round: the service finishes and commits its current batch, the stream server closes
its clients, uvicorn shuts down, the demo user is removed (it exists for this run only), and a
temporary store is deleted.

Every thread reports failures to the demo (:attr:`Demo.failure`) instead of dying silently.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fraudstream.demo.background import LOOPBACK, BackgroundDashboard, BackgroundServer, bind_loopback
from fraudstream.demo.console import Printer, Status, ThrottledAlerts
from fraudstream.demo.model import ClassroomAfter, DemoModel, train_demo_model, warm_up
from fraudstream.errors import ConfigError

__all__ = ["DEMO_USER", "Demo", "DemoSettings", "sqlite_url"]

log = logging.getLogger(__name__)

DEMO_USER = "demo"


def sqlite_url(store: str | Path) -> str:
    """``sqlite:///...`` of a file path (an ``sqlite:///`` URL is kept as it is).

    >>> sqlite_url("demo.db"), sqlite_url("sqlite:////tmp/x.db")
    ('sqlite:///demo.db', 'sqlite:////tmp/x.db')
    >>> sqlite_url("postgresql://db/x")
    Traceback (most recent call last):
    ...
    fraudstream.errors.ConfigError: --store must be a SQLite file (the demo is embedded), got 'postgresql://db/x'
    """
    text = str(store)
    if text.startswith("sqlite:///"):
        return text
    if "://" in text:
        raise ConfigError(f"--store must be a SQLite file (the demo is embedded), got {text!r}")
    return f"sqlite:///{text}"


@dataclass(frozen=True)
class DemoSettings:
    """What ``fraudstream demo`` runs (validated by the CLI)."""

    rate: float = 100.0
    """Transactions per second of the stream."""
    seed: int | None = None
    """Seed of the world (its history trains the model, its continuation is streamed); None: a new one."""
    store: str | None = None
    """SQLite file to keep; None: a fresh file in a temporary folder, deleted at the end."""
    port: int = 8000
    """Dashboard port; a taken port falls back to a free one."""
    label_delay_s: float = 3.0
    """Labels reach the detector this many seconds after their transaction."""
    history_days: int = 90
    alert_every_s: float = 3.0
    """At most one FRAUD ALERT block per this many seconds on the console."""
    password: str | None = None
    """The demo user's password; None: a random one."""


class Demo:
    """The running demo (see the module docstring). ``with Demo(settings, printer) as demo``."""

    def __init__(self, settings: DemoSettings, out: IO[str]) -> None:
        self.settings = settings
        self.printer = Printer(out)
        self.seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31 - 1)
        self.password = settings.password or secrets.token_urlsafe(9)
        self.failure: BaseException | None = None
        self.model: DemoModel | None = None
        self.alerts = ThrottledAlerts(self.printer, every_s=settings.alert_every_s)
        self.started = time.monotonic()
        self.streaming_since: float | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="fraudstream-demo-"))
        self.temporary_store = settings.store is None
        self.store_url = sqlite_url(settings.store or self._workdir / "demo.db")
        self.dashboard: BackgroundDashboard | None = None
        self.stream: BackgroundServer | None = None
        self.service: Any = None
        self._service_thread: threading.Thread | None = None
        self._training: threading.Thread | None = None
        self._user_added = False
        self._last_status = (time.monotonic(), 0)
        self._last_metrics: dict[str, float] = {}

    # ---- start ------------------------------------------------------------------------------
    def open_store(self) -> None:
        """Create the store (refusing one that already holds transactions) and the demo user."""
        from fraudstream.dashboard.users import add_user
        from fraudstream.store import open_store

        with open_store(self.store_url) as store:
            if store.count("transactions"):
                raise ConfigError(
                    f"--store {self.settings.store} already holds {store.count('transactions'):,} "
                    "transactions (of another run): give a new file"
                )
            add_user(store, DEMO_USER, self.password, "analyst", replace=True)
            self._user_added = True

    def start_dashboard(self) -> BackgroundDashboard:
        """Bind the dashboard's port (falling back to a free one) and start serving it."""
        from fraudstream.dashboard.app import DashboardConfig, create_app

        sock, fell_back = bind_loopback(self.settings.port, fall_back=True)
        if fell_back:
            self.printer.line(
                f"port {self.settings.port} is taken: the dashboard uses port {sock.getsockname()[1]} instead"
            )
        app = create_app(DashboardConfig(store_url=self.store_url, live_interval_s=0.5))
        self.dashboard = BackgroundDashboard(app, sock).start()
        return self.dashboard

    def start_training(self) -> None:
        """Train on the world's history (the days before now) in a thread, while the dashboard
        starts; the stream will continue that history (see :meth:`wait_trained`)."""

        def train() -> None:
            try:
                self.model = train_demo_model(
                    self._workdir / "model", seed=self.seed, days=self.settings.history_days
                )
            except BaseException as error:  # raised by wait_trained
                self.failure = error

        self._training = threading.Thread(target=train, name="fraudstream-demo-train", daemon=True)
        self._training.start()

    def wait_trained(self, stop: threading.Event) -> DemoModel | None:
        """The trained model; None if ``stop`` is set first. Raises what training raised."""
        assert self._training is not None
        while self._training.is_alive():
            if stop.wait(0.05):
                return None
        if self.failure is not None:
            raise self.failure
        return self.model

    def start_stream(self) -> None:
        """The stream server on a free loopback port, and the detection service reading it."""
        from fraudstream.cli.serve import welcome_for
        from fraudstream.stream.feed import Feed, LabelPolicy
        from fraudstream.stream.server import StreamServer
        from fraudstream.worlds.clock import Pacer

        assert self.model is not None
        world = ClassroomAfter(self.model.history_end, seed=self.seed, start=self.model.history_start)
        feed = Feed(
            world, Pacer(rate=self.settings.rate), labels=LabelPolicy("delayed", self.settings.label_delay_s)
        )
        server = StreamServer(feed, host=LOOPBACK, port=0, http_port=None, welcome=lambda: welcome_for(world))
        self.stream = BackgroundServer(server).__enter__()
        self.service = self._make_service(f"tcp://{LOOPBACK}:{self.stream.port}")
        self._service_thread = threading.Thread(
            target=self._run_service, name="fraudstream-demo-detect", daemon=True
        )
        self._service_thread.start()
        self.streaming_since = time.monotonic()
        self._last_status = (self.streaming_since, 0)

    def _make_service(self, source_url: str) -> Any:
        from fraudstream.service.decisions import Decider, Featurizer, load_model
        from fraudstream.service.runtime import DetectionService
        from fraudstream.service.sink import StoreSink
        from fraudstream.service.sources import TcpSource
        from fraudstream.store import open_store
        from fraudstream.stream.connection import Reconnect

        assert self.model is not None
        model = load_model(self.model.folder)
        featurizer = Featurizer(model.feature_set)
        warm_up(featurizer, self.model.history)
        source = TcpSource(
            source_url[len("tcp://") :], reconnect=Reconnect(attempts=3, max_s=1.0), max_wait_s=0.2
        )
        store_url = self.store_url
        return DetectionService(
            source,
            Decider(model),
            featurizer,
            sink=StoreSink(lambda: open_store(store_url), label_source="stream"),
            alert_sinks=[self.alerts],
            name="demo",
            metrics_every_s=5.0,
            window=1_000_000,  # "AP so far": every labelled decision of the run
        )

    def _run_service(self) -> None:
        try:
            with self.service.source:
                self.service.run()
        except BaseException as error:  # reported by the main thread
            log.exception("the demo's detection service failed")
            self.failure = error

    # ---- while running ----------------------------------------------------------------------
    def healthy(self) -> bool:
        """False once a part has failed or stopped on its own."""
        if self.failure is not None:
            return False
        return not (self._service_thread is not None and not self._service_thread.is_alive())

    def status(self) -> Status:
        """Transactions, rate since the last call, alerts and the live AP so far."""
        summary = self.service.summary if self.service is not None else None
        processed = summary.processed if summary is not None else 0
        now = time.monotonic()
        then, before = self._last_status
        rate = (processed - before) / (now - then) if now > then else 0.0
        self._last_status = (now, processed)
        if self.service is not None:
            # RuntimeError: the detector thread appended meanwhile; keep the last figures
            with contextlib.suppress(RuntimeError):
                self._last_metrics = self.service.metrics.snapshot()
        metrics = self._last_metrics
        return Status(
            elapsed_s=now - (self.streaming_since or self.started),
            transactions=processed,
            tx_per_s=rate,
            alerts=summary.alerts if summary is not None else 0,
            labelled=int(metrics.get("n", 0)),
            frauds=int(metrics.get("frauds", 0)),
            ap=float(metrics.get("ap", float("nan"))),
        )

    # ---- stop -------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop everything, newest part first; remove the demo user; delete temporary files."""
        started = time.perf_counter()
        if self._training is not None:
            self._training.join(120)  # stopped while training: let it finish writing (seconds)
        if self.service is not None:
            self.service.stop()
        if self._service_thread is not None:
            self._service_thread.join(30)
        log.info("demo: detection service stopped after %.2f s", time.perf_counter() - started)
        if self.stream is not None:
            self.stream.__exit__(None, None, None)
        log.info("demo: stream server stopped after %.2f s", time.perf_counter() - started)
        if self.dashboard is not None:
            self.dashboard.__exit__(None, None, None)
        log.info("demo: dashboard stopped after %.2f s", time.perf_counter() - started)
        if self._user_added and not self.temporary_store:
            self._remove_user()
        shutil.rmtree(self._workdir, ignore_errors=True)  # the model (and a temporary store)

    def _remove_user(self) -> None:
        from fraudstream.dashboard.users import remove_user
        from fraudstream.store import open_store

        try:
            with open_store(self.store_url) as store:
                remove_user(store, DEMO_USER)
        except Exception:  # the store may be gone with its temporary folder
            log.warning("could not remove the demo user from %s", self.store_url, exc_info=True)

    def __enter__(self) -> Demo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
