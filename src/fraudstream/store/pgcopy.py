"""PostgreSQL's binary ``COPY`` format, encoded from Arrow columns without a per-row loop.

A binary ``COPY`` stream is a signature, then per row a 2-byte field count and per field a
4-byte big-endian length (``-1`` for NULL) followed by the value in the type's binary form
(``float8`` and ``int8``: 8 big-endian bytes; ``timestamptz``: microseconds since
2000-01-01 UTC as ``int8``; ``bool``: one byte; ``text`` and ``json``: the UTF-8 text;
``jsonb``: a version byte 1, then the text), then ``-1`` as a 2-byte trailer.

The server parses this about twice as fast as CSV (no number or date parsing). The encoder
builds each column's pieces with numpy (length prefixes and fixed-width values as one
``(rows, bytes)`` block, merged across neighbouring columns) and lets Arrow's
``binary_join_element_wise`` concatenate them row by row, so the result's data buffer is the
whole ``COPY`` body.

>>> import pyarrow as pa
>>> rows = pa.table({"id": ["a", None], "x": [1.5, None]})
>>> data = encode(rows, ("text", "float"))
>>> data[:19] == SIGNATURE and data[-2:] == TRAILER
True
>>> bytes(data[19:]).hex(" ")
'00 02 00 00 00 01 61 00 00 00 08 3f f8 00 00 00 00 00 00 00 02 ff ff ff ff ff ff ff ff ff ff'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudstream.errors import StoreError

__all__ = ["PIECE_ROWS", "SIGNATURE", "TRAILER", "encode", "encode_body", "encode_parts"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
"""The 11-byte signature, 4 bytes of flags and 4 bytes of header extension length."""
TRAILER = b"\xff\xff"

_POSTGRES_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01
_NULL = np.frombuffer(b"\xff\xff\xff\xff", dtype=np.uint8)
PIECE_ROWS = 1 << 14
"""Rows encoded per piece: the server starts on the first piece while the next ones are encoded
(the encoding CPU per row is about the same as in one piece: 42 vs 39 ms per 75,000 Kaggle rows),
and each joined array stays far below Arrow's 2 GiB binary limit."""
FIRST_PIECE_ROWS = 1 << 11
"""The first piece is smaller: the server waits only for it before starting."""


def _prefixes(lengths: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """``(n, 4)`` big-endian length prefixes, ``-1`` where not ``valid``."""
    values = lengths.astype(">i4")
    if valid is not None:
        values[~valid] = -1
    return values.view(np.uint8).reshape(-1, 4)


def _fixed_values(column: pa.Array, kind: str) -> tuple[np.ndarray, int]:
    """Big-endian values of a fixed-width column as ``(n, width)`` bytes (nulls: garbage)."""
    if kind == "float":
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(">f8")
    elif kind == "int":
        values = pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy().astype(">i8")
    elif kind == "ts":
        if not pa.types.is_timestamp(column.type):
            raise StoreError(f"binary COPY: a ts column must be an Arrow timestamp, got {column.type}")
        per_us = {"s": 1, "ms": 1, "us": 1, "ns": 1000}[column.type.unit]
        raw = pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy()
        micros = (
            raw // per_us if per_us > 1 else raw * {"s": 1_000_000, "ms": 1000, "us": 1}[column.type.unit]
        )
        values = (micros - _POSTGRES_EPOCH_US).astype(">i8")
    elif kind == "bool":
        values = pc.fill_null(column, False).to_numpy(zero_copy_only=False).astype(np.uint8)
    else:
        raise StoreError(f"binary COPY: no fixed-width encoding for type {kind!r}")
    width = values.dtype.itemsize
    return np.ascontiguousarray(values).view(np.uint8).reshape(-1, width), width


def _binary(block: np.ndarray) -> pa.Array:
    """An ``(n, w)`` uint8 block as a binary array of n values of w bytes (no copy)."""
    n, width = block.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32) if n else np.zeros(1, np.int32)
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(block))]
    )


def _variable(values: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Concatenated ``values`` bytes split by ``lengths`` as a binary array."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(
        pa.binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(values)]
    )


def encode_body(rows: pa.Table, kinds: Sequence[str]) -> pa.Buffer:
    """The rows of a binary ``COPY`` (no signature, no trailer) of ``rows``, whose columns have
    the store's logical ``kinds`` (``text``, ``id``, ``json``, ``jsontext``, ``float``, ``int``, ``ts``,
    ``bool``; see :mod:`fraudstream.store.schema`)."""
    n = rows.num_rows
    if len(kinds) != rows.num_columns:
        raise StoreError(f"binary COPY: {rows.num_columns} columns but {len(kinds)} types")
    pieces: list[pa.Array] = []
    fixed: list[np.ndarray] = [np.tile(np.array([rows.num_columns], ">i2").view(np.uint8), (n, 1))]

    def flush_fixed() -> None:
        if fixed:
            pieces.append(_binary(np.concatenate(fixed, axis=1) if len(fixed) > 1 else fixed[0]))
            fixed.clear()

    for column, kind in zip(rows.columns, kinds, strict=True):
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        valid = None if array.null_count == 0 else array.is_valid().to_numpy(zero_copy_only=False)
        if kind in ("text", "id", "json", "jsontext"):
            text = pc.cast(array, pa.binary()) if not pa.types.is_binary(array.type) else array
            if valid is not None:
                text = pc.fill_null(text, b"")
            if kind == "json":  # jsonb: version byte 1, then the text
                text = pc.binary_join_element_wise(pa.scalar(b"\x01"), text, b"")
                if valid is not None:
                    text = pc.if_else(pa.array(valid), text, pa.scalar(b""))
            lengths = pc.binary_length(text).to_numpy(zero_copy_only=False)
            fixed.append(_prefixes(lengths, valid))
            flush_fixed()
            pieces.append(text)
        else:
            values, width = _fixed_values(array, kind)
            fixed.append(_prefixes(np.full(n, width, dtype=np.int64), valid))
            if valid is None:
                fixed.append(values)
            else:
                flush_fixed()
                pieces.append(_variable(values[valid].ravel(), np.where(valid, width, 0)))
    flush_fixed()
    joined = pc.binary_join_element_wise(*pieces, b"") if len(pieces) > 1 else pieces[0]
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)[joined.offset : joined.offset + n + 1]
    start, end = (int(offsets[0]), int(offsets[-1])) if n else (0, 0)
    return joined.buffers()[2][start:end] if n else pa.py_buffer(b"")


def encode_parts(rows: pa.Table, kinds: Sequence[str]) -> Iterator[bytes | pa.Buffer]:
    """A complete binary ``COPY`` stream of ``rows`` in pieces (signature, bodies, trailer), to
    hand one by one to ``copy.write``."""
    yield SIGNATURE
    start = 0
    while start < rows.num_rows:
        size = FIRST_PIECE_ROWS if start == 0 else PIECE_ROWS
        yield encode_body(rows.slice(start, size), kinds)
        start += size
    yield TRAILER


def encode(rows: pa.Table, kinds: Sequence[str]) -> bytes:
    """A complete binary ``COPY`` stream (signature, rows, trailer) of ``rows`` as bytes."""
    return b"".join(bytes(part) for part in encode_parts(rows, kinds))
