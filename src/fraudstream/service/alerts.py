"""Alerts: the console's FRAUD ALERT block, an NDJSON alert file, a webhook, and a daily budget.

A decision with verdict ``fraud`` becomes an alert unless the :class:`AlertBudget` of its event
day is spent (then the decision is still stored, and counted as ``over_budget``). The console
block follows the course's real-time client (seed 000, ``class-activity.md``)::

    🚨 FRAUD ALERT 🚨
    Transaction ID: 41
    User ID: 14
    Amount: $999.00
    Confidence: 97.20%
    Pattern: round_amount

>>> budget = AlertBudget(per_day=2)
>>> ts = pd.to_datetime(["2024-01-01T10:00", "2024-01-01T11:00", "2024-01-01T12:00", "2024-01-02T00:00"],
...                     utc=True)
>>> budget.admit(pd.Series(ts)).tolist()
[True, True, False, True]
>>> print(format_alert({"tx_id": 41, "customer_id": 14, "amount": 999.0, "score": 0.972,
...                     "pattern": "round_amount"}))
🚨 FRAUD ALERT 🚨
Transaction ID: 41
User ID: 14
Amount: $999.00
Confidence: 97.20%
Pattern: round_amount
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import pandas as pd

from fraudstream.errors import ConfigError

__all__ = [
    "AlertBudget",
    "AlertSink",
    "ConsoleAlerts",
    "NdjsonAlerts",
    "WebhookAlerts",
    "alert_records",
    "format_alert",
    "store_alerts",
]

log = logging.getLogger(__name__)


class AlertBudget:
    """At most ``per_day`` alerts per event day (UTC); ``None``: no cap. ``used`` survives a
    restart through the checkpoint (:meth:`state` / :meth:`restore`)."""

    def __init__(self, per_day: int | None = None) -> None:
        if per_day is not None and per_day < 0:
            raise ConfigError(f"--alert-budget must be >= 0 alerts per day, got {per_day}")
        self.per_day = per_day
        self.used: dict[str, int] = {}
        self.over_budget = 0

    def admit(self, ts: pd.Series) -> np.ndarray:
        """Which of these alerts (event times, in stream order) fit in their day's budget."""
        n = len(ts)
        if self.per_day is None or n == 0:
            return np.ones(n, dtype=bool)
        days = ts.dt.strftime("%Y-%m-%d").to_numpy() if n > 1 else np.array([ts.iloc[0].strftime("%Y-%m-%d")])
        keep = np.zeros(n, dtype=bool)
        codes, uniques = pd.factorize(days)
        rank = pd.Series(codes).groupby(codes).cumcount().to_numpy()
        for code, day in enumerate(uniques):
            room = max(0, self.per_day - self.used.get(day, 0))
            mine = codes == code
            keep |= mine & (rank < room)
            self.used[day] = self.used.get(day, 0) + int(min(room, mine.sum()))
        self.over_budget += int(n - keep.sum())
        if len(self.used) > 62:  # keep the state small: the last two months
            for day in sorted(self.used)[:-62]:
                del self.used[day]
        return keep

    def state(self) -> dict[str, Any]:
        return {"used": dict(self.used), "over_budget": self.over_budget}

    def restore(self, state: Mapping[str, Any] | None) -> None:
        if state:
            self.used = {str(k): int(v) for k, v in state.get("used", {}).items()}
            self.over_budget = int(state.get("over_budget", 0))


