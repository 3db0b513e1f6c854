"""A LightGBM binary model compiled into numpy tables and scored by numba kernels.

LightGBM's ``Booster.predict`` costs about 35 us per row with a few hundred trees, mostly
per-row overhead and a branchy walk down each tree. :class:`TreeScorer` flattens the model once
and scores a micro-batch with the **leaf bitvector** method (QuickScorer, Lucchese et al. 2015,
evaluated exhaustively so that it vectorises):

- the leaves of a tree are numbered left to right (at most 64: one ``uint64`` per row and tree,
  all bits set at the start);
- every split node carries the mask of the leaves of its **left** subtree; when a row goes right
  at a node, those leaves become unreachable and their bits are cleared (``reach &= mask``);
- after all nodes of the tree, the row's exit leaf is the lowest bit still set.

No row follows a path: every node of a tree is evaluated for a block of rows at once
(``columns[feature, rows] > threshold`` over contiguous memory: a compare, an or and an and per
row, in SIMD), so unbalanced or deep trees cost no branch mispredictions. The same pass gives the
raw score (leaf values summed in tree order, as LightGBM does), the leaf index of every row and
tree (LightGBM's ``pred_leaf``) and the **path contributions** (Saabas: each split's change of
the node value, credited to its feature): once the exit leaves are known, a node adds its left
(right) child's value minus its own to the rows whose exit leaf lies in its left (right) subtree,
again one vectorised pass per node.

Split semantics are LightGBM's (``Tree::NumericalDecision``): a row goes left when
``x <= threshold``; values with ``|x| <= 1e-35`` count as zero; NaN counts as zero when the node's
missing type is ``None`` and goes to the default side when it is ``NaN``; with missing type
``Zero``, zero and NaN go to the default side. Thresholds are the exact doubles of the model dump
(17 significant digits; its ``1e300`` stands for infinity). Raw scores equal
``Booster.predict(raw_score=True)`` bit for bit in our tests, probabilities to the last digit.

Models the tables cannot hold are refused with :class:`~fraudstream.errors.ModelFileError`
naming the reason (categorical splits, linear trees, more than 64 leaves in a tree, several trees
per iteration, averaged output, an objective other than binary): the caller falls back to
LightGBM.

>>> import lightgbm as lgb
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(500, 3))
>>> X[::7, 1] = np.nan
>>> booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, (X[:, 0] > 0.5).astype(int)), 20)
>>> scorer = TreeScorer.from_booster(booster)
>>> bool(np.array_equal(scorer.raw_many(X), booster.predict(X, raw_score=True)))
True
>>> bool(np.array_equal(scorer.leaves_many(X), booster.predict(X, pred_leaf=True)))
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np

from fraudstream.errors import InvalidRecord, ModelFileError

__all__ = ["MAX_LEAVES", "TreeScorer"]

MAX_LEAVES = 64
"""Leaves per tree that the bitvector (one ``uint64`` per row and tree) can hold."""

_ZERO = float(np.float32(1e-35))
"""LightGBM's ``kZeroThreshold`` (a float, as a double): inputs with ``|x| <= _ZERO`` are zero."""

_AVOID_INF = 1e300
"""``dump_model``'s stand-in for an infinite threshold."""

_BLOCK = 1024
"""Rows per block: their feature columns (``features x 1024`` doubles) stay in L2; a micro-batch
of 1,000 is one block."""

