"""A labels file: late labels released as the stream's event time reaches them.

``fraudstream detect --labels FILE`` reads a CSV, NDJSON or Parquet file with the columns
``tx_id, is_fraud`` and optionally ``labelled_at`` (ISO 8601; naive = UTC) and
``fraud_pattern`` — chargebacks, an investigation's findings, the labels of a replayed dataset.
The whole file is checked before the stream starts: a bad row stops the service with a clear
error naming its line, field and value (:func:`read_labels_file`), since a user who hands over a
labels file wants all of it used, not silently thinned.

:class:`LabelsFile` releases the labels during the stream (:meth:`LabelsFile.due`, once per
micro-batch, after its decisions):

* a label **with** ``labelled_at`` is released when the stream's event time (the latest
  transaction time seen) reaches it — at the end of the micro-batch that gets there;
* a label **without** one is known at once: it is released with its transaction's micro-batch,
  dated at the transaction's time.

Released labels take the path of label messages (risk state, metrics, online model) and are
stored with ``source='file'``. After a restart from a feature-state snapshot, the labels up to the
snapshot's event time are skipped (:meth:`LabelsFile.skip_until`): the snapshot holds them.

>>> labels = pd.DataFrame({"tx_id": [1, 2, 3], "is_fraud": [True, False, True],
...     "labelled_at": pd.to_datetime(["2024-01-01T10:00", "2024-01-01T12:00", None], utc=True),
...     "fraud_pattern": ["card_testing", None, None]})
>>> file = LabelsFile(labels)
>>> batch = pd.DataFrame({"tx_id": [3, 4], "ts": pd.to_datetime(["2024-01-01T11:00", "2024-01-01T11:30"], utc=True)})
>>> file.due(batch)[["tx_id", "is_fraud"]].to_dict("list")
{'tx_id': [3, 1], 'is_fraud': [True, True]}
>>> file.pending
1
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudstream.errors import ConfigError, InvalidRecord
from fraudstream.files import file_format
from fraudstream.store import frames

__all__ = ["LABEL_COLUMNS", "LabelsFile", "read_labels_file"]

LABEL_COLUMNS = ("tx_id", "is_fraud", "labelled_at", "fraud_pattern")
"""Columns of a labels file (the first two required)."""

_TRUE = ("true", "1", "t", "yes")
_FALSE = ("false", "0", "f", "no")
_NO_TIME = np.iinfo(np.int64).min


def read_labels_file(path: str | Path) -> pd.DataFrame:
    """The labels of a CSV / NDJSON / Parquet file, checked: ``tx_id`` (as the store restores
    ids: integers when every id is one), ``is_fraud`` (bool), ``labelled_at`` (UTC, NaT when
    absent) and ``fraud_pattern`` (None when absent).

    Raises :class:`~fraudstream.errors.InvalidRecord` naming the first bad row's line (row of a
    Parquet file), field and value, and how many rows are bad.
    """
    path = Path(path)
    kind = file_format(path)
    if not path.is_file():
        raise ConfigError(f"--labels: no such file: {str(path)!r}")
    raw, lines = _read_raw(path, kind)
    missing = [c for c in ("tx_id", "is_fraud") if c not in raw.columns]
    if missing:
        raise InvalidRecord(
            f"{path.name}: a labels file needs the columns tx_id and is_fraud (optional: labelled_at, "
            f"fraud_pattern); missing {', '.join(missing)}, found {', '.join(map(str, raw.columns)) or 'none'}"
        )
    where = "row" if kind == "parquet" else "line"
    text = {c: _text(raw[c]) for c in LABEL_COLUMNS if c in raw.columns}
    blank = {c: pc.fill_null(pc.equal(text[c], ""), True).to_numpy(zero_copy_only=False) for c in text}
    problems: list[tuple[int, str]] = []  # (row position, message) of every bad field
    for i in np.flatnonzero(blank["tx_id"]):
        problems.append((i, f"tx_id must be given, got {_shown(raw['tx_id'].iloc[i])}"))
    answer = pc.utf8_lower(text["is_fraud"])
    fraud = pc.is_in(answer, pa.array(_TRUE)).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(~(fraud | pc.is_in(answer, pa.array(_FALSE)).to_numpy(zero_copy_only=False))):
        problems.append((i, f"is_fraud must be true/false or 1/0, got {_shown(raw['is_fraud'].iloc[i])}"))
    labelled_at = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if "labelled_at" in raw.columns:
        given = raw["labelled_at"]
        if pd.api.types.is_datetime64_any_dtype(given):
            absent, labelled_at = given.isna().to_numpy(), pd.to_datetime(given, utc=True)
        else:
            absent = blank["labelled_at"]
            stamps = pd.Series(text["labelled_at"].to_numpy(zero_copy_only=False), index=raw.index).where(~absent)
            labelled_at = pd.to_datetime(stamps, utc=True, errors="coerce", format="ISO8601")
        for i in np.flatnonzero(labelled_at.isna().to_numpy() & ~absent):
            problems.append((i, f"labelled_at must be an ISO 8601 time, got {_shown(given.iloc[i])}"))
    if problems:
        problems.sort(key=lambda p: p[0])
        first, message = problems[0]
        rows = len({p[0] for p in problems})
        more = f"; {rows - 1} more bad row{'s' if rows > 2 else ''}" if rows > 1 else ""
        raise InvalidRecord(f"{message} ({where} {lines[first]} of {path.name}){more}")
    out = pd.DataFrame({"tx_id": frames.restore_ids(pd.Series(text["tx_id"].to_numpy(zero_copy_only=False))),
                        "is_fraud": fraud})
    out["labelled_at"] = labelled_at.reset_index(drop=True).dt.as_unit("ns")
    pattern = text.get("fraud_pattern")
    out["fraud_pattern"] = None
    if pattern is not None:
        out["fraud_pattern"] = pd.Series(pattern.to_numpy(zero_copy_only=False)).where(~blank["fraud_pattern"], None)
    return out


def _text(values: pd.Series) -> pa.Array:
    """A column as stripped Arrow text (missing stays null): booleans as true/false, integral
    floats (ids and 0/1 that went through NaN-able columns) as integers."""
    if pd.api.types.is_bool_dtype(values):
        values = values.map({True: "true", False: "false"})
    elif pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types (NDJSON): each value as its text
        array = pa.array([_text_of(v) for v in values], pa.string())
    return pc.utf8_trim_whitespace(array if pa.types.is_string(array.type) else pc.cast(array, pa.string()))


def _read_raw(path: Path, kind: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The file's rows as they are, and each row's line number (row number for Parquet)."""
    if kind == "parquet":
        raw = pq.read_table(path).to_pandas()
        return raw, np.arange(1, len(raw) + 1)
    if kind == "csv":
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
        filled = (raw != "").any(axis=1).to_numpy()  # an empty line: skipped, its number kept
        lines = np.arange(2, len(raw) + 2)  # line 1: the header
        return raw[filled].reset_index(drop=True), lines[filled]
    records, lines = [], []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidRecord(f"not a JSON object: {exc} (line {number} of {path.name})") from None
            if not isinstance(record, dict):
                raise InvalidRecord(
                    f"each line must be a JSON object, got {_shown(record)} (line {number} of {path.name})"
                )
            records.append(record)
            lines.append(number)
    return pd.DataFrame.from_records(records), np.asarray(lines)


