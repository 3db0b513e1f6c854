"""``fraudstream import``: chunked ETL of a CSV or Parquet file into a store.

Per chunk (75,000 rows by default, as in seed 004's ETL):

1. rows the CSV parser cannot split are rejected (``malformed CSV row ...``);
2. rows missing a key field of the layout (:data:`KEY_FIELDS`; for the Kaggle layout seed
   004's ``dropna`` subset) are rejected (``missing cc_num``);
3. the rest go through the layout's adapter (:mod:`fraudstream.adapters`); a row the adapter
   refuses (``amt must be a number >= 0, got 'abc'``) is rejected with the adapter's message
   and the chunk is mapped again without it;
4. the canonical rows are converted to the store's rows (in a reader thread, ahead of the
   database), regrouped into whole partitions (:class:`_PartitionAligned`: months, or the
   store's ``partition_months``; on PostgreSQL a partition then gets its rows in one write and
   its indexes built once) and written idempotently inside
   ``store.bulk_load()``, with the labels and a checkpoint ``import:<file name>`` in the same
   database transaction;
5. behaviour profiles are accumulated (:class:`~fraudstream.store.profiles.ProfileBuilder`) and
   upserted at the end.

Rejected rows go to a CSV file (``line, reason``, then the row's original columns). Layouts
without an id column (Kaggle, ULB, PaySim) get ``tx_id = "<file stem>:<data row number>"``, so
re-importing a file stores nothing twice and two files never collide.
"""

from __future__ import annotations

import csv
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudstream.adapters import Adapter, detect_adapter, get_adapter
from fraudstream.errors import InvalidRecord
from fraudstream.store import frames
from fraudstream.store.base import Store
from fraudstream.store.pgpartitions import partition_starts
from fraudstream.store.profiles import ProfileBuilder
from fraudstream.store.reader import Chunk, file_columns, read_chunks

__all__ = ["KEY_FIELDS", "ROW_NUMBER_IDS", "ImportReport", "import_file"]

log = logging.getLogger(__name__)

KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "kaggle": ("cc_num", "trans_date_trans_time", "amt", "merchant", "category", "city", "state"),
    "seed004": ("cc_num", "trans_date_trans_time", "amt", "merchant", "category", "city", "state"),
    "handbook": ("TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT"),
    "ulb": ("Time", "Amount"),
    "paysim": ("step", "type", "amount", "nameOrig", "nameDest"),
}
"""Fields without which a row is rejected, per layout (others: the adapter's required columns)."""

ROW_NUMBER_IDS = frozenset({"kaggle", "ulb", "paysim"})
"""Layouts whose ``tx_id`` is a row number, prefixed with the file's stem on import."""

T = TypeVar("T")
_ROW = re.compile(r"\(row (\d+)\)")
MAX_ADAPTER_RETRIES = 1000


@dataclass
class ImportReport:
    """What an import did."""

    path: str
    schema: str
    store: str
    rows_read: int = 0
    stored: int = 0
    skipped: int = 0
    """Rows of the first chunks that an earlier, interrupted import of the same file had stored
    (its checkpoint says so): read again for the profiles and the rejects, not written."""
    rejected: int = 0
    profiles: int = 0
    seconds: float = 0.0
    rejects_path: str | None = None

    @property
    def already_stored(self) -> int:
        """Valid rows that were in the store already (re-import)."""
        return self.rows_read - self.rejected - self.stored

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        rejects = f" (see {self.rejects_path})" if self.rejected and self.rejects_path else ""
        resumed = f", resumed after the first {self.skipped:,} rows (stored by an earlier run)" if self.skipped else ""
        return (
            f"imported {self.path} ({self.schema}) into {self.store}{resumed}: {self.rows_read:,} rows read, "
            f"{self.stored:,} stored, {self.already_stored:,} already stored, {self.rejected:,} rejected"
            f"{rejects}, {self.profiles:,} profiles; {self.seconds:.1f} s, {self.rows_per_s:,.0f} rows/s"
        )


