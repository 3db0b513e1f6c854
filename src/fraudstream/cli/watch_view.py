"""The live terminal view of ``fraudstream watch`` and ``fraudstream demo`` (rich).

:class:`WatchState` takes messages as they arrive (classroom wire or canonical transactions,
label messages) and keeps what the view shows: the last transactions, seed 000's statistics
(:class:`~fraudstream.stream.statistics.StreamStatistics`), the rate over the last seconds, and
fraud seen (inline ``isFraud`` / ``is_fraud``, or delayed label messages). ``render()`` builds the
rich renderable: a table of the last transactions with fraud in red, the statistics block and a
status line.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fraudstream.stream.messages import message_kind
from fraudstream.stream.statistics import StreamStatistics

__all__ = ["WatchState", "wire_view"]

RATE_WINDOW_S = 5.0


def wire_view(tx: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the view shows, from a classroom or a canonical transaction.

    >>> wire_view({"tx_id": 3, "customer_id": "C9", "amount": 5.0, "ts": "2024-01-01T00:00:00Z"})["user"]
    'C9'
    """
    def first(*keys: str) -> Any:
        for key in keys:
            if key in tx:
                return tx[key]
        return None

    fraud = first("isFraud", "is_fraud")
    return {"id": first("transactionID", "tx_id"), "user": first("userID", "customer_id"),
            "amount": first("amount"), "item": first("itemID", "item_id", "category"),
            "merchant": first("merchantID", "merchant_id"), "time": str(first("timestamp", "ts") or ""),
            "fraud": None if fraud is None else bool(fraud),
            "pattern": first("fraudPattern", "fraud_pattern")}


def _clock(stamp: str) -> str:
    """``2026-11-22T08:55:16`` -> ``08:55:16`` (the table is narrow; the date rarely changes)."""
    return stamp[11:19] if len(stamp) >= 19 and stamp[10] in "T " else stamp


class WatchState:
    """What the live view knows; feed it with ``add(message)``."""

    def __init__(self, client_id: str, address: str, *, rows: int = 15,
                 title: str = "fraudstream watch") -> None:
        self.client_id = client_id
        self.address = address
        self.title = title
        self.rows: deque[dict[str, Any]] = deque(maxlen=rows)
        self.stats = StreamStatistics(window_size=10)
        self.arrivals: deque[float] = deque()
        self.frauds = 0
        self.labels = 0
        self.labelled_fraud = 0
        self.welcome: str | None = None
        self.status = "connecting"

    @property
    def count(self) -> int:
        return self.stats.transaction_count

    def add(self, message: Mapping[str, Any], now: float | None = None) -> None:
        kind = message_kind(message)
        if kind == "welcome":
            self.welcome = str(message.get("message", "Connected"))
            self.status = "connected"
        elif kind == "label":
            self._add_label(message)
        elif kind == "transaction":
            self._add_transaction(message, time.monotonic() if now is None else now)

    def _add_transaction(self, tx: Mapping[str, Any], now: float) -> None:
        view = wire_view(tx)
        if view["amount"] is None:
            return
        self.stats.update({"amount": float(view["amount"]), "userID": view["user"], "itemID": view["item"]})
        if view["fraud"]:
            self.frauds += 1
        self.rows.append(view)
        self.arrivals.append(now)

    def _add_label(self, label: Mapping[str, Any]) -> None:
        self.labels += 1
        tx_id = label.get("transactionID", label.get("tx_id"))
        is_fraud = bool(label.get("isFraud", label.get("is_fraud")))
        pattern = label.get("fraudPattern", label.get("fraud_pattern"))
        if is_fraud:
            self.labelled_fraud += 1
        for row in self.rows:
            if row["id"] == tx_id:
                row["fraud"], row["pattern"] = is_fraud, pattern

    def rate(self, now: float | None = None) -> float:
        """Transactions per second over the last few seconds."""
        now = time.monotonic() if now is None else now
        while self.arrivals and now - self.arrivals[0] > RATE_WINDOW_S:
            self.arrivals.popleft()
        if len(self.arrivals) < 2:
            return 0.0
        return len(self.arrivals) / max(now - self.arrivals[0], 1.0)

    def render(self) -> RenderableType:
        table = Table(title=f"Last {len(self.rows)} of {self.count:,} transactions", expand=True,
                      title_justify="left")
        for name, justify in (("ID", "right"), ("User", "right"), ("Amount", "right"), ("Item", "left"),
                              ("Merchant", "left"), ("Time", "left")):
            table.add_column(name, justify=justify, no_wrap=True, min_width=len(name))  # type: ignore[arg-type]
        table.add_column("Fraud", overflow="fold", ratio=1)
        for row in self.rows:
            fraud = row["fraud"]
            flag = "" if fraud is None else (f"FRAUD {row['pattern'] or ''}".strip() if fraud else "-")
            style = "bold white on red" if fraud else None
            table.add_row(str(row["id"]), str(row["user"]), f"${row['amount']:,.2f}", str(row["item"] or ""),
                          str(row["merchant"] or ""), _clock(row["time"]), flag, style=style)
        return Group(table, self._statistics_panel(), self._status_line())

    def _statistics_panel(self) -> Panel:
        stats = self.stats.get_statistics()
        if not stats:
            return Panel("No statistics available yet", title="Statistics")
        window = stats["window_statistics"]
        grid = Table.grid(padding=(0, 3))
        for _ in range(4):
            grid.add_column()
        grid.add_row("Total Transactions", f"{stats['total_transactions']:,}",
                     f"Last {window['size']} Mean", f"${window['mean']:,.2f}")
        grid.add_row("Total Amount", f"${stats['total_amount']:,.2f}", "Median", f"${window['median']:,.2f}")
        grid.add_row("Overall Average", f"${stats['avg_amount_overall']:,.2f}", "Min / Max",
                     f"${window['min']:,.2f} / ${window['max']:,.2f}")
        grid.add_row("Unique Users", str(stats["unique_users"]), "Std Dev", f"${window['std_dev']:,.2f}")
        grid.add_row("Unique Items", str(stats["unique_items"]),
                     "Active Users", str(stats["active_users_in_window"]))
        return Panel(grid, title="Statistics")

    def _status_line(self) -> Text:
        text = Text()
        text.append(f"{self.title} ", style="bold")
        text.append(f"{self.client_id} @ {self.address}  {self.status}  ")
        text.append(f"{self.rate():.1f} tx/s  ", style="cyan")
        text.append(f"fraud {self.frauds}", style="red" if self.frauds else None)
        if self.labels:
            text.append(f"  labels {self.labels} ({self.labelled_fraud} fraud)")
        text.append("  (Ctrl-C to stop; simulated data)", style="dim")
        return text
