"""``fraudstream watch --visual``: seed 000's four live panels, in a window or a browser page.

The panels of ``stream_client_visual.py`` (§000.9): a table of the last 20 transactions (newest
row green), the amount time series with its mean line, the amount histogram (15 bins) and a
statistics panel. Two fixes against the original: the table header is readable, and *Total
Transactions* counts every transaction received (the original showed the buffer length); the
amount statistics are over the last ``max_records`` transactions, as in the original.

- a matplotlib window (``FuncAnimation``, every 500 ms) when a display exists;
- ``--browser`` or no display: a small self-contained page on localhost (no CDN, plain canvas),
  polling ``/data.json`` every 500 ms;
- ``render_png`` draws the same four panels headless (Agg), e.g. for tests and reports.
"""

from __future__ import annotations

import http.server
import json
import os
import statistics
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from fraudstream.cli.visual_page import PAGE_HTML
from fraudstream.cli.watch_view import wire_view
from fraudstream.errors import ConfigError
from fraudstream.stream.messages import message_kind
from fraudstream.stream.reader import MessageReader

__all__ = ["VisualBuffers", "draw_panels", "has_display", "render_png", "run_visual", "serve_page",
           "statistics_lines"]

TABLE_ROWS = 20
HISTOGRAM_BINS = 15
COLUMNS = ["Transaction ID", "User ID", "Amount", "Item ID", "Timestamp"]


class VisualBuffers:
    """The visual client's buffers: the last ``max_records`` transactions and amounts, and
    cumulative per-user and per-item counts. Thread-safe."""

    def __init__(self, max_records: int = 100) -> None:
        if max_records < 2:
            raise ConfigError(f"max_records must be >= 2, got {max_records}")
        self.max_records = max_records
        self.rows: deque[list[str]] = deque(maxlen=max_records)
        self.fraud: deque[bool] = deque(maxlen=max_records)
        self.amounts: deque[float] = deque(maxlen=max_records)
        self.user_counts: Counter[Any] = Counter()
        self.item_counts: Counter[Any] = Counter()
        self.count = 0
        self.total_amount = 0.0
        self.lock = threading.Lock()

    def add(self, message: Mapping[str, Any]) -> None:
        if message_kind(message) != "transaction":
            return
        view = wire_view(message)
        if view["amount"] is None:
            return
        amount = float(view["amount"])
        time_text = view["time"].split("T", 1)[1] if "T" in view["time"] else view["time"]
        with self.lock:
            self.rows.append([str(view["id"]), str(view["user"]), f"${amount:.2f}", str(view["item"]),
                              time_text.rstrip("Z")])
            self.fraud.append(bool(view["fraud"]))
            self.amounts.append(amount)
            self.user_counts[view["user"]] += 1
            self.item_counts[view["item"]] += 1
            self.count += 1
            self.total_amount += amount

    def snapshot(self) -> dict[str, Any]:
        """Everything the panels draw, as plain JSON-able values."""
        with self.lock:
            amounts = list(self.amounts)
            rows = list(self.rows)[-TABLE_ROWS:]
            fraud = list(self.fraud)[-TABLE_ROWS:]
            top_user = self.user_counts.most_common(1)[0][0] if self.user_counts else "N/A"
            top_item = self.item_counts.most_common(1)[0][0] if self.item_counts else "N/A"
            snap = {"count": self.count, "total_amount": round(self.total_amount, 2), "rows": rows,
                    "fraud": fraud, "amounts": amounts, "unique_users": len(self.user_counts),
                    "unique_items": len(self.item_counts), "top_user": str(top_user),
                    "top_item": str(top_item)}
        if amounts:
            snap.update(mean=statistics.fmean(amounts), median=statistics.median(amounts),
                        std=statistics.pstdev(amounts), min=min(amounts), max=max(amounts))
        return snap


def statistics_lines(snap: Mapping[str, Any]) -> list[str]:
    """The statistics panel's lines (the original's, population std dev)."""
    if not snap["amounts"]:
        return ["STATISTICS", "", "Waiting for transactions..."]
    return ["STATISTICS", "",
            f"Total Transactions: {snap['count']}", f"Total Amount: ${snap['total_amount']:.2f}", "",
            f"Mean Amount: ${snap['mean']:.2f}", f"Median Amount: ${snap['median']:.2f}",
            f"Std Dev: ${snap['std']:.2f}", f"Min Amount: ${snap['min']:.2f}",
            f"Max Amount: ${snap['max']:.2f}",
            "", f"Unique Users: {snap['unique_users']}", f"Unique Items: {snap['unique_items']}", "",
            f"Top User: {snap['top_user']}", f"Top Item: {snap['top_item']}"]


