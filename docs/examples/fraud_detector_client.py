"""Student template: a real-time fraud detector on the classroom stream.

Subclass ``DataStreamClient`` and put your model in ``process_transaction``, which is called
once for every transaction, in order. This template scores each transaction with simple
per-user rules (amount far above the user's usual amounts, unusual hour, whole-dollar amounts)
and, when the stream carries labels (``fraudstream serve`` default, or ``--labels
delayed:SECONDS`` with ``--labels`` here), counts how many frauds it caught. Replace ``score``
with your neural network.

Run it (the server on your machine or the instructor's):

    fraudstream serve                                             # terminal 1
    python docs/examples/fraud_detector_client.py --id YourName   # terminal 2

The stream is simulated data (fraudstream's classroom world).
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

from fraudstream.stream.client import DataStreamClient


class UserHistory:
    """Running mean and standard deviation of one user's amounts (Welford)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0

    def std(self) -> float:
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else 0.0

    def add(self, amount: float) -> None:
        self.count += 1
        delta = amount - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (amount - self.mean)


class FraudDetector(DataStreamClient):
    """Flags suspicious transactions; your model goes in ``score``."""

    def __init__(self, *args, threshold: float = 0.5, max_transactions: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.threshold = threshold
        self.max_transactions = max_transactions
        self.history: dict[int, UserHistory] = defaultdict(UserHistory)
        self.flagged: dict[int, float] = {}
        self.seen = 0
        self.true_positives = 0
        self.false_positives = 0
        self.missed = 0

    def extract_features(self, transaction: dict) -> dict[str, float]:
        """Features from the user's history *before* this transaction."""
        past = self.history[transaction["userID"]]
        amount = float(transaction["amount"])
        std = past.std() or max(past.mean * 0.25, 1.0)
        hour = int(transaction.get("hourOfDay", int(transaction["timestamp"][11:13])))
        return {
            "amount": amount,
            "amount_zscore": (amount - past.mean) / std if past.count >= 3 else 0.0,
            "is_night": float(hour >= 23 or hour <= 4),
            "is_round": float(amount >= 100 and amount % 100 == 0),
            "history": float(past.count),
        }

    def score(self, features: dict[str, float]) -> float:
        """Fraud probability in [0, 1]. Replace me with your model's prediction."""
        z = max(0.0, features["amount_zscore"])
        logit = -4.0 + 0.9 * z + 1.5 * features["is_night"] + 2.5 * features["is_round"]
        return 1.0 / (1.0 + math.exp(-logit))

    def process_transaction(self, transaction: dict) -> None:
        features = self.extract_features(transaction)
        fraud_prob = self.score(features)
        self.history[transaction["userID"]].add(features["amount"])
        self.seen += 1
        tx_id = transaction["transactionID"]
        if fraud_prob > self.threshold:
            self.flagged[tx_id] = fraud_prob
            print(f"🚨 FRAUD ALERT: Transaction {tx_id} | User {transaction['userID']} | "
                  f"${features['amount']:.2f} | Confidence: {fraud_prob:.2%}")
        if "isFraud" in transaction:  # labels inline: score ourselves right away
            self.record(tx_id, bool(transaction["isFraud"]))
        if self.max_transactions is not None and self.seen >= self.max_transactions:
            self.running = False

    def process_label(self, label: dict) -> None:
        """Delayed labels (``--labels`` with a server run as ``--labels delayed:SECONDS``)."""
        self.record(label["transactionID"], bool(label["isFraud"]))

    def record(self, tx_id: int, is_fraud: bool) -> None:
        flagged = tx_id in self.flagged
        self.true_positives += flagged and is_fraud
        self.false_positives += flagged and not is_fraud
        self.missed += is_fraud and not flagged

    def report(self) -> str:
        caught = self.true_positives
        precision = caught / (caught + self.false_positives) if caught + self.false_positives else 0.0
        recall = caught / (caught + self.missed) if caught + self.missed else 0.0
        return (f"{self.client_id}: {self.seen} transactions, {len(self.flagged)} flagged, "
                f"{caught} frauds caught, {self.missed} missed, precision {precision:.2f}, recall {recall:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Student fraud detector on the classroom stream")
    parser.add_argument("--host", default="localhost", help="Server host (default: localhost)")
    parser.add_argument("--port", type=int, default=5555, help="Server port (default: 5555)")
    parser.add_argument("--id", dest="client_id", help="Your name (default: auto-generated)")
    parser.add_argument("--labels", action="store_true", help="Subscribe to delayed labels")
    parser.add_argument("--threshold", type=float, default=0.5, help="Alert above this probability")
    parser.add_argument("--max-transactions", type=int, help="Stop after this many transactions")
    args = parser.parse_args()
    detector = FraudDetector(args.host, args.port, args.client_id, labels=args.labels,
                             threshold=args.threshold, max_transactions=args.max_transactions)
    print(f"{detector.client_id}: detecting fraud on {args.host}:{args.port} (Ctrl-C to stop)")
    try:
        detector.connect_and_stream()
    except OSError as error:  # fraudstream's TransportError: no server, wrong address...
        raise SystemExit(f"Error: {error}") from None
    print(detector.report())


if __name__ == "__main__":
    main()
