"""NDJSON framing: split a byte stream into lines, whatever the chunk boundaries.

TCP delivers bytes, not messages: one ``recv`` may end in the middle of a line or hold many
lines. :class:`LineSplitter` keeps the unfinished tail between calls, exactly like the seed's
clients (``buffer.split('\\n')``, keep the last piece), but on bytes and with a bound on how long
an unfinished line may grow, so a peer that never sends ``\\n`` cannot exhaust memory.

>>> splitter = LineSplitter()
>>> splitter.feed(b'{"a": 1}\\n{"b"')
[b'{"a": 1}']
>>> splitter.feed(b': 2}\\n\\n')
[b'{"b": 2}', b'']
>>> splitter.pending
0
"""

from __future__ import annotations

from fraudstream.errors import TransportError

__all__ = ["DEFAULT_MAX_LINE_BYTES", "LineSplitter"]

DEFAULT_MAX_LINE_BYTES = 1 << 20
"""Longest line accepted (1 MiB); a classroom transaction line is about 300 bytes."""


class LineSplitter:
    """Turns chunks of bytes into complete ``\\n``-terminated lines (without the ``\\n``).

    ``max_line_bytes`` bounds the unfinished tail: a longer line raises :class:`TransportError`.
    Blank lines are returned (as ``b''``) so callers decide; carriage returns are kept.
    """

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be >= 1, got {max_line_bytes}")
        self.max_line_bytes = max_line_bytes
        self._tail = b""

    @property
    def pending(self) -> int:
        """Bytes of the unfinished last line held back."""
        return len(self._tail)

    def feed(self, data: bytes) -> list[bytes]:
        """The lines completed by ``data``, in order."""
        if self._tail:
            data = self._tail + data
        lines = data.split(b"\n")
        self._tail = lines.pop()
        if len(self._tail) > self.max_line_bytes:
            size = len(self._tail)
            self._tail = b""
            raise TransportError(
                f"stream line longer than {self.max_line_bytes} bytes without a newline "
                f"(got {size}): the peer does not speak NDJSON"
            )
        return lines

    def reset(self) -> None:
        """Forget the unfinished tail (after a reconnect)."""
        self._tail = b""