def draw_panels(fig: Any, snap: Mapping[str, Any], client_id: str) -> dict[str, Any]:
    """Draw the four panels on a (cleared) matplotlib figure; returns the axes by panel name."""
    from matplotlib.gridspec import GridSpec
    from matplotlib.patches import Rectangle

    fig.clear()
    fig.set_facecolor("black")
    fig.suptitle(f"Data Stream Monitor - {client_id}", fontsize=16, fontweight="bold", color="white")
    grid = GridSpec(3, 3, figure=fig, hspace=0.3, wspace=0.3)
    axes = {"table": fig.add_subplot(grid[0:2, :]), "timeseries": fig.add_subplot(grid[2, 0]),
            "histogram": fig.add_subplot(grid[2, 1]), "stats": fig.add_subplot(grid[2, 2])}
    for ax in axes.values():
        ax.set_facecolor("black")
        ax.tick_params(colors="white")
        for spine in ax.spines.values():
            spine.set_color("#888888")
    table_ax = axes["table"]
    table_ax.axis("off")
    rows, fraud = snap["rows"], snap["fraud"]
    table_ax.set_title(f"Transaction Stream (Last {len(rows)} of {snap['count']} transactions)",
                       fontweight="bold", pad=10, color="white")
    if rows:
        colours = [["#00ff00" if i == len(rows) - 1 else ("#8b0000" if fraud[i] else "#1a1a1a")] * 5
                   for i in range(len(rows))]
        table = table_ax.table(cellText=rows, colLabels=COLUMNS, cellLoc="center", loc="center",
                               colWidths=[0.15, 0.15, 0.15, 0.15, 0.25], cellColours=colours,
                               colColours=["#333333"] * 5)
        table.auto_set_font_size(False)
        table.set_fontsize(9)
        for (row, _), cell in table.get_celld().items():
            is_newest = row == len(rows)
            cell.get_text().set_color("black" if is_newest else "white")
        axes["table"].fraudstream_table = table
    amounts = snap["amounts"]
    ts_ax = axes["timeseries"]
    ts_ax.set_title("Amount Time Series", fontweight="bold", color="white")
    ts_ax.set_xlabel("Transaction Index", color="white")
    ts_ax.set_ylabel("Amount ($)", color="white")
    if amounts:
        index = range(len(amounts))
        ts_ax.plot(index, amounts, color="cyan", linewidth=2, marker="o", markersize=3)
        ts_ax.fill_between(index, amounts, alpha=0.3, color="cyan")
        ts_ax.axhline(y=snap["mean"], color="red", linestyle="--", alpha=0.7,
                      label=f"Mean: ${snap['mean']:.2f}")
        ts_ax.legend(loc="upper right")
        ts_ax.grid(True, alpha=0.3)
    hist_ax = axes["histogram"]
    hist_ax.set_title("Amount Distribution", fontweight="bold", color="white")
    hist_ax.set_xlabel("Amount ($)", color="white")
    hist_ax.set_ylabel("Frequency", color="white")
    if amounts:
        from matplotlib import colormaps

        _, _, patches = hist_ax.hist(amounts, bins=HISTOGRAM_BINS, alpha=0.7, edgecolor="white")
        plasma = colormaps["plasma"]
        for i, patch in enumerate(patches):
            patch.set_facecolor(plasma(i / len(patches)))
        hist_ax.grid(True, alpha=0.3, axis="y")
    stats_ax = axes["stats"]
    stats_ax.axis("off")
    y = 0.95
    for line in statistics_lines(snap):
        if line == "STATISTICS":
            stats_ax.text(0.5, y, line, fontsize=12, fontweight="bold", ha="center", color="white",
                          transform=stats_ax.transAxes)
        elif not line:
            y -= 0.03
        else:
            stats_ax.text(0.1, y, line, fontsize=10, ha="left", color="white", transform=stats_ax.transAxes)
        y -= 0.055
    stats_ax.add_patch(Rectangle((0.02, 0.02), 0.96, 0.96, linewidth=2, edgecolor="cyan", facecolor="none",
                                 transform=stats_ax.transAxes))
    return axes


