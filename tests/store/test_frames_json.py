"""The attrs JSON of stored transactions (``json_objects``, vectorised) against the oracle
``json.dumps`` of each row: plain text, text to escape, control characters, non-ASCII, nulls,
numbers, booleans, and columns that are slices of larger arrays."""

from __future__ import annotations

import json
import math

import pandas as pd
import pyarrow as pa

from fraudstream.jsontext import json_objects


def oracle(frame: pd.DataFrame) -> list[dict[str, object]]:
    def plain(value: object) -> object:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return value.item() if hasattr(value, "item") else value

    return [{k: plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def test_json_objects_equal_json_dumps_row_by_row():
    frame = pd.DataFrame(
        {
            "plain": ["Margaret", "Evelyn", "", "Jo", "x" * 40, "z"],
            "quoted": ['say "hi"', "back\\slash", 'both \\"', "none", "", "é ü 漢"],
            "control": ["tab\there", "new\nline", "ok", "\x01", "bell\x07", ""],
            "nulls": pd.array(["a", None, "c", None, "e", "f"], dtype="string[pyarrow]"),
            "arrow_text": pd.array(["p", "q", "r", "s", "t", "u"], dtype="string[pyarrow]"),
            "unicode": ["é", "ü", "漢字", "🙂", "plain", "ß"],
            "count": [1, -2, 0, 2**62, 7, 8],
            "ratio": [0.5, float("nan"), -1e-300, 123456.789, 1.0, 2.25],
            "flag": [True, False, True, False, True, True],
        }
    )
    got = json_objects(frame).to_pylist()
    assert [json.loads(text) for text in got] == oracle(frame)
    assert got[0].startswith('{"plain":"Margaret","quoted":"say \\"hi\\""')  # compact, in column order
    tail = frame.iloc[2:]  # columns that are slices (Arrow arrays with an offset)
    assert [json.loads(text) for text in json_objects(tail).to_pylist()] == oracle(tail)


def test_json_objects_of_a_column_of_nulls_and_of_no_columns():
    frame = pd.DataFrame({"empty": pd.array([None, None], dtype="string[pyarrow]"), "n": [1, 2]})
    assert json_objects(frame).to_pylist() == ['{"empty":null,"n":1}', '{"empty":null,"n":2}']
    assert json_objects(frame[[]]).to_pylist() == [None, None]
    assert json_objects(frame.iloc[:0]).type == pa.string()
