"""StreamStatistics and the seed's text layout (§000.7)."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from fraudstream.stream.client import DataStreamClient, format_statistics, format_transaction
from fraudstream.stream.statistics import StreamStatistics


def tx(i: int, user: int, amount: float, item: str) -> dict:
    return {"transactionID": i, "userID": user, "amount": amount, "itemID": item,
            "timestamp": "2026-11-22T00:12:44"}


def test_empty_statistics_is_none():
    assert StreamStatistics().get_statistics() is None
    assert format_statistics(None) == "No statistics available yet"


def test_hand_computed_values():
    stats = StreamStatistics(window_size=3)
    for i, (user, amount, item) in enumerate([(1, 10.0, "B1"), (2, 20.0, "C2"), (1, 40.0, "B1"),
                                              (3, 100.0, "D3")], start=1):
        stats.update(tx(i, user, amount, item))
    s = stats.get_statistics()
    assert s["total_transactions"] == 4
    assert s["total_amount"] == 170.0
    assert s["avg_amount_overall"] == 42.5
    assert s["unique_users"] == 3 and s["unique_items"] == 3
    # window = 20, 40, 100: mean 53.333, median 40, sample stdev sqrt(((-33.3)²+(-13.3)²+46.7²)/2) = 41.63
    assert s["window_statistics"] == {"size": 3, "mean": 53.33, "median": 40.0, "min": 20.0, "max": 100.0,
                                      "std_dev": 41.63}
    assert s["active_users_in_window"] == 3


def test_single_transaction_has_zero_std_dev():
    stats = StreamStatistics()
    stats.update(tx(2, 2, 571.22, "F8281"))
    assert stats.get_statistics()["window_statistics"]["std_dev"] == 0


def test_oracle_against_statistics_module_on_every_prefix():
    rng = np.random.default_rng(4)
    amounts = np.round(rng.uniform(1, 900, 60), 2).tolist()
    users = rng.integers(1, 26, 60).tolist()
    stats = StreamStatistics(window_size=10)
    for n, (amount, user) in enumerate(zip(amounts, users, strict=True), start=1):
        stats.update(tx(n, user, amount, f"B{user}"))
        s = stats.get_statistics()
        window = amounts[max(0, n - 10):n]
        assert s["total_amount"] == round(sum(amounts[:n]), 2)
        assert s["avg_amount_overall"] == round(sum(amounts[:n]) / n, 2)
        w = s["window_statistics"]
        assert w["size"] == len(window)
        assert w["mean"] == round(statistics.mean(window), 2)
        assert w["median"] == round(statistics.median(window), 2)
        assert w["std_dev"] == (round(statistics.stdev(window), 2) if n > 1 else 0)
        assert s["active_users_in_window"] == len(set(users[max(0, n - 10):n]))
        assert s["unique_users"] == len(set(users[:n]))


def test_bad_window_size():
    with pytest.raises(ValueError, match="window_size must be >= 1, got 0"):
        StreamStatistics(window_size=0)


def test_format_matches_seed_layout():
    stats = StreamStatistics()
    transaction = tx(2, 2, 571.22, "F8281")
    stats.update(transaction)
    assert format_transaction(transaction) == (
        "Transaction #2 | User: 2 | Amount: $571.22 | Item: F8281 | Time: 2026-11-22T00:12:44")
    assert format_statistics(stats.get_statistics()) == "\n".join([
        "",
        "📊 STATISTICS:",
        "Total Transactions: 1",
        "Total Amount: $571.22",
        "Overall Average: $571.22",
        "Unique Users: 1",
        "Unique Items: 1",
        "",
        "📈 Last 1 Transactions:",
        "  Mean: $571.22",
        "  Median: $571.22",
        "  Min: $571.22",
        "  Max: $571.22",
        "  Std Dev: $0.00",
        "  Active Users: 1",
    ])


def test_client_keeps_the_seed_constructor_and_attributes(capsys):
    client = DataStreamClient()
    assert (client.host, client.port, client.running) == ("localhost", 5555, False)
    assert client.client_id.startswith("Client-") and len(client.client_id) == len("Client-HHMMSS")
    assert isinstance(client.stats, StreamStatistics) and client.stats.window_size == 10
    named = DataStreamClient("10.0.0.2", 6000, "Alice")
    assert (named.host, named.port, named.client_id) == ("10.0.0.2", 6000, "Alice")
    named.print_separator()
    assert capsys.readouterr().out == "-" * 80 + "\n"
