"""What the demo writes to the terminal: rate-limited FRAUD ALERT blocks and a compact status line.

At 100 transactions a second a detector raises an alert or two every second: printing every
block would scroll the terminal faster than anyone reads. :class:`ThrottledAlerts` prints at
most one block per ``every_s`` seconds and says how many it left out (all of them are in the
store and on the dashboard's Alerts page). Writes from several threads (the store writer's
alerts, the status line) go through one :class:`Printer`, a whole block at a time.

>>> import io
>>> out = io.StringIO()
>>> alerts = ThrottledAlerts(Printer(out), every_s=60)
>>> alert = {"tx_id": 41, "customer_id": 14, "amount": 999.0, "score": 0.972, "pattern": "amount"}
>>> alerts.emit([alert, {**alert, "tx_id": 42}]); alerts.emit([{**alert, "tx_id": 43}])
>>> print(out.getvalue().strip())
🚨 FRAUD ALERT 🚨
Transaction ID: 41
User ID: 14
Amount: $999.00
Confidence: 97.20%
Pattern: amount
>>> alerts.shown, alerts.held_back
(1, 2)
>>> print(status_line(Status(elapsed_s=12, transactions=1180, tx_per_s=98.4, alerts=14,
...                          labelled=900, frauds=12, ap=0.8312)))
[  12 s]  1,180 tx   98 tx/s │ 14 alerts │ live AP 0.831 on 900 labelled (12 fraud) │ simulated data
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from fraudstream.service.alerts import AlertSink, format_alert

__all__ = ["Printer", "Status", "ThrottledAlerts", "status_line"]


class Printer:
    """Writes whole blocks to one text stream from any thread, flushed at once (a pipe too)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def line(self, text: str = "") -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()


class ThrottledAlerts(AlertSink):
    """The course's FRAUD ALERT block, at most one per ``every_s`` seconds (see the module docstring)."""

    def __init__(self, printer: Printer, *, every_s: float = 3.0) -> None:
        self.printer = printer
        self.every_s = every_s
        self.shown = 0
        self.held_back = 0
        self._held_since_last = 0
        self._last = -math.inf

    def emit(self, alerts: list[dict[str, Any]]) -> None:
        if not alerts:
            return
        now = time.monotonic()
        if now - self._last < self.every_s:
            self.held_back += len(alerts)
            self._held_since_last += len(alerts)
            return
        self._last = now
        first, rest = alerts[0], len(alerts) - 1
        note = (
            f"({self._held_since_last} more alert(s) since the last block: all are on the dashboard's "
            "Alerts page)\n"
            if self._held_since_last
            else ""
        )
        self.printer.line(note + format_alert(first) + "\n")
        self.shown += 1
        self.held_back += rest
        self._held_since_last = rest


@dataclass(frozen=True)
class Status:
    """The numbers of one status line."""

    elapsed_s: float
    transactions: int
    tx_per_s: float
    alerts: int
    labelled: int
    frauds: int
    ap: float


def status_line(status: Status) -> str:
    """``[  12 s]  1,180 tx   98 tx/s │ 14 alerts │ live AP ...`` (AP of the scores of every
    transaction labelled so far, each scored before its label arrived)."""
    if status.labelled and 0 < status.frauds < status.labelled and math.isfinite(status.ap):
        quality = f"live AP {status.ap:.3f} on {status.labelled:,} labelled ({status.frauds:,} fraud)"
    elif status.labelled:
        quality = f"live AP - ({status.labelled:,} labelled, {status.frauds:,} fraud so far)"
    else:
        quality = "live AP - (waiting for the first labels)"
    return (
        f"[{status.elapsed_s:4.0f} s] {status.transactions:6,} tx {status.tx_per_s:4.0f} tx/s │ "
        f"{status.alerts:,} alerts │ {quality} │ simulated data"
    )
