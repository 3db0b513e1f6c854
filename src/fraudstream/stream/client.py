"""``DataStreamClient``: seed 000's terminal client class, with the hook its README promised.

The class keeps the original's constructor (``host='localhost', port=5555, client_id=None``),
attributes (``host``, ``port``, ``client_id`` — default ``Client-HHMMSS`` —, ``stats``, ``running``)
and methods (``print_separator``, ``format_transaction``, ``format_statistics``,
``connect_and_stream``), and adds what the seed README's student example needs:
``connect_and_stream()`` calls ``self.process_transaction(tx)`` for **every** transaction, in
order (never for the welcome). The default ``process_transaction`` prints the transaction and the
statistics like the original ``stream_client.py``; a subclass overrides it::

    class FraudDetector(DataStreamClient):
        def process_transaction(self, transaction):
            if transaction["amount"] > 1000:
                print(f"🚨 FRAUD ALERT: Transaction {transaction['transactionID']}")

Also new: ``labels=True`` subscribes to delayed labels, delivered to ``process_label(label)``;
a lost connection is re-established (``reconnect``, logged); ``running = False`` (or ``stop()``)
ends ``connect_and_stream`` within ``read_timeout_s``; "connection refused" raises
:class:`~fraudstream.errors.TransportError` with one clear line.

This class is the seed's *console* client: its default hooks print to ``self.output`` (stdout
unless given) on purpose. Use :func:`fraudstream.stream` for a silent iterator.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Any, TextIO

from fraudstream.stream.connection import DEFAULT_HOST, DEFAULT_PORT, Reconnect
from fraudstream.stream.messages import message_kind
from fraudstream.stream.reader import MessageReader, stream
from fraudstream.stream.reader_async import stream_async
from fraudstream.stream.statistics import StreamStatistics

__all__ = ["DataStreamClient", "StreamStatistics", "format_statistics", "format_transaction",
           "stream", "stream_async"]

log = logging.getLogger(__name__)

SEPARATOR = "-" * 80


def format_transaction(transaction: dict[str, Any]) -> str:
    """The seed's one-line transaction summary.

    >>> format_transaction({"transactionID": 2, "userID": 2, "amount": 571.22, "itemID": "F8281",
    ...                     "timestamp": "2026-11-22T00:12:44"})
    'Transaction #2 | User: 2 | Amount: $571.22 | Item: F8281 | Time: 2026-11-22T00:12:44'
    """
    return (f"Transaction #{transaction['transactionID']} | User: {transaction['userID']} | "
            f"Amount: ${transaction['amount']:.2f} | Item: {transaction['itemID']} | "
            f"Time: {transaction['timestamp']}")


def format_statistics(stats: dict[str, Any] | None) -> str:
    """The seed's statistics block (``📊 STATISTICS:`` and ``📈 Last N Transactions:``)."""
    if not stats:
        return "No statistics available yet"
    window = stats["window_statistics"]
    return "\n".join([
        "\n📊 STATISTICS:",
        f"Total Transactions: {stats['total_transactions']}",
        f"Total Amount: ${stats['total_amount']:.2f}",
        f"Overall Average: ${stats['avg_amount_overall']:.2f}",
        f"Unique Users: {stats['unique_users']}",
        f"Unique Items: {stats['unique_items']}",
        f"\n📈 Last {window['size']} Transactions:",
        f"  Mean: ${window['mean']:.2f}",
        f"  Median: ${window['median']:.2f}",
        f"  Min: ${window['min']:.2f}",
        f"  Max: ${window['max']:.2f}",
        f"  Std Dev: ${window['std_dev']:.2f}",
        f"  Active Users: {stats['active_users_in_window']}",
    ])


