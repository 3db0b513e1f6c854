"""Saving and loading fitted detectors: one folder per model, with a metadata JSON.

A model folder holds ``metadata.json`` and the detector's state files:

==============  =================================================================
detector        state files
==============  =================================================================
rules           ``rules.json`` (plain JSON)
iforest         ``model.joblib`` (scikit-learn pipeline, **pickle**)
autoencoder     ``model.pt`` (``torch.save(state_dict)``, loaded ``weights_only``),
ann             ``state.npz`` (scaler, layer sizes; ``allow_pickle=False``)
gbm             ``model.txt`` (LightGBM text format)
online          ``model.joblib`` (River pipeline, **pickle**)
ensemble        ``members/<name>/`` — one model folder per member
==============  =================================================================

``metadata.json`` records ``format`` / ``format_version``, ``kind``, ``params``, ``features``
(in order), ``threshold``, ``training`` (rows, fraud rate, time range, plus what the caller
adds), ``metrics``, ``libraries`` (versions at save time), ``files`` (SHA-256 of each state file),
``created_at`` and ``content_hash`` (SHA-256 over the metadata without this field and every
file hash). :func:`load` verifies all of it **before** unpickling anything, so a corrupt,
truncated or edited file is refused with :class:`~fraudstream.errors.ModelFileError`. The hash
protects against accidents, not against an attacker who rewrites the metadata too: pickle-based
files (``model.joblib``) must only be loaded from a trusted place.

>>> import tempfile, pandas as pd
>>> from fraudstream.detect.rules import RuleDetector
>>> X = pd.DataFrame({"amount": [10.0, 500.0]})
>>> detector = RuleDetector(rules=[{"id": "big", "feature": "amount", "op": ">", "value": 220}]).fit(X)
>>> folder = save(detector, tempfile.mkdtemp() + "/big_rule", {"metrics": {"ap": 0.5}})
>>> restored = load(folder, columns=X.columns)
>>> restored.score_many(X).tolist() == detector.score_many(X).tolist()
True
>>> load(folder, columns=["amt"])
Traceback (most recent call last):
...
fraudstream.errors.ModelFileError: model .../big_rule expects feature(s) amount, missing from the frame \
(which has: amt)
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from fraudstream.detect import detector_class
from fraudstream.detect.base import Detector
from fraudstream.errors import FraudStreamError, ModelFileError

__all__ = ["FORMAT", "FORMAT_VERSION", "check_features", "load", "read_metadata", "save"]

log = logging.getLogger(__name__)

FORMAT = "fraudstream-model"
FORMAT_VERSION = 1
_METADATA = "metadata.json"


def save(detector: Detector, path: str | Path, metadata: Mapping[str, Any] | None = None,
         *, overwrite: bool = False) -> Path:
    """Save a fitted ``detector`` into the folder ``path``; return the folder.

    ``metadata`` may hold ``metrics`` (dict), ``training`` (dict, merged over the detector's own
    training summary) and anything else JSON-serialisable (kept under ``extra``).
    """
    detector._check_fitted()
    folder = Path(path)
    if folder.exists():
        if not overwrite:
            raise ModelFileError(f"{folder} already exists; pass overwrite=True to replace it")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    detector._save_state(folder)
    user = dict(metadata or {})
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": detector.kind,
        "class": f"{type(detector).__module__}.{type(detector).__name__}",
        "params": _jsonable(_saved_params(detector)),
        "features": list(detector.feature_names_),
        "threshold": float(detector.threshold_),
        "training": _jsonable({**detector.training_summary_, **dict(user.pop("training", {}))}),
        "metrics": _jsonable(dict(user.pop("metrics", {}))),
        "extra": _jsonable(user),
        "libraries": _library_versions(detector),
        "files": _file_hashes(folder),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    document["content_hash"] = _content_hash(document)
    (folder / _METADATA).write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
    log.info("saved %s detector to %s (%s)", detector.kind, folder, document["content_hash"][:12])
    return folder


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The verified metadata of the model folder ``path`` (hashes and format checked)."""
    folder = Path(path)
    if not folder.is_dir():
        what = "a file" if folder.is_file() else "missing"
        raise ModelFileError(f"{folder} is {what}; a saved model is a folder with {_METADATA}")
    meta_path = folder / _METADATA
    try:
        document = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{folder}: {_METADATA} is missing; not a fraudstream model folder") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{meta_path}: corrupt metadata, not valid JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ModelFileError(f"{meta_path}: format is {found!r}, expected {FORMAT!r}")
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{meta_path}: format_version {document.get('format_version')!r} is not "
                             f"supported (this fraudstream reads {FORMAT_VERSION})")
    missing = [k for k in ("kind", "params", "features", "threshold", "files", "content_hash", "libraries")
               if k not in document]
    if missing:
        raise ModelFileError(f"{meta_path}: field {missing[0]} is missing")
    recorded = document["files"]
    actual = _file_hashes(folder)
    for name, digest in recorded.items():
        if name not in actual:
            raise ModelFileError(f"{folder}: state file {name} is missing")
        if actual[name] != digest:
            raise ModelFileError(f"{folder / name}: hash mismatch (file is corrupt or was changed): "
                                 f"sha256 {actual[name][:16]}..., metadata says {digest[:16]}...")
    extra_files = sorted(set(actual) - set(recorded))
    if extra_files:
        raise ModelFileError(f"{folder}: unexpected file {extra_files[0]} not listed in {_METADATA}")
    if _content_hash(document) != document["content_hash"]:
        raise ModelFileError(f"{meta_path}: content_hash mismatch: the metadata was edited after saving")
    return document


