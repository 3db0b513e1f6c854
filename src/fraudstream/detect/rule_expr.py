"""A tiny, safe expression language for rule conditions, evaluated column-wise.

A condition such as ``amount > 3 * customer_mean_30d and customer_count_1h >= 5`` is parsed with
Python's :mod:`ast` (parsing only — nothing is ever passed to ``eval``) and every node is checked
against a whitelist; the result is a tree of numpy operations over whole columns.

Allowed: numbers, ``True``/``False``, quoted strings (for ``==``/``!=`` only), feature names,
``+ - * / %``, unary ``-``, comparisons ``< <= > >= == !=`` (chains such as ``0 <= hour < 6`` too),
``and``, ``or``, ``not``, parentheses, and the function ``abs(...)``. Comparisons with a missing
value (NaN) are false; division by zero gives ``inf``/``nan`` without a warning.

>>> import numpy as np
>>> condition = compile_condition("amount > 3 * customer_mean_30d and not is_night")
>>> sorted(condition.features)
['amount', 'customer_mean_30d', 'is_night']
>>> condition.evaluate({"amount": np.array([100.0, 10.0]), "customer_mean_30d": np.array([20.0, 20.0]),
...                     "is_night": np.array([False, False])}).tolist()
[True, False]
>>> compile_condition("__import__('os')")
Traceback (most recent call last):
...
fraudstream.errors.ConfigError: condition "__import__('os')": function __import__ is not allowed \
(only abs)
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from fraudstream.errors import ConfigError

__all__ = ["Condition", "compile_condition"]

Columns = Mapping[str, np.ndarray]
Node = Callable[[Columns], np.ndarray]

_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
           ast.Mod: np.mod}
_COMPARE = {ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}
_ALLOWED = "numbers, feature names, + - * / %, comparisons, and/or/not, parentheses, abs()"


@dataclass(frozen=True)
class Condition:
    """A compiled condition: ``evaluate(columns)`` gives one bool per row."""

    text: str
    features: frozenset[str]
    _root: Node

    def evaluate(self, columns: Columns) -> np.ndarray:
        """Evaluate over ``columns`` (name -> 1-D array, all the same length)."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = self._root(columns)
        return np.asarray(result, dtype=bool)


def compile_condition(text: str) -> Condition:
    """Parse and check ``text``; raise :class:`ConfigError` naming the offending part."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"condition must be a non-empty string, got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"condition {text!r}: syntax error at column {exc.offset}: {exc.msg}") from None
    names: set[str] = set()
    root = _Compiler(text, names).node(tree.body)
    return Condition(text=text, features=frozenset(names), _root=root)


class _Compiler:
    def __init__(self, text: str, names: set[str]) -> None:
        self.text = text
        self.names = names

    def fail(self, node: ast.AST, what: str) -> ConfigError:
        return ConfigError(f"condition {self.text!r}: {what}")

    def node(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            func, left, right = _BINARY[type(node.op)], self.node(node.left), self.node(node.right)
            return lambda c: func(_numeric(left(c)), _numeric(right(c)))
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BoolOp):
            parts = [self.node(v) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

            def boolean(c: Columns) -> np.ndarray:
                result = _truth(parts[0](c))
                for part in parts[1:]:
                    result = combine(result, _truth(part(c)))
                return result

            return boolean
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"{type(node).__name__} is not allowed; allowed: {_ALLOWED}")

    def constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool | int | float | str):
            return lambda c: value
        raise self.fail(node, f"constant {value!r} is not allowed; use numbers, True/False or strings")

    def name(self, identifier: str) -> Node:
        if identifier in {"True", "False"}:  # pragma: no cover - parsed as Constant
            raise self.fail(ast.Name(identifier), "unexpected name")
        self.names.add(identifier)
        return lambda c: c[identifier]

    def unary(self, node: ast.UnaryOp) -> Node:
        operand = self.node(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda c: np.logical_not(_truth(operand(c)))
        if isinstance(node.op, ast.USub):
            return lambda c: np.negative(_numeric(operand(c)))
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.fail(node, f"operator {type(node.op).__name__} is not allowed; allowed: {_ALLOWED}")

    def compare(self, node: ast.Compare) -> Node:
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise self.fail(node, f"comparison {type(op).__name__} is not allowed; use < <= > >= == !=")
        operands = [self.node(node.left)] + [self.node(c) for c in node.comparators]
        ops = [_COMPARE[type(op)] for op in node.ops]

        def chain(c: Columns) -> np.ndarray:
            values = [operand(c) for operand in operands]
            result = None
            for op, left, right in zip(ops, values[:-1], values[1:], strict=True):
                step = np.asarray(op(left, right), dtype=bool)
                result = step if result is None else np.logical_and(result, step)
            return result

        return chain

    def call(self, node: ast.Call) -> Node:
        name = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
        if name != "abs":
            raise self.fail(node, f"function {name} is not allowed (only abs)")
        if len(node.args) != 1 or node.keywords:
            raise self.fail(node, "abs() takes exactly one argument")
        inner = self.node(node.args[0])
        return lambda c: np.abs(_numeric(inner(c)))


def _numeric(value: object) -> np.ndarray | float:
    if isinstance(value, str):
        raise ConfigError(f"string {value!r} used in arithmetic; strings may only be compared with == or !=")
    array = np.asarray(value)
    return array.astype(np.float64) if array.dtype == bool else array


def _truth(value: object) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == bool:
        return array
    return np.asarray(np.nan_to_num(array.astype(np.float64), nan=0.0) != 0)
