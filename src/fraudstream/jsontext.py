"""JSON text of whole Arrow columns: one vectorised pass per column, no per-row Python.

:func:`json_values` turns a column into the JSON text of each value, as *pieces* (constant
strings and Arrow string arrays) that :func:`join_pieces` joins row by row; a line or object is
then one call to Arrow's ``binary_join_element_wise``. Two spellings:

* plain (the store's attrs): compact, strings as UTF-8, floats as Arrow prints them;
* ``like_python=True`` (the seed's wire lines): exactly what Python's ``json.dumps`` writes —
  floats as ``repr`` (``16.0``, ``1e-05``), non-ASCII characters as ``\\uXXXX`` escapes. Values
  Arrow would print differently (floats outside ``[1e-4, 1e15)``, text with characters to escape)
  are rare and go through ``json.dumps`` one by one.

>>> import pyarrow as pa
>>> pieces = ['{"a": ', *json_values(pa.array([16.0, 1e-05, None]), like_python=True), "}"]
>>> join_pieces(pieces).to_pylist()
['{"a": 16.0}', '{"a": 1e-05}', '{"a": null}']
>>> json_objects(pd.DataFrame({"a": [1, 2], "b": ["x", None], "c": [0.5, float("nan")]})).to_pylist()
['{"a":1,"b":"x","c":0.5}', '{"a":2,"b":null,"c":null}']
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Piece", "arrow_column", "is_missing", "join_pieces", "json_objects", "json_values"]

Piece = str | pa.Array
"""A constant (the same text on every row) or a column of text (one value per row)."""

_CONTROL = "[\\x00-\\x1f]"
"""Control characters, which JSON strings hold only escaped (``json.dumps`` does it)."""


def arrow_column(values: pd.Series) -> pa.Array:
    """A pandas column as one Arrow array (mixed Python objects as text)."""
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects: as text
        return pa.array([None if is_missing(v) else str(v) for v in values], pa.string())
    if isinstance(array, pa.ChunkedArray):  # Arrow-backed pandas columns (the importer's)
        array = array.combine_chunks()
    return pc.cast(array, pa.string()) if pa.types.is_large_string(array.type) else array


def is_missing(value: Any) -> bool:
    """None or a float NaN (pandas' two spellings of a missing object value)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _string_bytes(array: pa.Array) -> np.ndarray:
    """The UTF-8 bytes of a string array's values, as a numpy view (no copy)."""
    buffers = array.buffers()
    if buffers[2] is None:
        return np.zeros(0, np.uint8)
    wide = pa.types.is_large_string(array.type)
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32)
    first, last = offsets[array.offset], offsets[array.offset + len(array)]
    return np.frombuffer(buffers[2], dtype=np.uint8)[first:last]


def _needs_escaping(array: pa.Array, *, ascii_only: bool) -> bool:
    """Whether a string array holds a character a JSON string cannot hold as it is (a control
    character, ``"`` or ``\\``, and with ``ascii_only`` anything beyond ASCII): one numpy pass."""
    data = _string_bytes(array)
    special = (data < 0x20) | (data == ord('"')) | (data == ord("\\"))
    if ascii_only:
        special |= data >= 0x80
    return bool(special.any())


def _one_by_one(array: pa.Array, **dumps: Any) -> list[Piece]:
    return [pa.array([None if v is None else json.dumps(v, **dumps) for v in array.to_pylist()], pa.string())]


def _strings(array: pa.Array, *, like_python: bool) -> list[Piece]:
    escaped = array
    if _needs_escaping(array, ascii_only=like_python):  # most columns: nothing to escape at all
        if like_python or pc.any(pc.match_substring_regex(array, _CONTROL)).as_py():
            return [pc.fill_null(_one_by_one(array)[0], "null")]
        escaped = pc.replace_substring(pc.replace_substring(array, "\\", "\\\\"), '"', '\\"')
    if not array.null_count:
        return ['"', escaped, '"']
    return [pc.fill_null(pc.binary_join_element_wise('"', escaped, '"', ""), "null")]


def _floats(array: pa.Array, *, like_python: bool) -> pa.Array:
    text = pc.cast(array, pa.string())
    if not like_python:
        return pc.fill_null(pc.if_else(pc.is_finite(array), text, pa.scalar(None, pa.string())), "null")
    # Arrow prints 16.0 as "16", and switches to exponents at other magnitudes than repr does
    magnitude = pc.abs(array)
    shared = pc.or_(pc.equal(magnitude, 0), pc.and_(pc.greater_equal(magnitude, 1e-4), pc.less(magnitude, 1e15)))
    whole = pc.invert(pc.match_substring_regex(text, r"[.e]"))
    text = pc.if_else(pc.and_(shared, whole), pc.binary_join_element_wise(text, ".0", ""), text)
    # outside that range, or where Arrow chose an exponent (repr never does there): rare, as
    # json.dumps writes them
    odd = pc.or_(pc.invert(shared), pc.match_substring(text, "e"))
    if pc.any(odd).as_py():
        fixed = text.to_pylist()
        for row in np.flatnonzero(pc.fill_null(odd, False).to_numpy(zero_copy_only=False)).tolist():
            fixed[row] = json.dumps(array[row].as_py())
        text = pa.array(fixed, pa.string())
    return pc.fill_null(text, "null")


def json_values(array: pa.Array, *, like_python: bool = False) -> list[Piece]:
    """Each value of ``array`` as JSON text (null -> ``null``), as pieces to join (see the module
    docstring): a string column without nulls or characters to escape is the column itself
    between two ``"`` (which :func:`join_pieces` folds into the neighbouring constants)."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _strings(array, like_python=like_python)
    if pa.types.is_boolean(kind):
        return [pc.fill_null(pc.if_else(array, "true", "false"), "null")]
    if pa.types.is_integer(kind):
        return [pc.fill_null(pc.cast(array, pa.string()), "null")]
    if pa.types.is_floating(kind):
        return [_floats(array, like_python=like_python)]
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return [pc.fill_null(pc.binary_join_element_wise('"', pc.cast(array, pa.string()), '"', ""), "null")]
    return [pc.fill_null(_one_by_one(array, default=str)[0], "null")]


def join_pieces(pieces: list[Piece]) -> pa.Array:
    """Row ``i`` of the result is the concatenation of every piece's row ``i`` (constants are
    the same on every row); neighbouring constants are folded first."""
    joined: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and joined and isinstance(joined[-1], str):
            joined[-1] += piece
        else:
            joined.append(piece)
    return pc.binary_join_element_wise(*joined, "")


def json_objects(frame: pd.DataFrame) -> pa.Array:
    """One compact JSON object per row of ``frame`` (columns as keys, in order); null when the
    frame has no columns."""
    if frame.shape[1] == 0:
        return pa.nulls(len(frame), pa.string())
    pieces: list[Piece] = []
    for i, name in enumerate(frame.columns):
        pieces.append(("{" if i == 0 else ",") + json.dumps(str(name)) + ":")
        pieces += json_values(arrow_column(frame[name]))
    pieces.append("}")
    return join_pieces(pieces)