def load(path: str | Path, *, columns: Iterable[str] | None = None) -> Detector:
    """Load a model folder written by :func:`save`; scores are identical to the saved detector's.

    ``columns``: the columns of the frames you will score; a model feature missing from them
    raises :class:`ModelFileError` now rather than at the first batch.
    """
    folder = Path(path)
    document = read_metadata(folder)
    cls = _class_of(document, folder)
    _check_libraries(document["libraries"], cls, folder)
    try:
        detector = cls._construct(dict(document["params"]), folder)
        detector._load_state(folder)
    except ModelFileError:
        raise
    except Exception as exc:  # unpickling / tensor errors of any kind
        raise ModelFileError(f"{folder}: state cannot be loaded as a {document['kind']} detector "
                             f"({type(exc).__name__}: {exc})") from None
    detector.feature_names_ = list(document["features"])
    detector.threshold_ = float(document["threshold"])
    detector.training_summary_ = dict(document.get("training", {}))
    if columns is not None:
        check_features(detector, columns, where=f"model {folder}")
    return detector


def check_features(detector: Detector, columns: Iterable[str], where: str = "model") -> None:
    """Raise :class:`ModelFileError` if a feature of ``detector`` is not among ``columns``."""
    present = list(columns)
    missing = [f for f in detector.feature_names_ if f not in present]
    if missing:
        raise ModelFileError(f"{where} expects feature(s) {', '.join(missing)}, missing from the frame "
                             f"(which has: {', '.join(map(str, present))})")


def _class_of(document: dict[str, Any], folder: Path) -> type[Detector]:
    try:
        return detector_class(document["kind"])
    except FraudStreamError:
        raise ModelFileError(f"{folder}: detector kind {document['kind']!r} is unknown") from None


def _check_libraries(saved: dict[str, str], cls: type[Detector], folder: Path) -> None:
    for library, parts in cls.libraries.items():
        if library not in saved:
            continue
        installed = _version(library)
        if installed is None:
            raise ModelFileError(f"{folder}: needs {library} {saved[library]}, which is not installed")
        if installed.split(".")[:parts] != saved[library].split(".")[:parts]:
            raise ModelFileError(f"{folder}: saved with {library} {saved[library]}, installed is "
                                 f"{installed}; the {'major.minor' if parts == 2 else 'major'} version "
                                 "must match to load this state — retrain or install that version")


def _library_versions(detector: Detector) -> dict[str, str]:
    names = ["fraudstream", "numpy", "pandas", *type(detector).libraries]
    versions = {"python": platform.python_version()}
    for name in names:
        version = _version(name)
        if version is not None:
            versions[name] = version
    return versions


def _version(name: str) -> str | None:
    try:
        return importlib_metadata.version(name).split("+")[0]
    except importlib_metadata.PackageNotFoundError:
        return None


def _file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` except the top-level metadata, by relative path."""
    hashes = {}
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = file.relative_to(folder).as_posix()
        if relative != _METADATA:
            hashes[relative] = hashlib.sha256(file.read_bytes()).hexdigest()
    return hashes


def _content_hash(document: Mapping[str, Any]) -> str:
    body = {k: v for k, v in document.items() if k != "content_hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def _saved_params(detector: Detector) -> dict[str, Any]:
    params = detector.get_params()
    return params if not hasattr(detector, "_params_for_metadata") else detector._params_for_metadata()


def _jsonable(value: Any) -> Any:
    """``value`` with tuples as lists, numpy scalars as Python numbers, paths as strings."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ModelFileError(f"metadata value {value!r} of type {type(value).__name__} is not JSON-serialisable")
