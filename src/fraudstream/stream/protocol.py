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

**Offsets and resume (opt-in, TCP).** Every transaction line has a stream *offset*, 1, 2, 3,
... in broadcast order; the lines are unchanged (offsets are implied by their order) and so is
the welcome. A client that wants offsets subscribes with ``{"type": "subscribe", "labels": true,
"offsets": true}`` (from where it joined) or ``{"type": "subscribe", "labels": true,
"resume_after": N}`` (after a reconnect or a restart; ``labels`` may be ``false``). A server that
retains its recent batches (``fraudstream serve --retain-mb``, :mod:`fraudstream.stream.retention`)
answers with one line, then sends everything broadcast after transaction ``N`` (or after the
offset the client joined at) and continues live, with no line missed or sent twice at the seam:

- ``{"type": "resume", "after": N, "next": N+1, "stream": ID, "retained": [first, last]}``:
  all of it is retained; the next transaction line has offset ``N+1``;
- ``{"type": "gap", "after": N, "from": N+1, "to": M, "lost": M-N, "labels_lost": L, "next": M+1,
  ...}``: offsets ``N+1..M`` (and ``L`` label lines, for label subscribers;
  ``labels_lost_at_least`` when that count is a lower bound) are no longer retained; the stream
  goes on at ``M+1``;
- before either, ``{"type": "reset", "after": N, "last": P, "stream": ID}`` when the offsets belong to another
  run of the server: the client named another ``"stream"`` in its subscription
  (``"resume_after": N, "stream": ID``), or ``N`` is beyond this stream's last offset ``P`` (the
  server restarted; its offsets began again). The answer then resumes from the offset the
  client joined at.

``stream`` names this run of the server (offsets of another run mean nothing here);
``retained`` gives the offsets still held. Transaction, welcome and label lines that reach the
client before the answer are sent again after it: the client drops them. Label lines broadcast
after transaction ``N`` are sent again (at-least-once; a client may receive a label twice).
Transaction lines never begin with ``{"type"``, so a client numbers them without parsing. A
server that retains nothing answers ``{"type": "error", "field": "resume_after", "message": ...}``
and goes on live; so does any server for a malformed ``resume_after``. A server that does not
know the extension answers nothing (the label subscription still holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pandas as pd

from fraudstream.errors import InvalidRecord
from fraudstream.files import ndjson_lines

__all__ = [
    "SUBSCRIBE_LABELS",
    "BadSubscription",
    "Subscription",
    "canonical_json_lines",
    "is_label_subscription",
    "label_message",
    "parse_subscription",
    "subscribe_message",
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


@dataclass(frozen=True)
class Subscription:
    """A client's ``subscribe`` line: label messages wanted, and the offset to resume after."""

    labels: bool
    resume_after: int | None = None
    offsets: bool = False
    """Whether the client asked for offsets (``"offsets": true`` or a ``resume_after``)."""
    stream: str | None = None
    """The run of the server ``resume_after`` counts in (``None``: not said)."""


def subscribe_message(
    *, labels: bool, offsets: bool = False, resume_after: int | None = None, stream: str | None = None
) -> bytes:
    """The line a client sends to subscribe: to labels, to offsets from where it joins, or to
    resume after an offset.

    >>> subscribe_message(labels=True) == SUBSCRIBE_LABELS
    True
    >>> subscribe_message(labels=False, resume_after=12)
    b'{"type": "subscribe", "labels": false, "resume_after": 12}\\n'
    >>> subscribe_message(labels=True, offsets=True)
    b'{"type": "subscribe", "labels": true, "offsets": true}\\n'
    >>> subscribe_message(labels=True, resume_after=12, stream="a1b2")
    b'{"type": "subscribe", "labels": true, "resume_after": 12, "stream": "a1b2"}\\n'
    """
    head = f'{{"type": "subscribe", "labels": {"true" if labels else "false"}'
    if resume_after is not None:
        run = "" if stream is None else f", \"stream\": {orjson.dumps(stream).decode()}"
        return f'{head}, "resume_after": {int(resume_after)}{run}}}\n'.encode()
    if offsets:
        return f'{head}, "offsets": true}}\n'.encode()
    return SUBSCRIBE_LABELS if labels else f"{head}}}\n".encode()


class BadSubscription(InvalidRecord):
    """A subscription line with a bad value; :attr:`field` names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_subscription(line: bytes) -> Subscription | None:
    """The subscription a client line asks for; ``None`` when it is none (junk included).

    :class:`BadSubscription` names a bad ``resume_after`` or ``stream``.

    >>> parse_subscription(b'{"type": "subscribe", "labels": true, "resume_after": 7}')
    Subscription(labels=True, resume_after=7, offsets=True, stream=None)
    >>> parse_subscription(b'hello') is None
    True
    >>> parse_subscription(b'{"type": "subscribe", "resume_after": -1}')
    Traceback (most recent call last):
    ...
    fraudstream.stream.protocol.BadSubscription: resume_after must be an integer >= 0, got -1
    """
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict) or message.get("type") != "subscribe":
        return None
    after = message.get("resume_after")
    if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
        raise BadSubscription("resume_after", f"resume_after must be an integer >= 0, got {after!r}")
    stream = message.get("stream")
    if stream is not None and not isinstance(stream, str):
        raise BadSubscription("stream", f"stream must be the text id of a run of the server, got {stream!r}")
    return Subscription(
        message.get("labels") is True, after, after is not None or message.get("offsets") is True, stream
    )


def canonical_json_lines(frame: pd.DataFrame, *, drop: tuple[str, ...] = ()) -> list[bytes]:
    """One compact JSON line per canonical row, without ``drop``; datetimes (``ts`` and any
    datetime attr) as ISO 8601 UTC with microseconds (:func:`fraudstream.files.ndjson_lines`)."""
    return ndjson_lines(frame, drop=drop, trim_zero_fraction=False)
