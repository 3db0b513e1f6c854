"""Chunked CSV reading for import: every row keeps its physical line number when a chunk spans
several parser blocks and malformed rows sit anywhere: first, around a block boundary, last."""

from __future__ import annotations

import numpy as np

from fraudstream.store.reader import read_chunks


def test_line_numbers_survive_many_blocks_per_chunk_and_malformed_rows(tmp_path):
    path = tmp_path / "wide.csv"
    malformed = {2, 7, 5_000, 36_470, 36_471, 36_472, 59_999, 60_001}
    lines = ["line,text"]
    for line in range(2, 60_002):  # 7 MB of 115-byte lines: parser blocks of 4 MiB, 2 per chunk
        lines.append(f"{line},{'x' * 100}" + (",extra" if line in malformed else ""))
    path.write_text("\n".join(lines) + "\n")
    seen, bad = [], []
    for chunk in read_chunks(path, chunk_rows=50_000):
        assert len(chunk.frame) <= 50_000
        assert np.array_equal(chunk.frame["line"].to_numpy(), chunk.lines)  # each row knows its line
        seen.append(chunk.lines)
        bad += [line for line, reason in chunk.malformed if reason.startswith("malformed CSV row: expected 2")]
    assert sorted(bad) == sorted(malformed)
    assert np.array_equal(np.concatenate(seen), np.array(sorted(set(range(2, 60_002)) - malformed)))
