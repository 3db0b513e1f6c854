"""The stream protocol: seed 000's NDJSON lines, plus fraudstream's opt-in extensions.

Server -> client, one JSON object per line (UTF-8, ``\\n``-terminated):

- first, the **welcome** line ``{"type": "connection", "message": ..., "timestamp": ...,
  "totalUsers": 25, "profileTypes": [...]}`` (classroom world) — clients recognise it by
  ``type == "connection"``;
- then one **transaction** per line, without a ``type`` key: the classroom wire format of
  :mod:`fraudstream.adapters.classroom` for the classroom world, canonical JSON
  (:func:`canonical_json_lines`) for every other world;
- **label** lines ``{"type": "label", "transactionID": 12, "isFraud": true, "fraudPattern":
  "sudden_spike"}`` (canonical worlds: ``tx_id``, ``is_fraud``, ``fraud_pattern``), sent with
  ``--labels delayed:SECONDS`` and only to clients that subscribed, so the seed's clients never
  see a message they cannot read.

Client -> server: nothing is required. A client that wants delayed labels sends the line
``{"type": "subscribe", "labels": true}``. Anything else a client sends is read and ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pandas as pd

from fraudstream.files import ndjson_lines

__all__ = [
    "SUBSCRIBE_LABELS",
    "canonical_json_lines",
    "is_label_subscription",
    "label_message",
    "welcome_message",
]

SUBSCRIBE_LABELS: bytes = b'{"type": "subscribe", "labels": true}\n'
"""The line a client sends to receive delayed label messages."""


def welcome_message(now: datetime, *, message: str = "Connected to fraud detection training stream",
                    **extra: Any) -> bytes:
    """The first line every client receives (``json.dumps`` formatting, like the seed)."""
    import json

    body = {"type": "connection", "message": message,
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S"), **extra}
    return (json.dumps(body) + "\n").encode()


def label_message(tx_id: Any, is_fraud: bool, pattern: str | None, *, classroom: bool) -> bytes:
    """A delayed label line for one transaction."""
    import json

    if classroom:
        body: dict[str, Any] = {"type": "label", "transactionID": tx_id, "isFraud": bool(is_fraud)}
        if is_fraud:
            body["fraudPattern"] = pattern
    else:
        body = {"type": "label", "tx_id": tx_id, "is_fraud": bool(is_fraud), "fraud_pattern": pattern}
    return (json.dumps(body) + "\n").encode()


def is_label_subscription(line: bytes) -> bool:
    """Whether a line a client sent asks for label messages (junk is simply not)."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(message, dict) and message.get("type") == "subscribe" and message.get("labels") is True


def canonical_json_lines(frame: pd.DataFrame, *, drop: tuple[str, ...] = ()) -> list[bytes]:
    """One compact JSON line per canonical row, without ``drop``; datetimes (``ts`` and any
    datetime attr) as ISO 8601 UTC with microseconds (:func:`fraudstream.files.ndjson_lines`)."""
    return ndjson_lines(frame, drop=drop, trim_zero_fraction=False)
