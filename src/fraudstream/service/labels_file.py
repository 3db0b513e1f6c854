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
import pyarrow.parquet as pq

from fraudstream.errors import ConfigError, InvalidRecord
from fraudstream.files import file_format
from fraudstream.store import frames

__all__ = ["LABEL_COLUMNS", "LabelsFile", "read_labels_file"]

LABEL_COLUMNS = ("tx_id", "is_fraud", "labelled_at", "fraud_pattern")
"""Columns of a labels file (the first two required)."""

_TRUE = frozenset({"true", "1", "t", "yes"})
_FALSE = frozenset({"false", "0", "f", "no"})
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
    problems: list[tuple[int, str]] = []  # (row position, message) of every bad field

    def blank(values: pd.Series) -> np.ndarray:
        return (values.isna() | (values.astype(str).str.strip() == "")).to_numpy()

    tx_ids = raw["tx_id"]
    for i in np.flatnonzero(blank(tx_ids)):
        problems.append((i, f"tx_id must be given, got {_shown(tx_ids.iloc[i])}"))
    fraud, bad = _booleans(raw["is_fraud"])
    for i in np.flatnonzero(bad):
        problems.append((i, f"is_fraud must be true/false or 1/0, got {_shown(raw['is_fraud'].iloc[i])}"))
    labelled_at = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if "labelled_at" in raw.columns:
        given = raw["labelled_at"]
        absent = blank(given) if given.dtype == object else given.isna().to_numpy()
        labelled_at = pd.to_datetime(given.where(~absent), utc=True, errors="coerce", format="ISO8601")
        for i in np.flatnonzero(labelled_at.isna().to_numpy() & ~absent):
            problems.append((i, f"labelled_at must be an ISO 8601 time, got {_shown(given.iloc[i])}"))
    if problems:
        problems.sort(key=lambda p: p[0])
        first, message = problems[0]
        rows = len({p[0] for p in problems})
        more = f"; {rows - 1} more bad row{'s' if rows > 2 else ''}" if rows > 1 else ""
        raise InvalidRecord(f"{message} ({where} {lines[first]} of {path.name}){more}")
    pattern = raw["fraud_pattern"] if "fraud_pattern" in raw.columns else pd.Series(None, index=raw.index)
    pattern = pattern.astype(object).where(~blank(pattern), None)
    ids = tx_ids.map(lambda v: str(v).strip()) if tx_ids.dtype == object else frames.text_ids(tx_ids).to_pandas()
    out = pd.DataFrame({"tx_id": frames.restore_ids(pd.Series(ids.tolist())), "is_fraud": fraud})
    out["labelled_at"] = labelled_at.reset_index(drop=True).dt.as_unit("ns")
    out["fraud_pattern"] = pattern.tolist()
    return out


def _read_raw(path: Path, kind: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The file's rows as they are, and each row's line number (row number for Parquet)."""
    if kind == "parquet":
        raw = pq.read_table(path).to_pandas()
        return raw, np.arange(1, len(raw) + 1)
    if kind == "csv":
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
        filled = (raw.apply(lambda column: column.str.strip()) != "").any(axis=1).to_numpy()
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


def _booleans(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(is_fraud, bad)``: booleans from bools, 0/1 and true/false/t/f/yes/no text."""
    text = values.map(lambda v: str(v).strip().lower() if not isinstance(v, bool) else str(v).lower())
    fraud = text.isin(_TRUE).to_numpy()
    return fraud, ~(fraud | text.isin(_FALSE).to_numpy())


def _shown(value: object) -> str:
    return repr(value) if not (isinstance(value, float) and np.isnan(value)) and value is not None else "nothing"


class LabelsFile:
    """The labels of a file, released as the stream reaches them (see the module docstring)."""

    def __init__(self, labels: pd.DataFrame) -> None:
        labelled_at = labels["labelled_at"]
        dated = labels[labelled_at.notna().to_numpy()].sort_values("labelled_at", kind="stable")
        self._dated = dated[list(LABEL_COLUMNS)].reset_index(drop=True)
        self._due_ns = _ns(self._dated["labelled_at"])
        self._next = 0
        undated = labels[labelled_at.isna().to_numpy()].drop_duplicates("tx_id", keep="last")
        self._undated_ids = pd.Index(undated["tx_id"].to_numpy())
        self._undated = undated.reset_index(drop=True)
        self.event_time_ns = _NO_TIME
        """The latest transaction time seen (ns)."""
        self.released = 0

    @classmethod
    def read(cls, path: str | Path) -> LabelsFile:
        """The checked labels of ``path`` (see :func:`read_labels_file`)."""
        return cls(read_labels_file(path))

    def __len__(self) -> int:
        return len(self._dated) + len(self._undated)

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
        parts = []
        if len(frame):
            if len(self._undated_ids):
                found = self._undated_ids.get_indexer(frame["tx_id"].to_numpy())
                hit = found >= 0
                if hit.any():
                    rows = self._undated.iloc[found[hit]]
                    parts.append(rows.assign(labelled_at=frame["ts"].to_numpy()[hit]).reset_index(drop=True))
            latest = frame["ts"].max()
            if pd.notna(latest):
                self.event_time_ns = max(self.event_time_ns, int(pd.Timestamp(latest).value))
        if self._next < len(self._due_ns) and self._due_ns[self._next] <= self.event_time_ns:
            end = int(np.searchsorted(self._due_ns, self.event_time_ns, side="right"))
            parts.append(self._dated.iloc[self._next : end])
            self._next = end
        if not parts:
            return None
        due = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        self.released += len(due)
        return due[list(LABEL_COLUMNS)]


def _ns(values: pd.Series) -> np.ndarray:
    return np.asarray(values.dt.as_unit("ns").array.asi8, dtype=np.int64)
