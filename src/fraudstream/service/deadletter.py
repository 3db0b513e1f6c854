"""Dead letters: stream lines that cannot be read, kept with their reason while the stream goes on.

Each malformed line is counted by reason and, when a path is given, appended to an NDJSON file
as ``{"reason": ..., "line": ..., "position": ..., "at": ...}`` (the line as text, invalid UTF-8
replaced). A stream never dies on one bad record.

>>> letters = DeadLetters()
>>> letters.add(b'{"amount": ', "not JSON: unexpected end of data", position=3)
>>> letters.count, dict(letters.reasons)
(1, {'not JSON': 1})
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

__all__ = ["DeadLetter", "DeadLetters"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    """One unreadable line: its bytes, why, and where it was in the source."""

    line: bytes
    reason: str
    position: Any = None


class DeadLetters:
    """Counts dead letters by reason (the text before the first ``:``) and writes them to ``path``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.count = 0
        self.reasons: Counter[str] = Counter()
        self._file: IO[bytes] | None = None

    def add(self, line: bytes, reason: str, position: Any = None) -> None:
        self.extend([DeadLetter(line, reason, position)])

    def extend(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        self.count += len(letters)
        for letter in letters:
            self.reasons[letter.reason.split(":", 1)[0]] += 1
        if self.count == len(letters) or self.count % 1000 < len(letters):
            log.warning(
                "dead letters so far: %d (%s); last: %s",
                self.count,
                ", ".join(f"{k} {v}" for k, v in self.reasons.most_common()),
                letters[-1].reason,
            )
        if self.path is None:
            return
        if self._file is None:
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the stream's life
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        self._file.write(
            b"".join(
                orjson.dumps(
                    {
                        "reason": d.reason,
                        "line": d.line.decode("utf-8", "replace"),
                        "position": d.position,
                        "at": at,
                    },
                    option=orjson.OPT_APPEND_NEWLINE,
                )
                for d in letters
            )
        )
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
