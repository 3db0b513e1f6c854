"""DataStreamClient against a real loopback server: the hook, the README pattern, reconnect, stop."""

from __future__ import annotations

import io
import threading
import time

import pytest

from fraudstream.errors import TransportError
from fraudstream.stream.client import DataStreamClient
from fraudstream.stream.connection import Reconnect
from fraudstream.stream.protocol import label_message
from fraudstream.stream.testing import LineServer


class Recorder(DataStreamClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[dict] = []
        self.labels_seen: list[dict] = []
        self.welcomes = 0

    def process_welcome(self, message):
        self.welcomes += 1

    def process_transaction(self, transaction):
        self.seen.append(transaction)

    def process_label(self, label):
        self.labels_seen.append(label)


def run_in_thread(client: DataStreamClient) -> threading.Thread:
    thread = threading.Thread(target=client.connect_and_stream, daemon=True)
    thread.start()
    return thread


def wait_until(condition, limit_s: float = 10.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached within the bound")
        time.sleep(0.01)


def test_process_transaction_called_once_per_transaction_in_order(tx_lines):
    with LineServer(tx_lines(25)) as server:
        client = Recorder("127.0.0.1", server.port, "T", reconnect=Reconnect(attempts=0),
                          output=io.StringIO())
        client.connect_and_stream()
    assert [tx["transactionID"] for tx in client.seen] == list(range(1, 26))
    assert all("type" not in tx for tx in client.seen)
    assert client.welcomes == 1 and client.welcome["type"] == "connection"
    assert client.running is False


def test_default_output_is_the_seed_client_output(tx_lines):
    out = io.StringIO()
    with LineServer(tx_lines(2)) as server:
        client = DataStreamClient("127.0.0.1", server.port, "CompatTest", reconnect=Reconnect(attempts=0),
                                  output=out)
        client.connect_and_stream()
    text = out.getvalue()
    assert text.startswith(f"Connecting to 127.0.0.1:{server.port}...\nConnected as CompatTest\n"
                           "Receiving data stream. Press Ctrl+C to stop\n\n"
                           "[CompatTest] Connected to fraud detection training stream\n\n")
    assert text.count("-" * 80 + "\n") == 2
    assert "CompatTest - New Transaction:\nTransaction #1 | User: 1 | Amount: $10.00 | Item: B1001 | " \
           "Time: 2024-01-01T09:00:00\n" in text
    assert "\n📈 Last 2 Transactions:\n  Mean: $10.75\n" in text
    assert ("\nCompatTest disconnected.\n\n🏁 FINAL STATISTICS:\n\n📊 STATISTICS:\n"
            "Total Transactions: 2\n") in text
    assert client.stats.get_statistics()["total_amount"] == 21.5


def test_missing_field_is_reported_and_the_stream_goes_on(tx_lines, capsys):
    lines = [b'{"transactionID": 1, "userID": 2}', b"not json", *tx_lines(1)]
    out = io.StringIO()
    with LineServer(lines) as server:
        client = DataStreamClient("127.0.0.1", server.port, "X", reconnect=Reconnect(attempts=0), output=out)
        client.connect_and_stream()
    assert "Missing required field in transaction: 'amount'" in capsys.readouterr().err
    assert client.transactions_received == 2 and client.stats.transaction_count == 1


def test_readme_fraud_detector_pattern_works(tx_lines):
    """The seed README's sample, with a stand-in for the Keras model (no TensorFlow)."""

    class ThresholdModel:
        def predict(self, features):
            return [[1.0 if features[0] > 30 else 0.0]]

    class FraudDetector(DataStreamClient):
        def __init__(self, model_path, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.model = ThresholdModel()
            self.model_path = model_path
            self.alerts: list[int] = []

        def extract_features(self, transaction):
            return [transaction["amount"]]

        def process_transaction(self, transaction):
            features = self.extract_features(transaction)
            fraud_prob = self.model.predict(features)[0][0]
            if fraud_prob > 0.5:
                print(f"🚨 FRAUD ALERT: Transaction {transaction['transactionID']}", file=self.output)
                print(f"   Confidence: {fraud_prob:.2%}", file=self.output)
                self.alerts.append(transaction["transactionID"])

    out = io.StringIO()
    with LineServer(tx_lines(20)) as server:
        detector = FraudDetector("model.h5", host="127.0.0.1", port=server.port, client_id="Det",
                                 reconnect=Reconnect(attempts=0), output=out)
        detector.connect_and_stream()
    # amounts 10 + 1.5 (id - 1) > 30  <=>  id >= 15
    assert detector.alerts == list(range(15, 21))
    assert "🚨 FRAUD ALERT: Transaction 15\n   Confidence: 100.00%" in out.getvalue()


def test_reconnects_after_the_server_restarts(tx_lines, free_port):
    server = LineServer(tx_lines(5), port=free_port, close_after=False).start()
    client = Recorder("127.0.0.1", free_port, "R", output=io.StringIO(), read_timeout_s=0.05,
                      reconnect=Reconnect(attempts=20, initial_s=0.05, max_s=0.2))
    thread = run_in_thread(client)
    try:
        wait_until(lambda: len(client.seen) == 5)
        server.stop()
        server.start()
        wait_until(lambda: len(client.seen) == 10)
    finally:
        client.running = False
        thread.join(10)
        server.stop()
    assert not thread.is_alive()
    assert client.welcomes == 2
    assert [tx["transactionID"] for tx in client.seen] == [1, 2, 3, 4, 5] * 2


def test_gives_up_after_the_reconnect_attempts(tx_lines, free_port):
    server = LineServer(tx_lines(1), port=free_port, close_after=False).start()
    client = Recorder("127.0.0.1", free_port, output=io.StringIO(), read_timeout_s=0.05,
                      reconnect=Reconnect(attempts=2, initial_s=0.01, max_s=0.02))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client.connect_and_stream()
        except TransportError as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(client.seen) == 1)
    finally:
        server.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert str(errors[0]).startswith(f"lost the connection to 127.0.0.1:{free_port} and could not reconnect "
                                     "after 2 attempts (no server at")


def test_running_false_stops_an_idle_client(tx_lines):
    with LineServer(tx_lines(3), close_after=False) as server:
        client = Recorder("127.0.0.1", server.port, output=io.StringIO(), read_timeout_s=0.05)
        thread = run_in_thread(client)
        wait_until(lambda: len(client.seen) == 3)
        assert thread.is_alive()  # the server keeps the connection open and silent
        client.running = False
        thread.join(5)
        assert not thread.is_alive()


def test_connection_refused_is_one_clear_line(free_port):
    client = DataStreamClient("127.0.0.1", free_port, output=io.StringIO())
    with pytest.raises(TransportError) as info:
        client.connect_and_stream()
    assert str(info.value) == (f"no server at 127.0.0.1:{free_port}: start one with `fraudstream serve` "
                               "or check --host/--port")
    assert client.running is False


def test_label_subscription_delivers_labels_and_plain_clients_never_see_them(tx_lines):
    lines = [*tx_lines(3), label_message(1, False, None, classroom=True),
             label_message(2, True, "sudden_spike", classroom=True)]
    with LineServer(lines, interval_s=0.05) as server:
        subscriber = Recorder("127.0.0.1", server.port, labels=True, reconnect=Reconnect(attempts=0),
                              output=io.StringIO())
        subscriber.connect_and_stream()
        plain = Recorder("127.0.0.1", server.port, reconnect=Reconnect(attempts=0), output=io.StringIO())
        plain.connect_and_stream()
    assert [tx["transactionID"] for tx in subscriber.seen] == [1, 2, 3]
    assert subscriber.labels_seen == [
        {"type": "label", "transactionID": 1, "isFraud": False},
        {"type": "label", "transactionID": 2, "isFraud": True, "fraudPattern": "sudden_spike"},
    ]
    assert [tx["transactionID"] for tx in plain.seen] == [1, 2, 3] and plain.labels_seen == []
    assert server.received == [b'{"type": "subscribe", "labels": true}\n']


def test_default_label_hook_prints_the_verdict(tx_lines):
    out = io.StringIO()
    lines = [label_message(7, True, "round_numbers", classroom=True)]
    with LineServer(lines, interval_s=0.1) as server:
        client = DataStreamClient("127.0.0.1", server.port, "L", labels=True, reconnect=Reconnect(attempts=0),
                                  output=out)
        client.connect_and_stream()
    assert "[L] Label: Transaction #7 was FRAUD (round_numbers)\n" in out.getvalue()