class _Rejects:
    """Rejected rows to a CSV file: ``line, reason``, then the original columns."""

    def __init__(self, path: Path | None, columns: list[str]) -> None:
        self.path, self.columns = path, columns
        self.count = 0
        self._handle = None
        self._writer: csv.writer | None = None  # type: ignore[valid-type]

    def add(self, lines: np.ndarray, reasons: list[str], rows: pd.DataFrame | None) -> None:
        if not len(lines):
            return
        self.count += len(lines)
        if self.path is None:
            return
        if self._writer is None:
            self._handle = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "reason", *self.columns])
        values = (
            rows[self.columns].astype(object).where(rows[self.columns].notna(), "").to_numpy().tolist()
            if rows is not None
            else [[""] * len(self.columns)] * len(lines)
        )
        for line, reason, row in zip(lines.tolist(), reasons, values, strict=True):
            self._writer.writerow([line, reason, *row])

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _missing(frame: pd.DataFrame, fields: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    masks = {}
    for name in fields:
        values = frame[name]
        mask = values.isna().to_numpy()
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            mask |= (values == "").to_numpy(dtype=bool, na_value=True)
        masks[name] = mask
    bad = np.logical_or.reduce(list(masks.values())) if masks else np.zeros(len(frame), dtype=bool)
    reasons = [("missing " + ", ".join(n for n in fields if masks[n][i])) for i in np.flatnonzero(bad)]
    return bad, reasons


def _map(adapter: Adapter, frame: pd.DataFrame, lines: pd.Series, rejects: _Rejects) -> pd.DataFrame:
    """``adapter.to_canonical(frame)``, rejecting each row the adapter names as bad."""
    for _ in range(MAX_ADAPTER_RETRIES):
        if not len(frame):
            return adapter.to_canonical(frame) if len(frame.columns) else frame
        try:
            return adapter.to_canonical(frame)
        except InvalidRecord as exc:
            found = _ROW.search(str(exc))
            if found is None or int(found.group(1)) >= len(frame):
                raise
            position = int(found.group(1))
            line = int(lines.iloc[position])
            rejects.add(np.array([line]), [_ROW.sub(f"(line {line})", str(exc))], frame.iloc[[position]])
            keep = np.ones(len(frame), dtype=bool)
            keep[position] = False
            frame, lines = frame[keep], lines[keep]
    raise InvalidRecord(
        f"more than {MAX_ADAPTER_RETRIES} bad values in one chunk; is --schema "
        f"{adapter.name} the right layout?"
    )


def import_file(
    path: str | Path,
    store: Store,
    *,
    schema: str | None = None,
    chunk_rows: int = 75_000,
    rejects_path: str | Path | None = None,
    id_prefix: str | None = None,
    on_rows: Callable[[int], None] | None = None,
    resume: bool = True,
) -> ImportReport:
    """Import ``path`` into ``store`` (see the module docstring); return the report. With
    ``resume``, the chunks that an interrupted import of the same file (same size and
    modification time) had stored are read again, for the profiles and the rejects, but not
    written again."""
    start = time.perf_counter()
    path = Path(path)
    columns = file_columns(path)
    adapter = get_adapter(schema) if schema else detect_adapter(columns)
    missing = [c for c in (adapter.required or adapter.columns) if c not in columns]
    if missing:
        raise InvalidRecord(
            f"{path.name}: missing column(s) {', '.join(missing)} of the {adapter.name} layout"
        )
    keys = tuple(k for k in KEY_FIELDS.get(adapter.name, adapter.required) if k in columns)
    prefix = (
        (path.name.split(".")[0] if id_prefix is None else id_prefix)
        if adapter.name in ROW_NUMBER_IDS
        else id_prefix or ""
    )
    report = ImportReport(
        str(path), adapter.name, store.describe(), rejects_path=str(rejects_path) if rejects_path else None
    )
    rejects = _Rejects(Path(rejects_path) if rejects_path else None, columns)
    profiles = ProfileBuilder()
    checkpoint_name = f"import:{path.name}"
    file = _signature(path)
    done = _stored_rows(store, checkpoint_name, file) if resume else 0

    source = f"import:{adapter.name}"
    batches = _PartitionAligned(max_rows=_HELD_CHUNKS * chunk_rows, months=store.partition_months)

    def prepared() -> Iterator[tuple[int, list[_Write]]]:
        """Per chunk: rows read, and the writes ready (reading, mapping and converting run in
        the reader thread, ahead of the database)."""
        rows_read = 0
        for chunk in read_chunks(path, chunk_rows):
            canonical = _chunk(chunk, adapter, keys, rejects)
            if prefix and len(canonical):
                canonical["tx_id"] = _prefixed(prefix, canonical["tx_id"])
            profiles.add(canonical)
            rows_read += chunk.rows_read
            if rows_read <= done:  # stored by the interrupted run
                report.skipped += chunk.rows_read
                yield chunk.rows_read, []
                continue
            last_line = int(chunk.lines[-1]) if len(chunk.lines) else None
            position = {"rows_read": rows_read, "last_line": last_line, "file": file}
            rows, labels = (
                frames.transaction_rows(canonical, source=source, label_source="file")
                if len(canonical)
                else (None, None)
            )
            yield chunk.rows_read, batches.add(position, rows, labels)
        yield 0, batches.finish()

    try:
        with store.bulk_load():
            for rows_read, writes in _prefetched(prepared(), depth=2):
                report.rows_read += rows_read
                for write in writes:
                    report.stored += store.write_transaction_rows(
                        write.rows,
                        write.labels,
                        checkpoint=(checkpoint_name, write.position) if write.position else None,
                    )
                if on_rows is not None and rows_read:
                    on_rows(rows_read)
        built = profiles.result()
        report.profiles = store.upsert_profiles(built) if len(built) else 0
    finally:
        rejects.close()
    report.rejected = rejects.count
    report.seconds = time.perf_counter() - start
    log.info("%s", report.summary())
    return report


def _signature(path: Path) -> dict[str, int]:
    """What tells one version of a file from another, for the checkpoint."""
    stat = path.stat()
    return {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _stored_rows(store: Store, name: str, file: dict[str, int]) -> int:
    """Rows of this very file that an earlier import stored (its checkpoint ``name``), or 0."""
    point = store.read_checkpoint(name)
    if not isinstance(point, dict) or not isinstance(point.get("rows_read"), int) or point["rows_read"] <= 0:
        return 0  # none, or not one this importer wrote: read it all
    if point.get("file") != file:
        log.info("%s: the checkpoint of an earlier import is of another version of the file; reading it all", name)
        return 0
    log.info("%s: an earlier import stored the first %s rows; resuming after them", name, f"{point['rows_read']:,}")
    return int(point["rows_read"])


_HELD_CHUNKS = 3
"""At most this many chunks' worth of rows are held back waiting for their month to end."""


@dataclass
class _Write:
    rows: pa.Table
    labels: pa.Table | None
    position: dict[str, Any] | None
    """Checkpoint: every row up to here is stored once this write commits (None: not yet)."""


@dataclass
class _Held:
    seq: int
    rows: pa.Table
    labels: pa.Table | None
    months: np.ndarray


class _PartitionAligned:
    """Regroups converted chunks into writes of whole partitions (of ``months`` months): the
    rows of the newest partition of the latest chunk are held back until a chunk of a later one
    arrives (or the file ends, or more than ``max_rows`` rows wait), so that on PostgreSQL most
    partitions reach the store in one write, into a new partition whose indexes are built once
    after the load. Rows out of time order are simply written with the next write. The
    checkpoint of a write is the position of the last chunk none of whose rows is still held."""

    def __init__(self, max_rows: int, months: int = 1) -> None:
        self.max_rows, self.span = max_rows, months
        self.held: list[_Held] = []
        self.positions: list[dict[str, Any]] = []

    def add(self, position: dict[str, Any], rows: pa.Table | None, labels: pa.Table | None) -> list[_Write]:
        seq = len(self.positions)
        self.positions.append(position)
        if rows is None or not rows.num_rows:
            return []
        ns = pc.cast(rows.column("ts"), pa.int64()).to_numpy(zero_copy_only=False)
        months = partition_starts(ns, self.span)
        self.held.append(_Held(seq, rows, labels, months))
        if sum(h.rows.num_rows for h in self.held) > self.max_rows:
            return self.finish()
        newest = months.max()
        out, keep = [], []
        for part in self.held:
            later = part.months == newest
            if later.all():
                keep.append(part)
                continue
            out.append(_Held(part.seq, _take(part.rows, ~later), _take(part.labels, ~later), part.months))
            if later.any():
                keep.append(
                    _Held(part.seq, _take(part.rows, later), _take(part.labels, later), part.months[later])
                )
        self.held = keep
        return [self._write(out, self._settled())] if out else []

    def finish(self) -> list[_Write]:
        out, self.held = self.held, []
        return [self._write(out, self.positions[-1] if self.positions else None)] if out else []

    def _settled(self) -> dict[str, Any] | None:
        first_held = min((h.seq for h in self.held), default=len(self.positions))
        return self.positions[first_held - 1] if first_held > 0 else None

    @staticmethod
    def _write(parts: list[_Held], position: dict[str, Any] | None) -> _Write:
        if len(parts) == 1:
            return _Write(parts[0].rows, parts[0].labels, position)
        rows = pa.concat_tables([p.rows for p in parts])
        labelled = [p.labels for p in parts if p.labels is not None]
        labels = pa.concat_tables(labelled) if len(labelled) == len(parts) else None
        duplicated = pd.Series(rows.column("tx_id").to_numpy(zero_copy_only=False)).duplicated().to_numpy()
        if duplicated.any():  # the same tx_id in two chunks: the first wins, as within a chunk
            rows, labels = rows.filter(pa.array(~duplicated)), _take(labels, ~duplicated)
        return _Write(rows, labels, position)


def _take(table: T, mask: np.ndarray) -> T:
    """The rows of ``table`` where ``mask``: a zero-copy slice when they are one run (time-ordered
    data split at a month boundary), else a filtered copy."""
    if table is None:
        return table
    assert isinstance(table, pa.Table)
    where = np.flatnonzero(mask)
    if len(where) and where[-1] - where[0] + 1 == len(where):
        return table.slice(int(where[0]), len(where))  # type: ignore[return-value]
    return table.filter(pa.array(mask))  # type: ignore[return-value]


_DONE = object()


def _prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """``items``, produced by a background thread up to ``depth`` ahead, so reading and mapping
    the next chunk overlaps with the database storing this one (memory: ``depth`` chunks)."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_DONE)
        except BaseException as exc:  # handed to the consumer
            buffer.put(exc)

    thread = threading.Thread(target=produce, name="fraudstream-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=10)


def _prefixed(prefix: str, ids: pd.Series) -> pd.Series:
    """``"<prefix>:<id>"`` for every id, as Arrow-backed text (one Arrow kernel, no Python string
    per row)."""
    joined = pc.binary_join_element_wise(prefix + ":", frames.text_ids(ids), "")
    return pd.Series(pd.arrays.ArrowStringArray(joined), index=ids.index)


def _chunk(chunk: Chunk, adapter: Adapter, keys: tuple[str, ...], rejects: _Rejects) -> pd.DataFrame:
    if chunk.malformed:
        lines = np.array([m[0] for m in chunk.malformed])
        rejects.add(lines, [m[1] for m in chunk.malformed], None)
    frame = chunk.frame
    lines = pd.Series(chunk.lines, index=frame.index)
    bad, reasons = _missing(frame, keys)
    if bad.any():
        rejects.add(chunk.lines[bad], reasons, frame[bad])
        frame, lines = frame[~bad], lines[~bad]
    return _map(adapter, frame, lines, rejects)
