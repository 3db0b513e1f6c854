"""Running statistics of a transaction stream, as seed 000's terminal client shows them.

:class:`StreamStatistics` keeps cumulative totals (count, amount, unique users and items) and a
rolling window of the last ``window_size`` amounts and user ids. ``get_statistics()`` returns the
seed's dict, key for key: totals and averages rounded to cents, the window's mean, median, min,
max and *sample* standard deviation (``statistics.stdev``; 0 for fewer than two amounts), and
``None`` before the first transaction.

>>> stats = StreamStatistics(window_size=3)
>>> for user, amount, item in [(1, 10.0, "B1000"), (2, 20.0, "C2000"), (1, 40.0, "B1000")]:
...     stats.update({"userID": user, "amount": amount, "itemID": item})
>>> s = stats.get_statistics()
>>> s["total_amount"], s["avg_amount_overall"], s["unique_users"], s["unique_items"]
(70.0, 23.33, 2, 2)
>>> s["window_statistics"]
{'size': 3, 'mean': 23.33, 'median': 20.0, 'min': 10.0, 'max': 40.0, 'std_dev': 15.28}
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

__all__ = ["StreamStatistics"]


class StreamStatistics:
    """Cumulative and rolling-window statistics over ``amount``, ``userID`` and ``itemID``.

    Thread-safe (one lock), so a display thread may read while the receiving thread updates.
    """

    def __init__(self, window_size: int = 10) -> None:
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1, got {window_size}")
        self.window_size = window_size
        self.amounts: deque[float] = deque(maxlen=window_size)
        self.user_ids: deque[Any] = deque(maxlen=window_size)
        self.transaction_count = 0
        self.total_amount = 0.0
        self.unique_users: set[Any] = set()
        self.unique_items: set[Any] = set()
        self.lock = threading.Lock()

    def update(self, transaction: Mapping[str, Any]) -> None:
        """Count one transaction (needs ``amount``, ``userID``, ``itemID``; ``KeyError`` if not)."""
        amount = transaction["amount"]
        user = transaction["userID"]
        item = transaction["itemID"]
        with self.lock:
            self.transaction_count += 1
            self.total_amount += amount
            self.amounts.append(amount)
            self.user_ids.append(user)
            self.unique_users.add(user)
            self.unique_items.add(item)

    def get_statistics(self) -> dict[str, Any] | None:
        """The seed's statistics dict, or ``None`` before the first transaction."""
        with self.lock:
            if not self.amounts:
                return None
            window = list(self.amounts)
            count = self.transaction_count
            return {
                "total_transactions": count,
                "total_amount": round(self.total_amount, 2),
                "avg_amount_overall": round(self.total_amount / count, 2) if count else 0,
                "window_statistics": {
                    "size": len(window),
                    "mean": round(statistics.mean(window), 2),
                    "median": round(statistics.median(window), 2),
                    "min": round(min(window), 2),
                    "max": round(max(window), 2),
                    "std_dev": round(statistics.stdev(window), 2) if len(window) > 1 else 0,
                },
                "unique_users": len(self.unique_users),
                "unique_items": len(self.unique_items),
                "active_users_in_window": len(set(self.user_ids)),
            }
