"""The alert queue and its triage: confirm fraud, false positive, escalate.

Confirming or rejecting an alert writes a ``review`` label to the store (which the detection
service reads back as a delayed label) and moves the alert out of the open queue; escalating
only changes its status.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from fraudstream.dashboard.queries import Database
from fraudstream.errors import ConfigError

__all__ = ["ACTIONS", "ALERT_STATUSES", "alert_counts", "alert_queue", "triage"]

ACTIONS = {
    "confirm": ("confirmed", True),
    "false_positive": ("false_positive", False),
    "escalate": ("escalated", None),
}
"""action -> (new alert status, label written: True fraud / False legitimate / None no label)."""
ALERT_STATUSES = ("open", "escalated", "confirmed", "false_positive")


def alert_queue(
    db: Database, status: str = "open", page: int = 1, page_size: int = 50, *, since: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Alerts with ``status``, newest first, with their transaction and the reasons of the
    detector's latest decision (``since``: only those raised then or later)."""
    if status not in ALERT_STATUSES:
        raise ConfigError(f"alert status must be one of {', '.join(ALERT_STATUSES)}, got {status!r}")
    p = db.p
    params: list[Any] = [status]
    newer = ""
    if since is not None:
        newer = f" AND a.raised_at >= {p}"
        params.append(db.ts_param(since))
    frame = db.frame(
        "SELECT a.tx_id, a.kind, a.ts, a.raised_at, a.status, a.severity, a.score, a.message, a.details, "
        "t.customer_id, t.merchant_id, t.amount, t.category, t.country, "
        "(SELECT d.reasons FROM decisions d WHERE d.tx_id = a.tx_id AND d.ts = a.ts "
        "ORDER BY d.decided_at DESC LIMIT 1) AS reasons "
        f"FROM alerts a LEFT JOIN transactions t ON t.tx_id = a.tx_id AND t.ts = a.ts WHERE a.status = {p}{newer} "
        f"ORDER BY a.raised_at DESC, a.tx_id LIMIT {int(page_size)} "
        f"OFFSET {int((max(page, 1) - 1) * page_size)}",
        params,
        ts=("ts", "raised_at"),
    )
    for column in ("details", "reasons"):
        frame[column] = [json.loads(v) if isinstance(v, str) else v for v in frame[column]]
    return frame


def alert_counts(db: Database) -> dict[str, int]:
    """Number of alerts per status."""
    counts = dict.fromkeys(ALERT_STATUSES, 0)
    for status, n in db.rows("SELECT status, count(*) FROM alerts GROUP BY status")[1]:
        counts[str(status)] = int(n)
    return counts


def triage(db: Database, tx_id: str, kind: str, action: str, user: str, note: str = "") -> dict[str, Any]:
    """Apply ``action`` to alert ``(tx_id, kind)`` as ``user``; the label written (if any)."""
    if action not in ACTIONS:
        raise ConfigError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    status, is_fraud = ACTIONS[action]
    p = db.p
    with db.lock:
        found = db.frame(
            f"SELECT tx_id, ts, kind, customer_id, severity, score, message, details, raised_at, status "
            f"FROM alerts WHERE tx_id = {p} AND kind = {p}",
            (str(tx_id), str(kind)),
            ts=("ts", "raised_at"),
        )
        if found.empty:
            raise ConfigError(f"no alert with tx_id {tx_id!r} and kind {kind!r}")
        alert = found.iloc[[0]].copy()
        details = alert["details"].iloc[0]
        details = json.loads(details) if isinstance(details, str) else details
        if not isinstance(details, dict):  # e.g. fraudstream detect's alerts: the list of reasons
            details = {"reasons": details} if details else {}
        details["triage"] = {
            "action": action,
            "by": user,
            "at": pd.Timestamp.now(tz="UTC").isoformat(),
            "note": note[:500],
        }
        alert["details"] = [details]
        alert["status"] = status
        label = None
        with db.store.batch():
            db.store.write_alerts(alert)
            if is_fraud is not None:
                label = {
                    "tx_id": str(tx_id),
                    "is_fraud": is_fraud,
                    "source": "review",
                    "labelled_at": pd.Timestamp.now(tz="UTC"),
                    "fraud_pattern": f"review:{kind}" if is_fraud else None,
                }
                db.store.write_labels(pd.DataFrame([label]))
    return {"tx_id": str(tx_id), "kind": kind, "status": status, "label": None if label is None else is_fraud}
