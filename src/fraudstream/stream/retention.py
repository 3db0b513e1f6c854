"""Retention: the server's recent batches, kept so a client can resume after an offset.

Every transaction line the hub broadcasts has a stream **offset**: 1, 2, 3, ... in broadcast
order (the hub's ``published`` count after the line). The lines themselves are not changed:
offsets are implied by order, so a client that knows the offset of one line knows them all.

:class:`Retention` keeps the most recent broadcasts — the very ``bytes`` objects the hub hands
to every client, no copy — in a ring bounded by bytes. Per batch that is one append and, when
the ring is full, popping the oldest: O(1), nothing per transaction. Two kinds of entries are
kept, in broadcast order:

- a **transaction batch** knows its first offset and its line count;
- a **label batch** (``--labels delayed``) knows ``after``: the offset of the last transaction
  broadcast before it, and ``covers``: the offset just before the transactions it labels (the
  hub's filter: a client gets the labels of transactions it received). Label lines carry no
  offset of their own.

:meth:`Retention.plan` answers a client that asks to resume after offset ``N``: everything
broadcast after transaction ``N`` — the transaction lines from ``N + 1`` (a batch that starts
earlier is cut at a line boundary) and the label batches broadcast after ``N`` (at-least-once:
a client that had already received some of them gets them again; label writes are idempotent).
When part of that was evicted the plan is a **gap**: which offsets are gone, and how many label
lines with them.

>>> ring = Retention(max_bytes=12)
>>> ring.add(b"a\\nb\\n", first=1, count=2)
>>> ring.add(b"c\\n", first=3, count=1)
>>> plan = ring.plan(after=1, published=3, labels=False)
>>> plan.reply, plan.seq, plan.skip, bytes(cut(ring.entry(plan.seq).data, plan.skip))
(b'{"type": "resume", "after": 1, "next": 2}\\n', 0, 1, b'b\\n')
>>> ring.add(b"d\\ne\\nf\\ng\\n", first=4, count=4)            # 13 bytes: the first batch goes
>>> ring.plan(after=0, published=7, labels=False).reply
b'{"type": "gap", "after": 0, "from": 1, "to": 2, "lost": 2, "next": 3}\\n'
"""

from __future__ import annotations

import bisect
import json
from collections import deque
from dataclasses import dataclass

__all__ = ["DEFAULT_RETAIN_MB", "EVICTED_LABEL_MARKS", "Plan", "Retained", "Retention", "cut"]

DEFAULT_RETAIN_MB = 64
"""Default ring size of ``fraudstream serve --retain-mb`` (about 200,000 classroom lines)."""

EVICTED_LABEL_MARKS = 16_384
"""Evicted label batches remembered (two integers each) to count the label lines a gap loses;
beyond them the count is a lower bound (``labels_lost_at_least``)."""


@dataclass(frozen=True, slots=True)
class Retained:
    """One broadcast kept in the ring."""

    data: bytes
    first: int
    """Transaction batch: offset of its first line. Label batch: ``after`` (see the module)."""
    count: int
    labels: bool = False
    covers: int = 0
    """Label batch: the offset just before the first transaction it labels."""

    @property
    def last(self) -> int:
        """Offset of the last line of a transaction batch."""
        return self.first + self.count - 1


@dataclass(frozen=True, slots=True)
class Plan:
    """What to send a client resuming after an offset: the ``reply`` line, then the ring from
    entry ``seq`` on, the first ``skip`` lines of that entry left out."""

    reply: bytes
    seq: int
    skip: int = 0
    lost: int = 0
    """Transaction offsets no longer retained."""
    labels_lost: int = 0