def render_png(buffers: VisualBuffers, path: str | Path, client_id: str) -> dict[str, Any]:
    """Draw the four panels headless (Agg) into a PNG; returns the axes."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("the visual client needs matplotlib: pip install 'fraudstream[visual]'") from None
    fig = Figure(figsize=(16, 10))
    FigureCanvasAgg(fig)
    axes = draw_panels(fig, buffers.snapshot(), client_id)
    fig.savefig(path, facecolor="black")
    return axes


def has_display() -> bool:
    """Whether a GUI window can open (always on Windows/macOS; X11 or Wayland on Linux)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# -- the browser page -----------------------------------------------------------------------


class _PageHandler(http.server.BaseHTTPRequestHandler):
    buffers: VisualBuffers
    client_id: str

    def do_GET(self) -> None:
        if self.path.startswith("/data.json"):
            body = json.dumps({"client_id": self.client_id, **self.buffers.snapshot()}).encode()
            kind = "application/json"
        elif self.path in ("/", "/index.html"):
            body = PAGE_HTML.encode()
            kind = "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_page(buffers: VisualBuffers, client_id: str, port: int = 0) -> http.server.ThreadingHTTPServer:
    """Serve the live page on 127.0.0.1 (``port`` 0: a free one) in a daemon thread."""
    handler = type("PageHandler", (_PageHandler,), {"buffers": buffers, "client_id": client_id})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="visual-page", daemon=True).start()
    return server


# -- running ------------------------------------------------------------------------------
def _receive(messages: Iterator[dict[str, Any] | None], buffers: VisualBuffers,
             done: threading.Event) -> None:
    try:
        for message in messages:
            if message is not None:
                buffers.add(message)
    finally:
        done.set()


def run_visual(host: str, port: int, client_id: str, *, max_records: int = 100, browser: bool = False,
               duration_s: float | None = None, view_port: int = 0,
               png: str | Path | None = None) -> VisualBuffers:
    """Connect, then show the panels live until the window closes, Ctrl-C, ``duration_s`` or the
    stream ends; ``png``: also write the final panels to that file."""
    buffers = VisualBuffers(max_records)
    reader = MessageReader(host, port, read_timeout_s=0.2)
    messages = reader.messages()
    first = next(messages, None)  # TransportError now if there is no server
    if first is not None:
        buffers.add(first)
    done = threading.Event()
    threading.Thread(target=_receive, args=(messages, buffers, done), name="receiver", daemon=True).start()
    try:
        if browser or not has_display():
            _run_page(buffers, client_id, done, duration_s, view_port, explicit=browser)
        else:
            _run_window(buffers, client_id, done, duration_s)
    except KeyboardInterrupt:
        pass
    finally:
        reader.stop()
        done.wait(2)
        if png is not None:
            render_png(buffers, png, client_id)
        click.echo(f"\n{client_id} disconnected.")
    return buffers


def _run_page(buffers: VisualBuffers, client_id: str, done: threading.Event, duration_s: float | None,
              view_port: int, *, explicit: bool) -> None:
    server = serve_page(buffers, client_id, view_port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    if not explicit:
        click.echo("No display found: showing the panels in a browser page instead.")
    click.echo(f"Open {url} in a browser (live, updates every 0.5 s). Ctrl-C to stop.")
    try:
        done.wait(duration_s)
    finally:
        server.shutdown()
        server.server_close()


def _run_window(buffers: VisualBuffers, client_id: str, done: threading.Event,
                duration_s: float | None) -> None:
    try:
        import matplotlib.pyplot as plt
        from matplotlib.animation import FuncAnimation
    except ImportError:
        raise ConfigError("the visual window needs matplotlib: pip install 'fraudstream[visual]' "
                          "(or use --browser)") from None
    plt.style.use("dark_background")
    fig = plt.figure(figsize=(16, 10))

    def update(_frame: int) -> None:
        draw_panels(fig, buffers.snapshot(), client_id)
        if done.is_set() or (duration_s is not None and time.monotonic() - started >= duration_s):
            plt.close(fig)

    started = time.monotonic()
    animation = FuncAnimation(fig, update, interval=500, cache_frame_data=False)
    plt.show()
    del animation