def alert_records(decisions: pd.DataFrame) -> list[dict[str, Any]]:
    """Alert dicts (JSON-ready) of fraud decisions."""
    frame = decisions.assign(ts=decisions["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    records = frame[
        ["tx_id", "ts", "customer_id", "amount", "score", "verdict", "model_version", "pattern", "reasons"]
    ].to_dict(orient="records")
    for record in records:
        record["reasons"] = (
            orjson.loads(record["reasons"]) if isinstance(record["reasons"], str) else record["reasons"]
        )
        for key in ("tx_id", "customer_id"):
            if isinstance(record[key], np.generic):
                record[key] = record[key].item()
    return records


def store_alerts(decisions: pd.DataFrame) -> pd.DataFrame:
    """The store's alert rows (``kind`` ``detector``) of fraud decisions."""
    return pd.DataFrame(
        {
            "tx_id": decisions["tx_id"].to_numpy(),
            "ts": decisions["ts"].to_numpy(),
            "kind": "detector",
            "customer_id": decisions["customer_id"].astype(str).to_numpy(),
            "severity": "high",
            "score": decisions["score"].to_numpy(np.float64),
            "message": ("FRAUD ALERT: " + decisions["pattern"].fillna("score").astype(str)).to_numpy(),
            "details": decisions["reasons"].to_numpy(),
        }
    ).assign(ts=decisions["ts"].reset_index(drop=True))


def format_alert(alert: Mapping[str, Any]) -> str:
    """The console block of one alert (see the module docstring)."""
    score = float(alert["score"])
    confidence = f"Confidence: {score:.2%}" if 0.0 <= score <= 1.0 else f"Confidence: score {score:.4g}"
    return "\n".join(
        [
            "🚨 FRAUD ALERT 🚨",
            f"Transaction ID: {alert['tx_id']}",
            f"User ID: {alert['customer_id']}",
            f"Amount: ${float(alert['amount']):,.2f}",
            confidence,
            f"Pattern: {alert.get('pattern') or 'model score'}",
        ]
    )


class AlertSink:
    """Where alerts go: ``emit(alerts)`` with a list of alert dicts; ``close()``."""

    def emit(self, alerts: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ConsoleAlerts(AlertSink):
    """The FRAUD ALERT block on a text stream (the CLI passes stdout)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def emit(self, alerts: list[dict[str, Any]]) -> None:
        if alerts:
            self.stream.write("".join(format_alert(a) + "\n\n" for a in alerts))
            self.stream.flush()


class NdjsonAlerts(AlertSink):
    """One JSON object per alert, appended to ``path`` (flushed per batch)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()

    def emit(self, alerts: list[dict[str, Any]]) -> None:
        if alerts:
            option = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY
            self._file.write(b"".join(orjson.dumps(a, option=option) for a in alerts))
            self._file.flush()

    def close(self) -> None:
        self._file.close()


class WebhookAlerts(AlertSink):
    """POSTs each batch of alerts as ``{"alerts": [...]}`` JSON to ``url`` from a background thread,
    with a ``timeout_s`` per request and up to ``retries`` retries (backoff doubling from
    ``backoff_s``) on connection errors and 5xx answers. At most ``max_pending`` batches wait;
    beyond that a batch is dropped and counted (the stream never blocks on a slow webhook)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        max_pending: int = 100,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--webhook must be an http:// or https:// URL, got {url!r}")
        self.url, self.timeout_s, self.retries, self.backoff_s = url, timeout_s, retries, backoff_s
        self.sent = self.failed = self.dropped = self.attempts = 0
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._run, name="fraudstream-webhook", daemon=True)
        self._thread.start()

    def emit(self, alerts: list[dict[str, Any]]) -> None:
        if not alerts:
            return
        try:
            self._queue.put_nowait(alerts)
        except queue.Full:
            self.dropped += len(alerts)
            log.warning(
                "webhook %s is behind: dropped %d alert(s) (%d so far)", self.url, len(alerts), self.dropped
            )

    def _run(self) -> None:
        while True:
            alerts = self._queue.get()
            if alerts is None:
                return
            self._post(alerts)

    def _post(self, alerts: list[dict[str, Any]]) -> None:
        body = orjson.dumps({"alerts": alerts}, option=orjson.OPT_SERIALIZE_NUMPY)
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            self.attempts += 1
            request = urllib.request.Request(
                self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                    answer.read()
                self.sent += len(alerts)
                return
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    log.error("webhook %s refused %d alert(s): HTTP %d", self.url, len(alerts), error.code)
                    break
                problem = f"HTTP {error.code}"
            except (urllib.error.URLError, OSError) as error:
                problem = str(getattr(error, "reason", error))
            if attempt < self.retries:
                log.warning(
                    "webhook %s: %s; retry %d of %d in %.2f s",
                    self.url,
                    problem,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                time.sleep(delay)
                delay *= 2
            else:
                log.error(
                    "webhook %s: %s; giving up on %d alert(s) after %d attempts",
                    self.url,
                    problem,
                    len(alerts),
                    attempt + 1,
                )
        self.failed += len(alerts)

    def close(self) -> None:
        """Send what is queued (each request bounded by its timeout and retries), then stop."""
        self._queue.put(None)
        self._thread.join(timeout=(self.retries + 1) * (self.timeout_s + 1) * (self._queue.qsize() + 1) + 5)
