"""``fraudstream detect``: the real-time detection service (see ``docs/detection-service.md``)."""

from __future__ import annotations

import logging
import signal
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from fraudstream.errors import ConfigError

__all__ = ["detect"]

log = logging.getLogger(__name__)


def _state_dir(store: str | None, state_dir: str | None, name: str) -> Path | None:
    if state_dir:
        return Path(state_dir)
    if store and store.startswith("sqlite:///") and ":memory:" not in store:
        from fraudstream.store.sqlite import sqlite_path

        return Path(sqlite_path(store)[0]).resolve().parent / f".{name}-state"
    if store:
        return Path(f".fraudstream-{name}-state")
    return None


@click.command(name="detect")
@click.option(
    "--source",
    default="tcp://localhost:5555",
    show_default=True,
    envvar="FRAUDSTREAM_SOURCE",
    help="tcp://HOST:PORT (a fraudstream serve), file:PATH (.ndjson lines, or .csv/.parquet dataset) "
    "or - (NDJSON on stdin).",
)
@click.option("--schema", help="Layout of a file:PATH dataset (handbook, kaggle, ...); default: detected.")
@click.option(
    "--rate",
    type=float,
    help="Pace a file source at this many transactions/s (default: as fast as possible).",
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False),
    help="Saved model folder (fraudstream train); watched: a new model saved there is hot-swapped in.",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False),
    help="Rules file (.yaml/.json); reloaded when it changes.",
)
@click.option(
    "--store", envvar="FRAUDSTREAM_STORE", help="sqlite:///path.db or postgresql://... (default: no store)."
)
@click.option(
    "--alerts", "alerts_file", type=click.Path(dir_okay=False), help="Append alerts to this NDJSON file."
)
@click.option("--webhook", help="POST alerts (JSON) to this URL.")
@click.option("--alert-budget", type=click.IntRange(min=0), help="At most N alerts per (event) day.")
@click.option("--quiet", is_flag=True, help="No FRAUD ALERT blocks on stdout.")
@click.option(
    "--batch-size",
    default=5000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Largest micro-batch, transactions (a batch is cut earlier after --max-wait-ms, so "
    "batches are small at low rates and grow to this size when the detector is behind).",
)
@click.option(
    "--max-wait-ms",
    default=25.0,
    show_default=True,
    type=float,
    help="Longest a transaction waits for its batch to fill (lower: less latency, more CPU per "
    "transaction at low rates; a busy detector fills its batches by size anyway).",
)
@click.option(
    "--mode",
    type=click.Choice(["stream", "monitor"]),
    default="stream",
    show_default=True,
    help="stream: read --source; monitor: poll --store for unscored rows (seed 002).",
)
@click.option(
    "--poll-s", default=5.0, show_default=True, type=float, help="Monitor mode: seconds between polls."
)
@click.option(
    "--poll-rows",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Monitor mode: rows scored per poll.",
)
@click.option(
    "--dead-letters",
    type=click.Path(dir_okay=False),
    help="Write malformed lines with their reason to this NDJSON file.",
)
@click.option("--name", default="detect", show_default=True, help="Checkpoint name (one per detector).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help="Where feature-state snapshots go (default: .NAME-state next to a SQLite store).",
)
@click.option(
    "--snapshot-every-s",
    default=10.0,
    show_default=True,
    type=float,
    help="Seconds between feature-state snapshots.",
)
@click.option(
    "--retry-for-s",
    default=30.0,
    show_default=True,
    type=float,
    help="How long to retry a database that went away before failing.",
)
@click.option(
    "--max-pending",
    default=8,
    show_default=True,
    type=click.IntRange(min=1),
    help="Batches waiting for the store before reading pauses (backpressure).",
)
@click.option(
    "--writer",
    type=click.Choice(["process", "thread"]),
    default="process",
    show_default=True,
    help="Where store writes run: a process of their own (detection and writing use two cores) "
    "or a thread of the detector (one process).",
)
@click.option(
    "--metrics-every-s",
    default=10.0,
    show_default=True,
    type=float,
    help="Seconds between live-metric reports (log and store).",
)
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(dir_okay=False, exists=True),
    help="Late labels from a file (CSV/NDJSON/Parquet: tx_id, is_fraud, optional labelled_at, fraud_pattern): "
    "each is applied when the stream's event time reaches its labelled_at (at once without one) and "
    "stored with source 'file'. The file is checked first: a bad row stops detect with its line.",
)
@click.option(
    "--review-poll-s",
    default=2.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds between reads of analysts' reviews (dashboard triage) from --store; they are "
    "applied as late labels. 0: do not read them.",
)
@click.option(
    "--http-port",
    type=click.IntRange(min=0, max=65535),
    help="Serve GET /health (JSON; 503 once the store failed) and /metrics (Prometheus) on this port.",
)
@click.option("--http-host", default="127.0.0.1", show_default=True, help="Address of --http-port.")
def detect(
    source: str,
    schema: str | None,
    rate: float | None,
    model_dir: str | None,
    rules_file: str | None,
    store: str | None,
    alerts_file: str | None,
    webhook: str | None,
    alert_budget: int | None,
    quiet: bool,
    batch_size: int,
    max_wait_ms: float,
    mode: str,
    poll_s: float,
    poll_rows: int,
    dead_letters: str | None,
    name: str,
    state_dir: str | None,
    snapshot_every_s: float,
    retry_for_s: float,
    max_pending: int,
    writer: str,
    metrics_every_s: float,
    labels_path: str | None,
    review_poll_s: float,
    http_port: int | None,
    http_host: str,
) -> None:
    """Score a live stream with a saved model and/or rules; store decisions, raise alerts.

    \b
    Examples:
      fraudstream detect --rules rules.yaml                         # stream from localhost:5555
      fraudstream detect --model models/gbm --store sqlite:///fraud.db --alerts alerts.ndjson
      fraudstream detect --source file:capture.ndjson --model models/gbm --store sqlite:///f.db
      fraudstream detect --mode monitor --store sqlite:///fraud.db --model models/ae
      fraudstream detect --source file:f.csv --labels chargebacks.csv --model models/gbm --store sqlite:///f.db
      fraudstream detect --model models/gbm --store sqlite:///f.db --http-port 9108  # /health, /metrics
    """
    from fraudstream.service.alerts import AlertBudget, ConsoleAlerts, NdjsonAlerts, WebhookAlerts
    from fraudstream.service.deadletter import DeadLetters
    from fraudstream.service.decisions import Decider, Featurizer, load_model, load_rules
    from fraudstream.service.labels_file import LabelsFile
    from fraudstream.service.observe import StatusServer
    from fraudstream.service.reviews import ReviewPoller
    from fraudstream.service.runtime import DetectionService, read_resume_point
    from fraudstream.service.sink import StoreSink
    from fraudstream.service.sources import LineFileSource, StdinSource, TcpSource, open_source
    from fraudstream.service.store_process import ProcessStoreSink
    from fraudstream.store import open_store

    if max_wait_ms <= 0:
        raise ConfigError(f"--max-wait-ms must be > 0, got {max_wait_ms:g}")
    model = load_model(model_dir) if model_dir else None
    rules, rules_version = load_rules(rules_file) if rules_file else (None, "rules")
    decider = Decider(model, rules, rules_version)
    watcher = rules.watch(rules_file) if rules is not None and rules_file else None
    featurizer = Featurizer(model.feature_set if model is not None else "default")
    alert_sinks: list[Any] = [] if quiet else [ConsoleAlerts(sys.stdout)]
    if alerts_file:
        alert_sinks.append(NdjsonAlerts(alerts_file))
    if webhook:
        alert_sinks.append(WebhookAlerts(webhook))
    budget = AlertBudget(alert_budget)
    labels = LabelsFile.read(labels_path) if labels_path else None

    if mode == "monitor":
        from fraudstream.service.monitor import Monitor

        if not store:
            raise ConfigError("--mode monitor needs --store (the database to poll)")
        if labels is not None:
            raise ConfigError("--labels needs --mode stream (monitor mode learns no labels)")
        monitor = Monitor(
            lambda: open_store(store),
            decider,
            featurizer,
            alert_sinks=alert_sinks,
            budget=budget,
            poll_s=poll_s,
            rows=poll_rows,
        )
        _on_signals(monitor.stop)
        scored = monitor.run()
        click.echo(f"monitor stopped: {scored:,} rows scored", err=True)
        return

    resume = read_resume_point(store, name)
    src = open_source(source, schema=schema, rate=rate, batch_size=batch_size, max_wait_s=max_wait_ms / 1000)
    label_source = (
        "file"
        if isinstance(src, LineFileSource) or not isinstance(src, TcpSource | StdinSource)
        else "stream"
    )
    sink_settings = {"retry_for_s": retry_for_s, "max_pending": max_pending, "label_source": label_source}
    if not store:
        sink = None
    elif writer == "process" and ":memory:" not in store:
        sink = ProcessStoreSink(store, **sink_settings)
    else:
        sink = StoreSink(lambda: open_store(store), **sink_settings)
    service = DetectionService(
        src,
        decider,
        featurizer,
        sink=sink,
        alert_sinks=alert_sinks,
        budget=budget,
        dead_letters=DeadLetters(dead_letters),
        name=name,
        state_dir=_state_dir(store, state_dir, name),
        snapshot_every_s=snapshot_every_s,
        model_path=model_dir,
        metrics_every_s=metrics_every_s,
        reviews=ReviewPoller(lambda: open_store(store), poll_s=review_poll_s) if store and review_poll_s else None,
        labels_file=labels,
        resume=resume,
    )
    _on_signals(service.stop)
    try:
        with src, (StatusServer(service, host=http_host, port=http_port) if http_port is not None else nullcontext()):
            summary = service.run()
    finally:
        if watcher is not None:
            watcher.stop()
    shares = summary.stages.shares()
    click.echo(
        f"detect stopped: {summary.processed:,} decided, {summary.alerts:,} alerts "
        f"({summary.over_budget:,} over budget), {summary.dead_letters:,} dead letters, "
        f"{summary.joined:,} labels joined ({summary.relabelled:,} corrections), "
        f"{summary.reviews:,} reviews, {summary.file_labels:,} file labels, "
        f"{summary.unjoined:,} unjoined, {summary.replayed:,} replayed, {summary.lost:,} lost; "
        f"{summary.processed / max(summary.wall_s, 1e-9):,.0f} tx/s; stages "
        + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()),
        err=True,
    )


def _on_signals(stop: Any) -> None:
    def handler(signum: int, frame: Any) -> None:
        log.warning("signal %d: stopping after the current batch", signum)
        stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