class Retention:
    """A ring of recent broadcasts bounded by ``max_bytes`` (see the module docstring)."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"retention max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.bytes = 0
        self._ring: deque[Retained] = deque()
        self.first_seq = 0
        """Sequence number of the oldest retained entry (entries are numbered from 0)."""
        self.evicted_through = 0
        """Offset of the last transaction evicted (0: none)."""
        self._evicted_label_after: deque[int] = deque(maxlen=EVICTED_LABEL_MARKS)
        self._evicted_label_before: deque[int] = deque(maxlen=EVICTED_LABEL_MARKS)
        """Per remembered evicted label batch: its ``after``, and the label lines evicted before it."""
        self.evicted_labels = 0
        """Label lines evicted so far."""

    @property
    def end_seq(self) -> int:
        """Sequence number the next entry will get."""
        return self.first_seq + len(self._ring)

    def __len__(self) -> int:
        return len(self._ring)

    def span(self) -> tuple[int, int] | None:
        """Offsets of the oldest and newest retained transactions (``None``: none retained)."""
        first = next((e.first for e in self._ring if not e.labels), None)
        last = next((e.last for e in reversed(self._ring) if not e.labels), None)
        return None if first is None or last is None else (first, last)

    def add(self, data: bytes, *, first: int, count: int, labels: bool = False, covers: int = 0) -> None:
        """Keep one broadcast (the same ``bytes`` object), evicting the oldest beyond ``max_bytes``."""
        ring = self._ring
        ring.append(Retained(data, first, count, labels, covers))
        self.bytes += len(data)
        while self.bytes > self.max_bytes and ring:
            old = ring.popleft()
            self.first_seq += 1
            self.bytes -= len(old.data)
            if old.labels:
                self._evicted_label_after.append(old.first)
                self._evicted_label_before.append(self.evicted_labels)
                self.evicted_labels += old.count
            else:
                self.evicted_through = old.last

    def entry(self, seq: int) -> Retained | None:
        """The entry numbered ``seq`` (``None``: evicted, or not yet added)."""
        index = seq - self.first_seq
        return self._ring[index] if 0 <= index < len(self._ring) else None

    def plan(self, *, after: int, published: int, labels: bool) -> Plan:
        """How to resume a client after offset ``after`` (``0 <= after <= published``).

        Label batches are planned only for ``labels`` subscribers (and their lost lines counted
        only for them).
        """
        lost = max(0, self.evicted_through - after)
        labels_lost, at_least = self._labels_lost(after) if labels else (0, False)
        if lost or labels_lost:
            body: dict[str, object] = {"type": "gap", "after": after}
            if lost:
                body.update({"from": after + 1, "to": after + lost})
            body["lost"] = lost
            if labels_lost:
                body["labels_lost"] = labels_lost
                if at_least:
                    body["labels_lost_at_least"] = True
            body["next"] = max(after, self.evicted_through) + 1
            return Plan(_line(body), self.first_seq, 0, lost, labels_lost)
        seq, skip = self._seek(after)
        return Plan(_line({"type": "resume", "after": after, "next": after + 1}), seq, skip)

    def _seek(self, after: int) -> tuple[int, int]:
        """The first entry broadcast after transaction ``after``, and the lines to skip in it."""
        ring = self._ring
        index = len(ring)
        while index > 0:
            entry = ring[index - 1]
            if entry.labels:
                if entry.first < after:
                    break
            elif entry.last <= after:
                break
            index -= 1
        seq = self.first_seq + index
        entry = self.entry(seq)
        skip = after - entry.first + 1 if entry is not None and not entry.labels and entry.first <= after else 0
        return seq, skip

    def _labels_lost(self, after: int) -> tuple[int, bool]:
        """Evicted label lines broadcast after transaction ``after``; and whether that is only a
        lower bound (the marks of older evictions were forgotten)."""
        marks = self._evicted_label_after
        i = bisect.bisect_left(marks, after)
        if i == len(marks):
            return 0, False
        at_least = i == 0 and len(marks) == marks.maxlen
        return self.evicted_labels - self._evicted_label_before[i], at_least


def cut(data: bytes, lines: int) -> memoryview:
    """``data`` without its first ``lines`` ``\\n``-terminated lines (no copy).

    >>> bytes(cut(b"a\\nbb\\nc\\n", 2))
    b'c\\n'
    """
    at = 0
    find = data.index
    for _ in range(lines):
        at = find(b"\n", at) + 1
    return memoryview(data)[at:]


def _line(body: dict[str, object]) -> bytes:
    return (json.dumps(body) + "\n").encode()