class DataStreamClient:
    """Connects to a stream server and hands every transaction to ``process_transaction``."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, client_id: str | None = None,
                 *, labels: bool = False, reconnect: Reconnect | None = None, read_timeout_s: float = 0.5,
                 output: TextIO | None = None, resume: bool = False) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id or f"Client-{datetime.now():%H%M%S}"
        self.stats = StreamStatistics(window_size=10)
        self.running = False
        self.labels = labels
        self.reconnect = reconnect if reconnect is not None else Reconnect()
        self.read_timeout_s = read_timeout_s
        self.output = output
        self.resume = resume
        """Ask ``fraudstream serve`` for offsets, so that a lost connection resumes right after
        the last transaction received (nothing missed or doubled within the server's retention)."""
        self.welcome: dict[str, Any] | None = None
        self.transactions_received = 0
        self.labels_received = 0

    # -- the seed's formatting -------------------------------------------------------------
    def _print(self, *parts: Any, error: bool = False) -> None:
        print(*parts, file=sys.stderr if error else (self.output or sys.stdout))

    def print_separator(self) -> None:
        self._print(SEPARATOR)

    def format_transaction(self, transaction: dict[str, Any]) -> str:
        return format_transaction(transaction)

    def format_statistics(self, stats: dict[str, Any] | None) -> str:
        return format_statistics(stats)

    # -- hooks ------------------------------------------------------------------------------
    def process_welcome(self, message: dict[str, Any]) -> None:
        """Called with the server's welcome message (on every (re)connection)."""
        self._print(f"[{self.client_id}] {message.get('message', 'Connected')}")
        self._print()

    def process_transaction(self, transaction: dict[str, Any]) -> None:
        """Called once per transaction, in order. Default: the seed client's print + statistics."""
        self.print_separator()
        self._print(f"[{datetime.now():%Y-%m-%d %H:%M:%S}] {self.client_id} - New Transaction:")
        self._print(self.format_transaction(transaction))
        self.stats.update(transaction)
        self._print(self.format_statistics(self.stats.get_statistics()))
        self._print()

    def process_label(self, label: dict[str, Any]) -> None:
        """Called with each delayed label message (only with ``labels=True``)."""
        tx_id = label.get("transactionID", label.get("tx_id"))
        is_fraud = label.get("isFraud", label.get("is_fraud"))
        pattern = label.get("fraudPattern", label.get("fraud_pattern"))
        verdict = f"FRAUD ({pattern})" if is_fraud else "legitimate"
        self._print(f"[{self.client_id}] Label: Transaction #{tx_id} was {verdict}")

    # -- the loop ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Same as ``self.running = False``: ``connect_and_stream`` returns promptly."""
        self.running = False

    def connect_and_stream(self) -> None:
        """Connect, then read until the server goes away for good, ``running`` becomes False, or
        Ctrl+C. Raises :class:`~fraudstream.errors.TransportError` if no server answers."""
        reader = MessageReader(self.host, self.port, labels=self.labels, reconnect=self.reconnect,
                               read_timeout_s=self.read_timeout_s, should_stop=lambda: not self.running,
                               resume=self.resume)
        self._print(f"Connecting to {self.host}:{self.port}...")
        self.running = True
        messages = reader.messages()
        try:
            first = True
            for message in messages:
                if not self.running:  # set by a hook: not one more transaction after that
                    break
                if first:
                    self._print(f"Connected as {self.client_id}")
                    self._print("Receiving data stream. Press Ctrl+C to stop\n")
                    first = False
                self._dispatch(message)
        except KeyboardInterrupt:
            self._print("\n\nDisconnecting from stream...")
        finally:
            messages.close()
            was_connected = reader.connections > 0
            self.running = False
            if was_connected:
                self._print(f"\n{self.client_id} disconnected.")
                final = self.stats.get_statistics()
                if final:
                    self._print("\n🏁 FINAL STATISTICS:")
                    self._print(self.format_statistics(final))

    def _dispatch(self, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        kind = message_kind(message)
        if kind == "welcome":
            self.welcome = message
            self.process_welcome(message)
        elif kind == "label":
            if self.labels:
                self.labels_received += 1
                self.process_label(message)
        elif kind == "transaction":
            self.transactions_received += 1
            try:
                self.process_transaction(message)
            except KeyError as error:
                self._print(f"Missing required field in transaction: {error}", error=True)
