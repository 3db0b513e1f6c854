"""Declarative rules, read from YAML or JSON, evaluated column-wise, changeable while a stream runs.

A rules file is a list of rules, or a mapping ``{"rules": [...], "combine": "max", "threshold": 0.5}``.
Each rule has an ``id``, a ``score`` in [0, 1] (default 1) and a ``state`` (``active`` or
``paused``), and one of these forms:

=================  =====================================================================
form               fields
=================  =====================================================================
expression         ``when: "amount > 3 * customer_mean_30d"`` (see :mod:`.rule_expr`)
threshold          ``feature``, ``op`` (``> >= < <= == !=``), and ``value``, or ``other`` with an
                   optional ``factor`` (``amount > 3 * customer_mean_30d``)
``kind: count``    ``at_least`` N and ``within_minutes`` M over the feature
                   ``{entity}_count_{window}`` (entity default ``customer``; 60 -> ``1h``,
                   1440 -> ``24h``, 10080 -> ``7d``, else ``{M}m``) or an explicit ``feature``
``kind: night``    ``feature`` (default ``hour``, 0-23), ``from_hour`` (0), ``to_hour`` (6),
                   inclusive, wrapping midnight when from_hour > to_hour
``kind: round_amount``  ``feature`` (default ``amount``), ``multiple`` (100), ``min_amount``
                   (= multiple): amount is a whole multiple (to the cent) and >= min_amount
=================  =====================================================================

The score of a row is the largest score of the active rules that fire (``combine: max``) or
``1 - prod(1 - score)`` over them (``combine: noisy_or``); 0 when none fires.

>>> import pandas as pd
>>> detector = RuleDetector(rules=[
...     {"id": "big_amount", "when": "amount > 3 * customer_mean_30d", "score": 0.8},
...     {"id": "huge", "feature": "amount", "op": ">", "value": 1000, "score": 0.9}]).fit(
...     pd.DataFrame({"amount": [10.0], "customer_mean_30d": [10.0]}))
>>> X = pd.DataFrame({"amount": [20.0, 50.0, 2000.0], "customer_mean_30d": [10.0, 10.0, 10.0]})
>>> detector.score_many(X).tolist()
[0.0, 0.8, 0.9]
>>> detector.reasons_many(X)[2]
[('huge', 0.9), ('big_amount', 0.8)]
>>> detector.pause("huge").score_many(X).tolist()
[0.0, 0.8, 0.8]
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fraudstream.detect.base import Detector, Reason, as_frame, top_reasons
from fraudstream.detect.rule_expr import Condition, compile_condition
from fraudstream.detect.rule_watch import RuleWatcher, read_rules_file
from fraudstream.errors import ConfigError, InvalidRecord, NotFittedError

__all__ = ["COMBINE_METHODS", "Rule", "RuleDetector", "RuleSet", "parse_rule", "parse_rules"]

log = logging.getLogger(__name__)

COMBINE_METHODS = ("max", "noisy_or")
_STATES = ("active", "paused")
_OPS = (">", ">=", "<", "<=", "==", "!=")
_COMMON = {"id", "score", "state", "description", "kind"}
_FIELDS = {
    "expression": {"when"},
    "threshold": {"feature", "op", "value", "other", "factor"},
    "count": {"at_least", "within_minutes", "entity", "feature"},
    "night": {"feature", "from_hour", "to_hour"},
    "round_amount": {"feature", "multiple", "min_amount"},
}


@dataclass(frozen=True)
class Rule:
    """One compiled rule; ``spec`` is the mapping it was read from (saved back as is)."""

    id: str
    score: float
    state: str
    condition: Condition
    spec: dict[str, Any] = field(compare=False)


def parse_rule(spec: Any, position: int = 0) -> Rule:
    """Validate one rule mapping and compile its condition.

    >>> parse_rule({"id": "burst", "kind": "count", "at_least": 5, "within_minutes": 60}).condition.text
    'customer_count_1h >= 5'
    >>> parse_rule({"id": "x", "feature": "amount", "op": "=>", "value": 1})
    Traceback (most recent call last):
    ...
    fraudstream.errors.ConfigError: rule x: field op must be one of > >= < <= == !=, got '=>'
    """
    if not isinstance(spec, dict):
        raise ConfigError(f"rule #{position}: must be a mapping, got {type(spec).__name__}")
    rule_id = spec.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ConfigError(f"rule #{position}: field id must be a non-empty string, got {rule_id!r}")
    name = f"rule {rule_id}"
    kind = spec.get("kind") or ("expression" if "when" in spec else "threshold")
    if kind not in _FIELDS:
        raise ConfigError(f"{name}: field kind must be one of {', '.join(_FIELDS)}, got {kind!r}")
    unknown = sorted(set(spec) - _COMMON - _FIELDS[kind])
    if unknown:
        raise ConfigError(f"{name}: unknown field {unknown[0]} for a {kind} rule; "
                          f"allowed: {', '.join(sorted(_COMMON | _FIELDS[kind]))}")
    score = spec.get("score", 1.0)
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise ConfigError(f"{name}: field score must be a number in [0, 1], got {score!r}")
    state = spec.get("state", "active")
    if state not in _STATES:
        raise ConfigError(f"{name}: field state must be active or paused, got {state!r}")
    text = _condition_text(name, kind, spec)
    try:
        condition = compile_condition(text)
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return Rule(id=rule_id, score=float(score), state=state, condition=condition, spec=dict(spec))


def parse_rules(specs: Iterable[Any]) -> tuple[Rule, ...]:
    """Validate a list of rule mappings; ids must be unique."""
    rules = tuple(parse_rule(spec, i) for i, spec in enumerate(specs))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ConfigError(f"rule {rule.id}: duplicate id; every rule needs its own id")
        seen.add(rule.id)
    return rules


@dataclass(frozen=True)
class RuleSet:
    """An immutable set of rules; changes return a new RuleSet (swapped atomically by the detector)."""

    rules: tuple[Rule, ...]
    combine: str = "max"

    @classmethod
    def from_specs(cls, specs: Any, combine: str | None = None) -> RuleSet:
        """Build from a list of rule mappings or a mapping ``{"rules": [...], "combine": ...}``."""
        if isinstance(specs, dict):
            unknown = sorted(set(specs) - {"rules", "combine", "threshold"})
            if unknown:
                raise ConfigError(f"rules file: unknown top-level field {unknown[0]}; "
                                  "allowed: rules, combine, threshold")
            combine = combine or specs.get("combine")
            specs = specs.get("rules")
        if not isinstance(specs, list):
            raise ConfigError(f"rules must be a list of rule mappings, got {type(specs).__name__}")
        combine = combine or "max"
        if combine not in COMBINE_METHODS:
            raise ConfigError(f"combine must be one of {', '.join(COMBINE_METHODS)}, got {combine!r}")
        return cls(rules=parse_rules(specs), combine=combine)

    @property
    def active(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.state == "active")

    @property
    def features(self) -> list[str]:
        """Feature columns the active rules read, sorted."""
        return sorted(set().union(*(r.condition.features for r in self.active)))

    def to_specs(self) -> list[dict[str, Any]]:
        """The rule mappings, with their current state."""
        return [{**r.spec, "state": r.state} for r in self.rules]

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise ConfigError(f"rule {rule_id}: no such rule; known: {', '.join(r.id for r in self.rules)}")

    def with_rule(self, spec: dict[str, Any]) -> RuleSet:
        """Add a rule, or replace the rule with the same id."""
        rule = parse_rule(spec, len(self.rules))
        kept = tuple(r for r in self.rules if r.id != rule.id)
        return replace(self, rules=(*kept, rule))

    def without(self, rule_id: str) -> RuleSet:
        self.get(rule_id)
        return replace(self, rules=tuple(r for r in self.rules if r.id != rule_id))

    def with_state(self, rule_id: str, state: str) -> RuleSet:
        self.get(rule_id)
        return replace(self, rules=tuple(replace(r, state=state) if r.id == rule_id else r
                                         for r in self.rules))

    def fired(self, frame: pd.DataFrame, where: str = "rules") -> np.ndarray:
        """Bool matrix (rows x active rules): which rule fires on which row."""
        active = self.active
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            needing = next(r.id for r in active if missing[0] in r.condition.features)
            raise InvalidRecord(f"{where}: feature column {missing[0]} missing from X "
                                f"(needed by rule {needing})")
        columns = {name: _column(frame[name]) for name in self.features}
        matrix = np.zeros((len(frame), len(active)), dtype=bool)
        for j, rule in enumerate(active):
            matrix[:, j] = np.broadcast_to(rule.condition.evaluate(columns), len(frame))
        return matrix

    def score(self, frame: pd.DataFrame, where: str = "rules") -> np.ndarray:
        fired = self.fired(frame, where)
        weights = np.array([r.score for r in self.active], dtype=np.float64)
        if fired.shape[1] == 0:
            return np.zeros(len(frame), dtype=np.float64)
        if self.combine == "max":
            return (fired * weights).max(axis=1)
        return 1.0 - np.prod(1.0 - fired * weights, axis=1)


class RuleDetector(Detector):
    """Rules as a detector. ``rules``: a path to a YAML/JSON rules file or a list of rule mappings.

    Scoring reads the current :class:`RuleSet` once per batch, so ``reload``, ``add_rule``,
    ``pause``, ``resume``, ``delete`` and :meth:`watch` may run in other threads while a stream
    is scored: each batch sees either the old or the new rules, never a mix.
    """

    kind: ClassVar[str] = "rules"
    libraries: ClassVar[dict[str, int]] = {}
    numeric_only: ClassVar[bool] = False

    def __init__(self, rules: Any = None, combine: str | None = None, threshold: float = 0.5) -> None:
        self.rules = rules
        self.combine = combine
        self.threshold = threshold

    def _validate_params(self) -> None:
        self._lock = threading.Lock()
        source = self.rules
        if source is None:
            raise ConfigError("rules must be a path to a rules file or a list of rule mappings, got None")
        specs = read_rules_file(source) if isinstance(source, str | Path) else source
        self.ruleset_ = RuleSet.from_specs(specs, self.combine)

    def _explicit_features(self) -> list[str] | None:
        return self.ruleset_.features

    def _choose_features(self, frame: pd.DataFrame) -> list[str]:
        features = self.ruleset_.features
        missing = [f for f in features if f not in frame.columns]
        if missing:
            self.ruleset_.fired(frame, f"{type(self).__name__}.fit")  # raises naming the rule
        return features

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None) -> None:
        self.threshold_ = float(self.threshold)

    def _score(self, X: pd.DataFrame) -> np.ndarray:  # pragma: no cover - score_many is overridden
        return self.ruleset_.score(X)

    def _check_fitted(self) -> None:
        if not hasattr(self, "ruleset_"):
            raise NotFittedError("RuleDetector is not fitted yet: call fit(X) first")

    def score_many(self, X: Any) -> np.ndarray:
        self._check_fitted()
        ruleset = self.ruleset_  # one read: the batch is scored by one consistent rule set
        return ruleset.score(as_frame(X, "RuleDetector.score_many"), "RuleDetector.score_many")

    def reasons_many(self, X: Any, top: int = 3) -> list[list[Reason]]:
        """The ids of the rules that fired, highest score first, weighted by rule score."""
        if top < 1:
            raise ConfigError(f"top must be >= 1, got {top}")
        self._check_fitted()
        ruleset = self.ruleset_
        frame = as_frame(X, "RuleDetector.reasons_many")
        fired = ruleset.fired(frame, "RuleDetector.reasons_many")
        weights = fired * np.array([r.score for r in ruleset.active], dtype=np.float64)
        return top_reasons(weights, [r.id for r in ruleset.active], top)

    # -- persistence (used by fraudstream.detect.registry): plain JSON, no pickle ------------------
    def _save_state(self, folder: Path) -> list[str]:
        ruleset = self.ruleset_
        document = {"combine": ruleset.combine, "rules": ruleset.to_specs()}
        (folder / "rules.json").write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
        return ["rules.json"]

    def _load_state(self, folder: Path) -> None:
        self._lock = threading.Lock()
        self.ruleset_ = RuleSet.from_specs(read_rules_file(folder / "rules.json"))

    # -- changes at run time ------------------------------------------------------------------
    def _swap(self, ruleset: RuleSet) -> RuleDetector:
        self.ruleset_ = ruleset  # a single reference assignment: atomic for readers
        self.feature_names_ = ruleset.features
        log.info("rules now: %s", ", ".join(f"{r.id}({r.state})" for r in ruleset.rules) or "none")
        return self

    def _change(self, change: Any) -> RuleDetector:
        self._check_fitted()
        with self._lock:
            return self._swap(change(self.ruleset_))

    def reload(self, path: str | Path) -> RuleDetector:
        """Read ``path`` and swap in its rules; on any error the current rules stay in place."""
        specs = read_rules_file(path)
        combine = self.combine
        return self._change(lambda _old: RuleSet.from_specs(specs, combine))

    def add_rule(self, spec: dict[str, Any]) -> RuleDetector:
        """Add a rule (or replace the one with the same id)."""
        return self._change(lambda old: old.with_rule(spec))

    def pause(self, rule_id: str) -> RuleDetector:
        return self._change(lambda old: old.with_state(rule_id, "paused"))

    def resume(self, rule_id: str) -> RuleDetector:
        return self._change(lambda old: old.with_state(rule_id, "active"))

    def delete(self, rule_id: str) -> RuleDetector:
        return self._change(lambda old: old.without(rule_id))

    def watch(self, path: str | Path, interval_s: float = 1.0) -> RuleWatcher:
        """Start a thread that reloads ``path`` whenever its content changes; ``.stop()`` ends it."""
        self._check_fitted()
        return RuleWatcher(path, self.reload, interval_s).start()


def _column(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return series.to_numpy()


def _condition_text(name: str, kind: str, spec: dict[str, Any]) -> str:
    if kind == "expression":
        when = spec.get("when")
        if not isinstance(when, str):
            raise ConfigError(f"{name}: field when must be a string condition, got {when!r}")
        return when
    if kind == "threshold":
        feature = _identifier(name, spec, "feature", None)
        op = spec.get("op")
        if op not in _OPS:
            raise ConfigError(f"{name}: field op must be one of {' '.join(_OPS)}, got {op!r}")
        if ("value" in spec) == ("other" in spec):
            raise ConfigError(f"{name}: give exactly one of field value or field other (with factor)")
        if "value" in spec:
            return f"{feature} {op} {_number(name, spec, 'value', None)!r}"
        other = _identifier(name, spec, "other", None)
        return f"{feature} {op} {_number(name, spec, 'factor', 1.0)!r} * {other}"
    if kind == "count":
        at_least = _number(name, spec, "at_least", None)
        if "feature" in spec:
            feature = _identifier(name, spec, "feature", None)
        else:
            minutes = _number(name, spec, "within_minutes", None)
            entity = _identifier(name, spec, "entity", "customer")
            feature = f"{entity}_count_{_window_name(name, minutes)}"
        return f"{feature} >= {at_least!r}"
    if kind == "night":
        feature = _identifier(name, spec, "feature", "hour")
        start, end = _number(name, spec, "from_hour", 0), _number(name, spec, "to_hour", 6)
        for field_name, hour in (("from_hour", start), ("to_hour", end)):
            if not 0 <= hour <= 23:
                raise ConfigError(f"{name}: field {field_name} must be an hour 0-23, got {hour!r}")
        joiner = "and" if start <= end else "or"
        return f"{feature} >= {start!r} {joiner} {feature} <= {end!r}"
    feature = _identifier(name, spec, "feature", "amount")
    multiple = _number(name, spec, "multiple", 100)
    if multiple <= 0:
        raise ConfigError(f"{name}: field multiple must be > 0, got {multiple!r}")
    minimum = _number(name, spec, "min_amount", multiple)
    half_cent = 0.005
    return (f"(abs({feature} % {multiple!r}) < {half_cent} or {feature} % {multiple!r} > "
            f"{multiple - half_cent!r}) and {feature} >= {minimum!r}")


def _identifier(name: str, spec: dict[str, Any], key: str, default: str | None) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str) or not value.isidentifier():
        raise ConfigError(f"{name}: field {key} must be a feature name (letters, digits, _), got {value!r}")
    return value


def _number(name: str, spec: dict[str, Any], key: str, default: float | None) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ConfigError(f"{name}: field {key} must be a number, got {value!r}")
    return value


def _window_name(name: str, minutes: float) -> str:
    if minutes <= 0 or minutes != int(minutes):
        raise ConfigError(f"{name}: field within_minutes must be a whole number > 0, got {minutes!r}")
    minutes = int(minutes)
    if minutes % 1440 == 0 and minutes // 1440 >= 7:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
