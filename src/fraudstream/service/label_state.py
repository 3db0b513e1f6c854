"""The label state in the detection service's snapshots: remembered decisions and metrics.

With every feature-state snapshot the service saves what late labels need to go on joining
after a restart — the :class:`~.labels.RecentDecisions` ring (ids, scores, verdicts, alerted,
latest labels, the feature rows an online model may still learn, the ring position, labels
waiting for their decision) and the :class:`~.labels.PrequentialMetrics` window — to one
``.npz`` file, loaded with ``allow_pickle=False``. Ids round-trip exactly without pickle: an
int64 array, or UTF-8 text (Arrow layout: offsets + bytes) with a flag per id that was an
integer (a ring in text mode may hold both).

Writing a full ring of text ids or feature rows takes longer than a micro-batch should wait
(see ``benchmarks/label_state.py``), so the loop takes a copy between two micro-batches
(:func:`label_state_arrays`, a few ms) and a :class:`LabelStateWriter` thread encodes and writes
it; the snapshot is named in a checkpoint only once its file is complete.

>>> import tempfile, numpy as np, pandas as pd
>>> from fraudstream.service.labels import PrequentialMetrics, RecentDecisions
>>> recent = RecentDecisions(capacity=4)
>>> recent.add(np.array(["a", 7], dtype=object), np.array([0.2, 0.9]), np.array([False, True]),
...            np.array([False, True]))
>>> path = tempfile.mkdtemp() + "/labels.npz"
>>> save_label_state(path, recent, PrequentialMetrics())
>>> again, metrics = load_label_state(path, window=100)
>>> again.join(pd.DataFrame({"tx_id": [7, "a"], "is_fraud": [True, False]})).tx_id.tolist()
[7, 'a']
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudstream.errors import ModelFileError
from fraudstream.service.labels import PrequentialMetrics, RecentDecisions

__all__ = [
    "LabelStateWriter",
    "label_state_arrays",
    "load_label_state",
    "save_label_state",
    "write_label_state",
]

log = logging.getLogger(__name__)

_FORMAT = "fraudstream-label-state-1"
_IDS = (".ids",)


def _encode_ids(prefix: str, ids: np.ndarray) -> dict[str, np.ndarray]:
    """``ids`` as pickle-free arrays: int64, or UTF-8 text plus offsets and an is-integer flag."""
    if ids.dtype.kind in "iu":
        return {f"{prefix}int": ids.astype(np.int64, copy=False)}
    is_int = np.zeros(len(ids), bool)
    if len(ids) and pd.api.types.infer_dtype(ids, skipna=False) != "string":
        is_int = np.fromiter((isinstance(v, (int, np.integer)) for v in ids), bool, len(ids))
        ids = ids.astype(str).astype(object)
    text = pa.array(ids, pa.large_string())
    _, offsets, data = text.buffers()
    return {
        f"{prefix}offsets": np.frombuffer(offsets, np.int64)[: len(ids) + 1].copy(),
        f"{prefix}text": np.frombuffer(data, np.uint8).copy() if data is not None else np.zeros(0, np.uint8),
        f"{prefix}is_int": is_int,
    }


def _decode_ids(prefix: str, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """What :func:`_encode_ids` wrote: int64, or an object array of str (and int where flagged)."""
    if f"{prefix}int" in arrays:
        return arrays[f"{prefix}int"].astype(np.int64, copy=False)
    offsets = arrays[f"{prefix}offsets"]
    text = pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(arrays[f"{prefix}text"])
    )
    ids = text.to_numpy(zero_copy_only=False).astype(object)
    is_int = arrays[f"{prefix}is_int"]
    if is_int.any():
        ids[is_int] = [int(v) for v in ids[is_int]]
    return ids


def label_state_arrays(recent: RecentDecisions | None, metrics: PrequentialMetrics) -> dict[str, np.ndarray]:
    """A copy of the remembered decisions (None: none yet) and of the metrics window, taken
    between two micro-batches; :func:`write_label_state` may write it from another thread."""
    arrays = metrics.to_arrays()
    if recent is not None:
        arrays.update(recent.to_arrays())
    return arrays


def write_label_state(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """Write :func:`label_state_arrays` to one ``.npz`` (ids encoded without pickle)."""
    out = {k: v for k, v in arrays.items() if not k.endswith(_IDS)}
    for key in (k for k in arrays if k.endswith(_IDS)):
        out.update(_encode_ids(f"{key}.", arrays[key]))
    meta = {"format": _FORMAT, "recent": "ring.counters" in arrays}
    out["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **out)


def save_label_state(path: str | os.PathLike[str], recent: RecentDecisions | None, metrics: PrequentialMetrics) -> None:
    """Write the remembered decisions (None: none yet) and the metrics window to one ``.npz``."""
    write_label_state(path, label_state_arrays(recent, metrics))


def load_label_state(path: str | os.PathLike[str], window: int) -> tuple[RecentDecisions | None, PrequentialMetrics]:
    """What :func:`save_label_state` wrote (the metrics window cut to its last ``window`` rows)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        if meta.get("format") != _FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, expected {_FORMAT!r}")
        recent = None
        if meta["recent"]:
            arrays["ring.ids"] = _decode_ids("ring.ids.", arrays)
            arrays["pending.ids"] = _decode_ids("pending.ids.", arrays)
            recent = RecentDecisions.from_arrays(arrays)
        return recent, PrequentialMetrics.from_arrays(arrays, window)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path} is not a saved label state: {exc}") from None


class LabelStateWriter:
    """Writes one label state at a time in a thread (to a temporary name, then renamed)."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, path: Path, arrays: dict[str, np.ndarray]) -> None:
        """Write ``arrays`` to ``path`` in the background (call when not :attr:`busy`)."""
        self._failed = None

        def write() -> None:
            tmp = path.with_suffix(".tmp")
            try:
                write_label_state(tmp, arrays)
                os.replace(tmp, path)
            except BaseException as exc:  # reported by written()
                self._failed = exc

        self._thread = threading.Thread(target=write, name="fraudstream-label-state", daemon=True)
        self._thread.start()

    def written(self) -> bool | None:
        """None while writing (or nothing started since the last answer), else whether the last
        write succeeded (a failure is logged)."""
        if self._thread is None or self._thread.is_alive():
            return None
        self._thread = None
        if self._failed is not None:
            log.error("label state not saved (the snapshot is skipped): %s", self._failed)
            return False
        return True

    def join(self, timeout_s: float = 60.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)