# node kinds: how a node treats NaN (and, with missing type Zero, zero)
_NAN_LEFT, _NAN_RIGHT, _MISSING_LEFT, _MISSING_RIGHT = 0, 1, 2, 3
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True, eq=False)
class TreeScorer:
    """The compiled tables of one model; build with :meth:`from_booster`.

    Node ``k`` of tree ``t`` (``node_start[t] <= k < node_start[t + 1]``) tests
    ``node_feature[k]`` against ``node_threshold[k]`` (``node_kind[k]``: where NaN and zero go)
    and, when the row goes right, keeps only the leaves in ``node_mask[k]``. Its subtree holds
    leaves ``node_first[k] <= b < node_end[k]``, its left subtree those below ``node_middle[k]``;
    a row whose exit leaf is in the left (right) subtree gets ``node_left_delta[k]``
    (``node_right_delta[k]``), the child's value minus the node's, added to the contribution of
    ``node_feature[k]``. Leaf ``b`` (left to right) of tree ``t`` sits at ``t * 64 + b`` in
    ``leaf_value`` and ``leaf_index`` (LightGBM's leaf number).
    """

    n_features: int
    node_start: np.ndarray
    node_feature: np.ndarray
    node_threshold: np.ndarray
    node_kind: np.ndarray
    node_mask: np.ndarray
    node_first: np.ndarray
    node_middle: np.ndarray
    node_end: np.ndarray
    node_left_delta: np.ndarray
    node_right_delta: np.ndarray
    leaf_value: np.ndarray
    leaf_index: np.ndarray
    bias: float
    """Sum of the root values: raw score = bias + sum of the path contributions (up to rounding)."""
    sigmoid: float

    @property
    def n_trees(self) -> int:
        return len(self.node_start) - 1

    @classmethod
    def from_booster(cls, booster: Any, num_iteration: int | None = None) -> TreeScorer:
        """Compile the first ``num_iteration`` trees of a LightGBM ``Booster`` (all when ``None``)
        from its ``dump_model()``; raises :class:`ModelFileError` for models it cannot hold."""
        return _compile(booster.dump_model(num_iteration=num_iteration))

    # -- scoring ------------------------------------------------------------------------------
    def raw_many(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds), as ``Booster.predict(X, raw_score=True)``."""
        raw, _, _ = self._run(X, leaves=False, paths=False)
        return raw

    def probability_many(self, X: np.ndarray) -> np.ndarray:
        """Fraud probabilities, as ``Booster.predict(X)``."""
        return self.probability(self.raw_many(X))

    def leaves_many(self, X: np.ndarray) -> np.ndarray:
        """LightGBM leaf index of every row and tree, shape ``(rows, trees)``, as
        ``Booster.predict(X, pred_leaf=True)``."""
        _, leaves, _ = self._run(X, leaves=True, paths=False)
        return leaves

    def paths_many(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(raw, contributions)``: raw scores and path contributions, shape ``(rows, features)``,
        in one pass; ``bias + contributions.sum(axis=1)`` equals ``raw`` up to rounding."""
        raw, _, contributions = self._run(X, leaves=False, paths=True)
        return raw, contributions

    def probability(self, raw: np.ndarray) -> np.ndarray:
        """LightGBM's binary transform of raw scores: ``1 / (1 + exp(-sigmoid * raw))``."""
        return 1.0 / (1.0 + np.exp(-self.sigmoid * raw))

    def _run(self, X: np.ndarray, *, leaves: bool, paths: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        values = np.asarray(X, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.n_features:
            raise InvalidRecord(f"TreeScorer: X must have shape (rows, {self.n_features}), got {values.shape}")
        n = len(values)
        raw = np.zeros(n)
        leaf_out = np.zeros((n, self.n_trees) if leaves else (0, 0), np.int32)
        contributions = np.zeros((n, self.n_features) if paths else (0, 0))
        if n:
            _evaluate(values, self.node_start, self.node_feature, self.node_threshold, self.node_kind,
                      self.node_mask, self.node_first, self.node_middle, self.node_end, self.node_left_delta,
                      self.node_right_delta, self.leaf_value, self.leaf_index, raw, leaf_out, contributions)
        return raw, leaf_out, contributions


# -- compiling ---------------------------------------------------------------------------------
def _compile(dump: dict[str, Any]) -> TreeScorer:
    objective = str(dump.get("objective", ""))
    if not objective.startswith("binary"):
        raise ModelFileError(f"TreeScorer compiles binary models only, got objective {objective!r}")
    if int(dump.get("num_tree_per_iteration", 1)) != 1 or dump.get("average_output", False):
        raise ModelFileError("TreeScorer compiles one tree per iteration without averaged output, got "
                             f"num_tree_per_iteration={dump.get('num_tree_per_iteration')}, "
                             f"average_output={dump.get('average_output')}")
    sigmoid = next((float(p.split(":")[1]) for p in objective.split() if p.startswith("sigmoid:")), 1.0)
    tables = _Tables(list(dump.get("feature_names", [])))
    for t, info in enumerate(dump["tree_info"]):
        if int(info.get("num_leaves", 1)) > MAX_LEAVES:
            raise ModelFileError(f"TreeScorer: tree {t} has {info['num_leaves']} leaves; at most "
                                 f"{MAX_LEAVES} are allowed")
        tables.add_tree(t, info["tree_structure"])
    return TreeScorer(
        n_features=int(dump["max_feature_idx"]) + 1,
        node_start=np.array(tables.node_start, np.int64),
        **{name: np.array(values, dtype) for name, (values, dtype) in tables.columns.items()},
        bias=tables.bias,
        sigmoid=sigmoid,
    )


def _node_value(node: dict[str, Any]) -> float:
    return float(node["internal_value"] if "split_feature" in node else node["leaf_value"])


class _Tables:
    """The tables as lists, filled one tree at a time."""

    def __init__(self, feature_names: list[str]) -> None:
        self.feature_names = feature_names
        self.node_start = [0]
        self.bias = 0.0
        self.columns: dict[str, tuple[list[Any], Any]] = {
            name: ([], dtype) for name, dtype in (
                ("node_feature", np.int64), ("node_threshold", np.float64), ("node_kind", np.int8),
                ("node_mask", np.uint64), ("node_first", np.int64), ("node_middle", np.int64),
                ("node_end", np.int64), ("node_left_delta", np.float64), ("node_right_delta", np.float64),
                ("leaf_value", np.float64), ("leaf_index", np.int32))
        }

    def add_tree(self, t: int, root: dict[str, Any]) -> None:
        self.bias += _node_value(root)
        leaves: list[dict[str, Any]] = []
        self._walk(t, root, leaves)
        for position in range(MAX_LEAVES):
            leaf = leaves[position] if position < len(leaves) else {"leaf_value": 0.0}
            self.columns["leaf_value"][0].append(float(leaf["leaf_value"]))
            self.columns["leaf_index"][0].append(int(leaf.get("leaf_index", 0)))
        self.node_start.append(len(self.columns["node_feature"][0]))

    def _walk(self, t: int, node: dict[str, Any], leaves: list[dict[str, Any]]) -> None:
        """Depth first, left before right, so that leaves are numbered left to right; a node is
        added after its subtree (the ranges of its leaves are known then)."""
        if "split_feature" not in node:
            if "leaf_coeff" in node:
                raise ModelFileError(f"TreeScorer: tree {t} is a linear tree (linear_tree=true); not supported")
            leaves.append(node)
            return
        feature = int(node["split_feature"])
        if node.get("decision_type", "<=") != "<=":
            name = self.feature_names[feature] if feature < len(self.feature_names) else feature
            raise ModelFileError(f"TreeScorer: tree {t} has a categorical split on feature {name!r} "
                                 f"(decision_type {node.get('decision_type')!r}); only numerical '<=' "
                                 "splits are supported")
        first = len(leaves)
        self._walk(t, node["left_child"], leaves)
        middle = len(leaves)
        self._walk(t, node["right_child"], leaves)
        threshold, kind = _split_rule(float(node["threshold"]), str(node.get("missing_type", "None")),
                                      bool(node.get("default_left", True)))
        value = _node_value(node)
        row = {
            "node_feature": feature, "node_threshold": threshold, "node_kind": kind,
            "node_mask": 0xFFFFFFFFFFFFFFFF ^ (((1 << (middle - first)) - 1) << first),
            "node_first": first, "node_middle": middle, "node_end": len(leaves),
            "node_left_delta": _node_value(node["left_child"]) - value,
            "node_right_delta": _node_value(node["right_child"]) - value,
        }
        for name, item in row.items():
            self.columns[name][0].append(item)


def _split_rule(threshold: float, missing_type: str, default_left: bool) -> tuple[float, int]:
    """``(threshold, kind)`` so that the kernel's plain comparison follows LightGBM.

    Missing type ``None``: NaN is taken as 0, so it goes left when ``0 <= threshold``.
    ``None`` and ``NaN``: LightGBM reads ``|x| <= 1e-35`` as 0; a threshold inside that band is
    moved to its edge so that such tiny inputs fall on the side of 0 without a per-row test.
    An infinite threshold (NaN against every number) is written as ``1e300`` by ``dump_model``
    (the text format keeps ``inf``); it is read back as infinite.

    >>> _split_rule(-2.5, "None", True), _split_rule(0.5, "NaN", False), _split_rule(1e300, "NaN", False)
    ((-2.5, 1), (0.5, 1), (inf, 1))
    >>> _split_rule(0.0, "None", False)[0] == float(np.float32(1e-35))
    True
    """
    if abs(threshold) >= _AVOID_INF:
        threshold = math.copysign(math.inf, threshold)
    if missing_type == "Zero":
        return threshold, _MISSING_LEFT if default_left else _MISSING_RIGHT
    if missing_type not in ("None", "NaN"):
        raise ModelFileError(f"TreeScorer: missing_type must be None, Zero or NaN, got {missing_type!r}")
    nan_left = threshold >= 0.0 if missing_type == "None" else default_left
    if 0.0 <= threshold < _ZERO:
        threshold = _ZERO
    elif -_ZERO <= threshold < 0.0:
        threshold = float(np.nextafter(-_ZERO, -np.inf))
    return threshold, _NAN_LEFT if nan_left else _NAN_RIGHT


# -- kernel ------------------------------------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _lowest_bit(v: np.uint64) -> int:  # pragma: no cover - numba
    """Index of the lowest set bit of ``v != 0``: the power of two ``v & -v`` of each 32-bit half
    placed in the mantissa of 2**52, its exponent read back (no branch, no table)."""
    low_half = v & np.uint64(0xFFFFFFFF)
    half = low_half if low_half != 0 else v >> np.uint64(32)
    power = half & (~half + np.uint64(1))
    shifted = np.float64(np.uint64(power | np.uint64(0x4330000000000000)).view(np.float64) - 4503599627370496.0)
    return (shifted.view(np.int64) >> 52) - 1023 + (0 if low_half != 0 else 32)


@nb.njit(cache=True)
def _evaluate(X, node_start, node_feature, node_threshold, node_kind, node_mask, node_first, node_middle,
              node_end, node_left_delta, node_right_delta, leaf_value, leaf_index, raw, leaves,
              contributions):  # pragma: no cover - numba
    """Adds each row's leaf values into ``raw`` (tree by tree, in order); fills ``leaves`` and
    adds the path contributions into ``contributions`` when they have rows."""
    n, n_features = X.shape
    trees = len(node_start) - 1
    want_leaves = leaves.shape[0] > 0
    want_paths = contributions.shape[0] > 0
    block = min(n, _BLOCK)
    columns = np.empty((n_features, block))
    sums = np.empty((n_features if want_paths else 0, block))
    reach = np.empty(block, np.uint64)
    exit_bit = np.empty(block, np.int64)
    for first in range(0, n, block):
        m = min(block, n - first)
        for j in range(m):
            for f in range(n_features):
                columns[f, j] = X[first + j, f]
        sums[:, :m] = 0.0
        for t in range(trees):
            reach[:m] = _ALL
            for k in range(node_start[t], node_start[t + 1]):
                xs = columns[node_feature[k]]
                threshold = node_threshold[k]
                mask = node_mask[k]
                kind = node_kind[k]
                if kind == _NAN_LEFT:
                    for j in range(m):
                        reach[j] &= mask if xs[j] > threshold else _ALL
                elif kind == _NAN_RIGHT:
                    for j in range(m):
                        reach[j] &= _ALL if xs[j] <= threshold else mask
                else:
                    missing_right = kind == _MISSING_RIGHT
                    for j in range(m):
                        x = xs[j]
                        right = (x > threshold) if abs(x) > _ZERO else missing_right
                        reach[j] &= mask if right else _ALL
            base = t * 64
            for j in range(m):
                exit_bit[j] = _lowest_bit(reach[j])
            for j in range(m):
                raw[first + j] += leaf_value[base + exit_bit[j]]
            if want_leaves:
                for j in range(m):
                    leaves[first + j, t] = leaf_index[base + exit_bit[j]]
            if want_paths:  # a node's delta goes to the rows whose exit leaf is in its left / right subtree
                for k in range(node_start[t], node_start[t + 1]):
                    low = node_first[k]
                    left_width = node_middle[k] - low
                    width = node_end[k] - low
                    left_delta = node_left_delta[k]
                    right_delta = node_right_delta[k]
                    feature_sums = sums[node_feature[k]]
                    for j in range(m):
                        offset = exit_bit[j] - low
                        inside = np.uint64(offset) < np.uint64(width)
                        delta = left_delta if offset < left_width else right_delta
                        feature_sums[j] += delta if inside else 0.0
        if want_paths:
            for j in range(m):
                for f in range(n_features):
                    contributions[first + j, f] = sums[f, j]
