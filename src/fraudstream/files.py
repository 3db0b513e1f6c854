"""Tabular files: Parquet, CSV and NDJSON, chosen by extension, written chunk by chunk.

Frames stream to the file as they come, so a ten-million-row run never sits in memory.
Timestamps are written as UTC (ISO 8601 in CSV and NDJSON).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fraudstream.errors import ConfigError

__all__ = ["FORMATS", "file_format", "read_frames", "write_frames"]

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".ndjson": "ndjson",
           ".jsonl": "ndjson"}


def file_format(path: str | Path) -> str:
    """``parquet``, ``csv`` or ``ndjson`` from the file's extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"cannot tell the format of {str(path)!r} from its extension {suffix!r}; "
                          f"use one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def _check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist")
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write {str(path)!r}: {exc.strerror}") from None


def _ndjson_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").str.replace(
                r"\.000000Z$", "Z", regex=True)
        elif pd.api.types.is_datetime64_dtype(out[column]):  # naive, as in external layouts
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.replace(
                r"\.000000$", "", regex=True)
    records = out.to_dict(orient="records")
    option = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
    return b"".join(orjson.dumps(r, option=option) for r in records)


def write_frames(frames: Iterable[pd.DataFrame], path: str | Path,
                 on_rows: Callable[[int], None] | None = None) -> int:
    """Write ``frames`` to ``path`` (format from the extension); return the number of rows.

    ``on_rows(n)`` is called after each chunk, e.g. to advance a progress bar.
    """
    path = Path(path)
    kind = file_format(path)
    _check_writable(path)
    total = 0
    writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
    schema: pa.Schema | None = None
    with open(path, "wb") as sink:
        try:
            for frame in frames:
                if kind == "ndjson":
                    sink.write(_ndjson_bytes(frame))
                else:
                    table = pa.Table.from_pandas(frame, preserve_index=False, schema=schema)
                    if writer is None:
                        schema = table.schema
                        writer = (pq.ParquetWriter(sink, schema, compression="zstd") if kind == "parquet"
                                  else pacsv.CSVWriter(sink, schema))
                    writer.write_table(table)
                total += len(frame)
                if on_rows is not None:
                    on_rows(len(frame))
        finally:
            if writer is not None:
                writer.close()
    return total


def _canonical_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Text formats lose types: a canonical ``ts`` becomes UTC datetimes again, and an empty
    ``fraud_pattern`` becomes ``None``."""
    if "ts" in frame.columns and frame["ts"].dtype == object:
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    if "fraud_pattern" in frame.columns:
        pattern = frame["fraud_pattern"].astype(object)
        frame["fraud_pattern"] = pattern.where(pattern.notna(), None)
    return frame


def read_frames(path: str | Path, *, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """Read ``path`` in chunks of about ``chunk_rows`` rows, as it is (no schema mapping; only a
    canonical ``ts`` and ``fraud_pattern`` get their types back from CSV and NDJSON)."""
    path = Path(path)
    kind = file_format(path)
    if not path.is_file():
        raise ConfigError(f"no such file: {str(path)!r}")
    if kind == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
    elif kind == "csv":
        yield from map(_canonical_types, pd.read_csv(path, chunksize=chunk_rows))
    else:
        yield from map(_canonical_types, pd.read_json(path, lines=True, chunksize=chunk_rows,
                                                       precise_float=True))
