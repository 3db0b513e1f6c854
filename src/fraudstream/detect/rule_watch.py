"""Reading rules files (YAML or JSON) and watching one for changes while a stream runs.

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "rules.json"
>>> _ = path.write_text(json.dumps([{"id": "huge", "feature": "amount", "op": ">", "value": 220}]))
>>> read_rules_file(path)[0]["id"]
'huge'
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from fraudstream.errors import ConfigError

__all__ = ["RuleWatcher", "read_rules_file"]

log = logging.getLogger(__name__)


def read_rules_file(path: str | Path) -> Any:
    """The parsed content of a ``.yaml``/``.yml`` or ``.json`` rules file (not yet validated)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"rules file {path}: cannot be read ({exc.strerror or exc})") from None
    return _parse(path, text)


def _parse(path: Path, text: str) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix in {".yaml", ".yml"}:
            return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"rules file {path}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                          f"{exc.msg}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"rules file {path}: invalid YAML: {exc}") from None
    raise ConfigError(f"rules file {path}: suffix {suffix or '(none)'} not supported; use .yaml, .yml or .json")


class RuleWatcher:
    """A daemon thread that calls ``reload(path)`` whenever the file's content hash changes.

    Polls every ``interval_s`` (waiting on an Event, not busy-waiting). A file that fails to
    parse or validate is logged and skipped: the current rules stay in force. Use as a context
    manager or call :meth:`stop`.
    """

    def __init__(self, path: str | Path, reload: Callable[[Path], Any], interval_s: float = 1.0) -> None:
        if interval_s <= 0:
            raise ConfigError(f"interval_s must be > 0, got {interval_s}")
        self.path = Path(path)
        self.interval_s = interval_s
        self._reload = reload
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rules-watch:{self.path.name}", daemon=True)
        self._last_hash = self._hash()
        self.reloads = 0
        """How many times the rules were swapped."""
        self.errors = 0
        """How many changed versions of the file were rejected."""

    def start(self) -> RuleWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5 * self.interval_s + 1)

    def __enter__(self) -> RuleWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check(self) -> bool:
        """Reload now if the file changed; True when the rules were swapped."""
        digest = self._hash()
        if digest is None or digest == self._last_hash:
            return False
        self._last_hash = digest
        try:
            self._reload(self.path)
        except ConfigError as exc:
            self.errors += 1
            log.warning("rules file %s changed but was rejected, keeping the current rules: %s",
                        self.path, exc)
            return False
        self.reloads += 1
        return True

    def _hash(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check()
