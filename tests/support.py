"""Helpers shared by the test folders: external services that must exist in CI."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import pytest

from fraudstream.stream.testing import free_port

__all__ = ["PG_ADMIN", "SERVICES", "free_port", "pg_indexes", "require_service", "services_required", "wait_until"]

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
"""The machine's PostgreSQL as its superuser (tests create and drop their own schemas)."""

SERVICES = {
    "postgresql": ("127.0.0.1", 5432),
    "redis": ("127.0.0.1", 6379),
    "rabbitmq": ("127.0.0.1", 5672),
    "nats": ("127.0.0.1", 4222),
    "mosquitto": ("127.0.0.1", 1883),
}


def services_required() -> bool:
    return os.environ.get("FRAUDSTREAM_REQUIRE_SERVICES") == "1"


def require_service(name: str) -> tuple[str, int]:
    """(host, port) of a running service; skip the test if it is not running, or fail when
    FRAUDSTREAM_REQUIRE_SERVICES=1 (as in CI)."""
    host, port = SERVICES[name]
    try:
        with socket.create_connection((host, port), timeout=2):
            return host, port
    except OSError as exc:
        message = f"{name} is not reachable at {host}:{port} ({exc})"
        if services_required():
            pytest.fail(f"{message}; FRAUDSTREAM_REQUIRE_SERVICES=1 needs it")
        pytest.skip(message)  # allowed: FRAUDSTREAM_REQUIRE_SERVICES makes this a failure


def seed_record(row: Any, *, labels: str = "inline") -> dict[str, Any]:
    """Seed 000's record of one transaction (a row of a classroom frame): the oracle of the wire
    format in the tests, and the per-row baseline in ``benchmarks/wire_encoding.py``."""
    record = {
        "transactionID": row.tx_id, "userID": row.customer_id, "amount": row.amount,
        "timestamp": row.ts.strftime("%Y-%m-%dT%H:%M:%S"), "itemID": row.item_id,
        "merchantID": row.merchant_id, "isWeekend": row.is_weekend, "hourOfDay": row.hour_of_day,
        "daysSinceLastTransaction": row.days_since_last_transaction,
    }
    if labels == "inline":
        record |= {"userProfile": row.user_profile, "isFraud": row.is_fraud}
        if row.is_fraud:
            record["fraudPattern"] = row.fraud_pattern
    return record


def wait_until(condition: Any, timeout_s: float = 10.0) -> bool:
    """Poll ``condition()`` every 20 ms until it is true (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def pg_indexes(conn: Any, schema: str, table: str) -> list[str]:
    """The indexes of ``schema.table`` on PostgreSQL as ``method (columns)``, sorted."""
    rows = conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s", (schema, table)
    ).fetchall()
    return sorted(r[0].split(" USING ")[1] for r in rows)
