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

__all__ = ["FORMATS", "file_format", "ndjson_lines", "read_frames", "write_frames"]

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


def ndjson_lines(
    frame: pd.DataFrame, *, drop: Iterable[str] = (), trim_zero_fraction: bool = True
) -> list[bytes]:
    """One compact JSON line (``\\n``-terminated) per row of ``frame``, without the columns in ``drop``.

    Datetime columns become ISO 8601 text: timezone-aware ones in UTC with a ``Z``, naive ones (as
    in external layouts) without; ``trim_zero_fraction`` leaves out a ``.000000`` fraction (the
    stream's wire format keeps it: every stamp has the same width).

    >>> frame = pd.DataFrame({"tx_id": [1, 2], "ts": pd.to_datetime(["2024-01-01 09:00:00.000",
    ...     "2024-01-01 09:00:00.250"], utc=True), "amount": [5.0, 7.5]})
    >>> for line in ndjson_lines(frame, drop=["amount"]):
    ...     line
    b'{"tx_id":1,"ts":"2024-01-01T09:00:00Z"}\\n'
    b'{"tx_id":2,"ts":"2024-01-01T09:00:00.250000Z"}\\n'
    >>> ndjson_lines(frame.iloc[:1], trim_zero_fraction=False)
    [b'{"tx_id":1,"ts":"2024-01-01T09:00:00.000000Z","amount":5.0}\\n']
    """
    out = frame.drop(columns=[c for c in drop if c in frame.columns])  # a new frame: ours to change
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            if str(values.dt.tz) != "UTC":
                values = values.dt.tz_convert("UTC")
            out[column] = _iso_text(values, "Z", trim_zero_fraction)
        elif pd.api.types.is_datetime64_dtype(values):
            out[column] = _iso_text(values, "", trim_zero_fraction)
    option = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
    return [orjson.dumps(record, option=option) for record in out.to_dict(orient="records")]


def _iso_text(values: pd.Series, suffix: str, trim_zero_fraction: bool) -> pd.Series:
    text = values.dt.strftime(f"%Y-%m-%dT%H:%M:%S.%f{suffix}")
    return text.str.replace(rf"\.000000{suffix}$", suffix, regex=True) if trim_zero_fraction else text


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
                    sink.write(b"".join(ndjson_lines(frame)))
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