def _text_of(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _shown(value: object) -> str:
    return repr(value) if not (isinstance(value, float) and np.isnan(value)) and value is not None else "nothing"


class LabelsFile:
    """The labels of a file, released as the stream reaches them (see the module docstring).
    Held as numpy columns: releasing a batch's labels costs a few array slices, no pandas
    concatenation."""

    def __init__(self, labels: pd.DataFrame) -> None:
        labelled_at = labels["labelled_at"]
        dated = labels[labelled_at.notna().to_numpy()].sort_values("labelled_at", kind="stable")
        self._dated = _columns(dated)
        self._due_ns = _ns(dated["labelled_at"])
        self._next = 0
        undated = labels[labelled_at.isna().to_numpy()].drop_duplicates("tx_id", keep="last")
        self._undated = _columns(undated)
        self._undated_index = pd.Index(self._undated[0])
        self.event_time_ns = _NO_TIME
        """The latest transaction time seen (ns)."""
        self.released = 0

    @classmethod
    def read(cls, path: str | Path) -> LabelsFile:
        """The checked labels of ``path`` (see :func:`read_labels_file`)."""
        return cls(read_labels_file(path))

    def __len__(self) -> int:
        return len(self._due_ns) + len(self._undated_index)

    @property
    def pending(self) -> int:
        """Dated labels the stream has not reached yet."""
        return len(self._due_ns) - self._next

    def skip_until(self, event_time_ns: int) -> None:
        """Treat the dated labels up to ``event_time_ns`` as released (a restored state holds them)."""
        self.event_time_ns = max(self.event_time_ns, int(event_time_ns))
        self._next = max(self._next, int(np.searchsorted(self._due_ns, self.event_time_ns, side="right")))

    def due(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        """Labels released by a micro-batch of transactions ``frame`` (``tx_id``, ``ts``): those
        of its transactions that have no date, then the dated ones its latest time reaches;
        ``tx_id, is_fraud, labelled_at, fraud_pattern`` (None: nothing due)."""
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        if len(frame):
            times = _ns(frame["ts"])
            if len(self._undated_index):
                found = self._undated_index.get_indexer(frame["tx_id"].to_numpy())
                hit = found >= 0
                if hit.any():
                    ids, fraud, pattern = (column[found[hit]] for column in self._undated)
                    parts.append((ids, fraud, times[hit], pattern))
            self.event_time_ns = max(self.event_time_ns, int(times.max()))
        if self._next < len(self._due_ns) and self._due_ns[self._next] <= self.event_time_ns:
            end = int(np.searchsorted(self._due_ns, self.event_time_ns, side="right"))
            ids, fraud, pattern = (column[self._next : end] for column in self._dated)
            parts.append((ids, fraud, self._due_ns[self._next : end], pattern))
            self._next = end
        if not parts:
            return None
        ids, fraud, at, pattern = (np.concatenate([part[k] for part in parts]) for k in range(4))
        self.released += len(ids)
        return pd.DataFrame(
            {"tx_id": ids, "is_fraud": fraud, "labelled_at": pd.to_datetime(at, unit="ns", utc=True),
             "fraud_pattern": pattern}
        )


def _columns(labels: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``tx_id, is_fraud, fraud_pattern`` as numpy arrays."""
    return labels["tx_id"].to_numpy(), labels["is_fraud"].to_numpy(bool), labels["fraud_pattern"].to_numpy(object)


def _ns(values: pd.Series) -> np.ndarray:
    return np.asarray(values.dt.as_unit("ns").array.asi8, dtype=np.int64)
