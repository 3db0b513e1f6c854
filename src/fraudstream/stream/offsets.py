"""The client side of stream offsets and resume (:mod:`fraudstream.stream.protocol`).

A :class:`StreamOffsets` says what a client asks for on each connection and numbers the lines
it then reads; ``detect``'s :class:`~fraudstream.service.sources.TcpSource` and the library's
:class:`~fraudstream.stream.reader.MessageReader` (``fraudstream.stream(..., resume=True)``,
``DataStreamClient(resume=True)``) share it:

* :meth:`StreamOffsets.subscribe` is the subscription line of a new connection: offsets from
  where the client joins, or — after a lost connection, or when given the position of an
  earlier run — a resume right after the last offset read, in the server's run that offset
  counts in (``stream``);
* :meth:`StreamOffsets.number` takes the lines read and gives each its offset (a label line:
  the offset of the transaction before it). Lines that arrive before the server's answer are
  held back and dropped when it comes (the server sends them again after it); the answer is
  consumed, and so is the welcome unless ``welcome=True``. A ``gap`` is logged and counted
  (:attr:`~StreamOffsets.lost_lines`); a ``reset`` (the server restarted) is a
  :class:`~fraudstream.errors.TransportError` when the client asked to resume an earlier run's
  position, else logged, and the new run is read;
* a server that does not answer within ``answer_timeout_s`` (``--retain-mb 0``, a plain NDJSON
  server) gets :meth:`StreamOffsets.no_answer`: the held lines are delivered, without offsets.

>>> offsets = StreamOffsets("tcp://h:1")
>>> offsets.subscribe(labels=False)
b'{"type": "subscribe", "labels": false, "offsets": true}\\n'
>>> offsets.number([b'{"type": "connection", "status": "connected"}', b'{"amount": 1}',
...                 b'{"type": "resume", "after": 41, "next": 42, "stream": "r1"}', b'{"amount": 2}'])
[(b'{"amount": 2}', 42)]
>>> offsets.subscribe(labels=False)  # the connection was lost: resume right after offset 42
b'{"type": "subscribe", "labels": false, "resume_after": 42, "stream": "r1"}\\n'
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from fraudstream.errors import TransportError
from fraudstream.stream.protocol import subscribe_message

__all__ = ["StreamOffsets"]

log = logging.getLogger(__name__)

_CONNECTION = b'{"type": "connection"'
_ANSWERS = (b'{"type": "resume"', b'{"type": "gap"', b'{"type": "reset"', b'{"type": "error"')
NO_ANSWER = "it did not answer the subscription (not a fraudstream serve that retains)"


class StreamOffsets:
    """Offsets of one client across its connections to ``describe`` (a server address, for the
    log); see the module docstring."""

    def __init__(self, describe: str, *, answer_timeout_s: float = 1.0, welcome: bool = False) -> None:
        self.describe = describe
        self.answer_timeout_s = answer_timeout_s
        self.welcome = welcome
        """Whether :meth:`number` gives the welcome line (sent once per connection) instead of
        consuming it."""
        self.next: int | None = None
        """Offset of the next transaction line (``None``: the server gives no offsets)."""
        self.stream_id: str | None = None
        """The run of the server the offsets count in (from its answer, or a saved position's)."""
        self.resumes = 0
        """Answers that resumed after an offset the client asked for."""
        self.lost_lines = 0
        """Transactions the server no longer held when the client came back (gaps)."""
        self.lost_labels = 0
        self._answer_by: float | None = None
        """While waiting for the server's answer: the monotonic deadline (``None``: streaming)."""
        self._held: list[bytes] = []
        self._asked: int | None = None
        self._restart = False

    @property
    def position(self) -> int | None:
        """Offset of the last transaction line read (``None``: none yet, or no offsets)."""
        return None if self.next is None else self.next - 1

    def subscribe(self, *, labels: bool, after: int | None = None) -> bytes:
        """The subscription line of a new connection: resume after the last offset read, else
        after ``after`` (an earlier run's position: a restart), else offsets from where the
        client joins. Lines read until the server answers are held back."""
        self._asked = self.position if self.next is not None else after
        self._restart = self.next is None and after is not None
        self._answer_by = time.monotonic() + self.answer_timeout_s
        self._held = []
        return subscribe_message(labels=labels, offsets=True, resume_after=self._asked, stream=self.stream_id)

    @property
    def asked_after(self) -> int | None:
        """The offset the last subscription asked to resume after (``None``: from the join)."""
        return self._asked

    def answer_wait_s(self) -> float | None:
        """Seconds left to wait for the server's answer (``None``: not waiting)."""
        return None if self._answer_by is None else self._answer_by - time.monotonic()

    def number(self, lines: list[bytes]) -> list[tuple[bytes, int | None]]:
        """``lines`` of the connection with their offsets, welcome and answer lines consumed and
        the lines before the answer held back."""
        out: list[tuple[bytes, int | None]] = []
        for line in lines:
            if not line.startswith(b'{"type"'):
                if self._answer_by is not None:
                    self._held.append(line)
                elif self.next is None:
                    out.append((line, None))
                else:
                    out.append((line, self.next))
                    self.next += 1
            elif line.startswith(_CONNECTION):
                if self.welcome:
                    out.append((line, None))
            elif line.startswith(_ANSWERS):
                out.extend(self._answer(line))
            elif self._answer_by is not None:
                self._held.append(line)
            else:
                out.append((line, self.position))
        return out

    def no_answer(self, why: str = NO_ANSWER) -> list[tuple[bytes, int | None]]:
        """The server gives no offsets (``why``; by default it did not answer in time): deliver
        the held lines; warn when a resume was needed."""
        if self._asked is not None:
            log.warning("%s cannot resume: %s; lines it sent while this client was away are lost "
                        "(not counted)", self.describe, why)
        self.next = None
        self._answer_by = None
        held, self._held = self._held, []
        return [(line, None) for line in held]

    def closed(self) -> list[tuple[bytes, int | None]]:
        """The connection ended: the lines held while waiting for an answer that never came
        (a server without offsets that sent everything and closed), else nothing."""
        if self._answer_by is None:
            return []
        return self.no_answer("the connection closed before it answered the subscription")

    def _answer(self, line: bytes) -> list[tuple[bytes, int | None]]:
        try:
            answer: Any = orjson.loads(line)
        except orjson.JSONDecodeError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        kind = answer.get("type")
        if kind == "error":
            if self._answer_by is not None:
                return self.no_answer(f"it answered: {answer.get('message')}")
            log.warning("%s says: %s", self.describe, answer.get("message"))
            return []
        if kind == "reset":
            message = (f"{self.describe} restarted its stream: offset {answer.get('after')} of run "
                       f"{self.stream_id or 'unknown'} means nothing in its run {answer.get('stream')} "
                       f"(last offset {answer.get('last')})")
            if self._restart:
                raise TransportError(f"{message}; the saved position (a detect checkpoint) belongs to the old "
                                     "stream: start without it (detect: another --name, or delete the checkpoint) "
                                     "to read the new one")
            log.warning("%s; going on with the new stream (what it sent before this connection is lost)", message)
            self.next = None
            self._asked = None
            return []
        following = answer.get("next")
        if isinstance(following, bool) or not isinstance(following, int) or following < 1:
            why = f"its answer has no valid \"next\" offset ({line[:120]!r})"
            if self._answer_by is not None:
                return self.no_answer(why)
            log.warning("%s: ignoring %s", self.describe, why)
            return []
        self.stream_id = answer.get("stream")
        self.next = following
        self._answer_by = None
        self._held = []
        if kind == "gap":
            self._lost(answer)
        elif self._asked is not None:
            self.resumes += 1
            log.info("resumed %s after offset %s", self.describe, answer.get("after"))
        return []

    def _lost(self, gap: dict[str, Any]) -> None:
        lost, labels = int(gap.get("lost", 0)), int(gap.get("labels_lost", 0))
        self.lost_lines += lost
        self.lost_labels += labels
        log.warning(
            "%s no longer holds offsets %s..%s: %d transactions lost%s (now %d in all); going on at offset %d",
            self.describe, gap.get("from"), gap.get("to"), lost,
            f" and {'at least ' if gap.get('labels_lost_at_least') else ''}{labels} label lines" if labels else "",
            self.lost_lines, self.next,
        )
