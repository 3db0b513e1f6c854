"""The detector seen from outside: ``/health`` (JSON) and ``/metrics`` (Prometheus).

``fraudstream detect --http-port PORT`` serves, from a thread of its own:

* ``GET /metrics``: the Prometheus text format (``prometheus_client``), read from the running
  service at each scrape — counters of transactions decided, alerts, dead letters, lines lost
  to a gap in the stream, labels,
  reviews, stored rows and commits; the work per stage (wall and CPU seconds, counters, so
  ``rate()`` gives each stage's share); the store's queue and reconnects; the live prequential
  metrics over the sliding window (precision, recall, average precision, alert precision, fraud
  rate: estimates on labels that arrived late, see :mod:`fraudstream.service.labels`); the
  model version as an info metric. Point Prometheus (and Grafana) at it.
* ``GET /health``: ``{"status": "ok" | "failing", ...}`` with the model version, the position
  read, transactions decided and stored, and the store's failure if it has one; HTTP 503 when
  failing, so a load balancer or an orchestrator's probe can act on the code alone.

Nothing here touches the detection loop: a scrape reads counters the loop keeps anyway.

>>> from prometheus_client.parser import text_string_to_metric_families
>>> class Service:  # the attributes a collector reads (a DetectionService has them all)
...     from fraudstream.service.runtime import RunSummary
...     summary, decider, sink, source = RunSummary(processed=3), None, None, None
>>> text = metrics_text(Service())
>>> [m.samples[0].value for m in text_string_to_metric_families(text) if m.name == "fraudstream_detect_transactions"]
[3.0]
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from fraudstream.service.sink import NullSink

__all__ = ["ServiceCollector", "StatusServer", "health", "metrics_text"]

log = logging.getLogger(__name__)

_COUNTERS = (
    ("transactions", "processed", "Transactions decided."),
    ("replayed_transactions", "replayed", "Transactions read again after a restart to rebuild the feature state."),
    ("alerts", "alerts", "Alerts raised."),
    ("alerts_over_budget", "over_budget", "Alerts held back by the daily alert budget."),
    ("dead_letters", "dead_letters", "Malformed lines dead-lettered with their reason."),
    ("lost_lines", "lost", "Stream lines the server no longer held when the source resumed (a gap)."),
    ("labels", "labels", "Label messages received from the stream."),
    ("labels_joined", "joined", "Late labels joined to their decision."),
    ("labels_corrected", "relabelled", "Labels that replaced a different earlier label of the same decision."),
    ("labels_unjoined", "unjoined", "Reviews and file labels whose decision is not remembered."),
    ("online_updates", "learned", "Labelled rows the online model learned from."),
    ("reviews", "reviews", "Analysts' reviews read from the store and applied."),
    ("file_labels", "file_labels", "Labels of the labels file applied."),
)
_WINDOW = ("precision", "recall", "ap", "alert_precision", "fraud_rate", "n")


class ServiceCollector(Collector):
    """Reads a :class:`~fraudstream.service.runtime.DetectionService` at each scrape."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def collect(self) -> Iterator[Any]:
        summary = self.service.summary
        for name, field, text in _COUNTERS:
            yield CounterMetricFamily(f"fraudstream_detect_{name}", text, value=getattr(summary, field))
        yield CounterMetricFamily(
            "fraudstream_detect_model_swaps", "Models hot-swapped in.", value=len(summary.swaps)
        )
        stages = summary.stages
        for kind, values, what in (("stage", stages.seconds, "Wall-clock"), ("stage_cpu", stages.cpu_seconds, "CPU")):
            family = CounterMetricFamily(
                f"fraudstream_detect_{kind}_seconds", f"{what} seconds of work per stage.", labels=["stage"]
            )
            for stage, seconds in values.items():
                family.add_metric([stage], seconds)
            yield family
        window = GaugeMetricFamily(
            "fraudstream_detect_window",
            "Prequential metrics over the last labelled decisions (NaN while undefined).",
            labels=["metric"],
        )
        for name in _WINDOW:
            window.add_metric([name], float(summary.metrics.get(name, math.nan)))
        yield window
        yield from self._store()
        version = _model_version(self.service)
        if version is not None:
            yield InfoMetricFamily("fraudstream_detect_model", "The model scoring now.", value={"version": version})

    def _store(self) -> Iterator[Any]:
        sink = self.service.sink
        if sink is None or isinstance(sink, NullSink):
            return
        for name, text, value in (
            ("rows", "Transactions committed to the store.", sink.written_rows),
            ("commits", "Database transactions committed.", sink.commits),
            ("reconnects", "Reconnections after the database went away.", sink.reconnects),
        ):
            yield CounterMetricFamily(f"fraudstream_store_{name}", text, value=value)
        pending = sink.pending
        yield GaugeMetricFamily("fraudstream_store_pending_batches", "Batches waiting for the store.", value=pending)
        up = float(sink.failure is None)
        yield GaugeMetricFamily("fraudstream_store_up", "1 while the store writer works, 0 once it failed.", value=up)


def _model_version(service: Any) -> str | None:
    model = getattr(service.decider, "model", None)
    return None if model is None else str(model.version)


def metrics_text(service: Any) -> str:
    """The Prometheus text of ``service`` now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(service))
    return generate_latest(registry).decode()


def health(service: Any) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of ``/health``: 200 while the service works, 503 once its store failed."""
    sink = service.sink
    failure = getattr(sink, "failure", None) if sink is not None else None
    source = service.source
    body = {
        "status": "failing" if failure is not None else "ok",
        "model_version": _model_version(service),
        "source": source.describe() if source is not None else None,
        "position": getattr(source, "position", None),
        "decided": service.summary.processed,
        "stored": getattr(sink, "written_rows", None),
        "store_failure": None if failure is None else str(failure),
    }
    return (503 if failure is not None else 200), body


class StatusServer:
    """``/health`` and ``/metrics`` of one service on ``host:port`` (a daemon thread); a context
    manager. ``port=0`` picks a free port (see :attr:`port`)."""

    def __init__(self, service: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.service = service
        registry = CollectorRegistry(auto_describe=False)
        registry.register(ServiceCollector(service))
        handler = _handler(service, registry)
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as error:
            from fraudstream.errors import ConfigError

            raise ConfigError(f"--http-port {port}: cannot listen on {host}:{port} ({error.strerror})") from None
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fraudstream-detect-http", daemon=True)

    def __enter__(self) -> StatusServer:
        self._thread.start()
        log.info("health and metrics on http://%s:%d/health and /metrics", self.host, self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler(service: Any, registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            elif path == "/health":
                status, body = health(service)
                self._send(status, "application/json", orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY))
            else:
                self._send(404, "application/json", orjson.dumps({"error": f"no page {path}; try /health or /metrics"}))

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http %s", format % args)

    return Handler
