"""The evaluation result: every metric of one scored test block, and the data of every figure.

:func:`evaluate_scores` computes, from labels and scores of the test rows (plus their day, card,
amount and fraud pattern): AP, ROC AUC, precision / recall / F1 / accuracy at the chosen
threshold, the confusion matrix, recall at 1 % FPR, P@k and Card Precision@k per day with the
oracle beside it, cost (missed fraud amount + investigations), recall per fraud pattern, and the
curves the report draws (PR, ROC, score histograms per class). Definitions: docs/evaluation.md.

>>> import numpy as np, pandas as pd
>>> y = np.array([0, 0, 1, 1, 0, 1]); s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
>>> days = pd.to_datetime(["2024-01-01"] * 3 + ["2024-01-02"] * 3, utc=True)
>>> result = evaluate_scores(y, s, threshold=0.5, days=days, cards=[1, 2, 3, 1, 2, 3], k=1)
>>> round(result.metrics["ap"], 4), result.metrics["confusion"]
(0.9167, {'tn': 3, 'fp': 0, 'fn': 1, 'tp': 2})
>>> result.metrics["cp_at_k"], result.metrics["cp_at_k_oracle"]
(0.5, 1.0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from fraudstream.errors import InvalidRecord
from fraudstream.evaluate import metrics

__all__ = ["EvaluationResult", "evaluate_scores", "per_day_precision_at_k"]

_MAX_CURVE_POINTS = 1000
_HISTOGRAM_BINS = 50


@dataclasses.dataclass
class EvaluationResult:
    """All metrics of one evaluation, and the data of every figure (JSON-ready)."""

    metrics: dict[str, Any]
    """ap, roc_auc, precision, recall, f1, accuracy, confusion, recall_at_1pct_fpr, p_at_k,
    cp_at_k, cp_at_k_oracle, k, cost, prevalence, rows, frauds."""
    threshold: dict[str, Any]
    """value, method (detector / alert_budget / target_precision), its parameter, chosen_on."""
    per_day: list[dict[str, Any]]
    """Per test day: day, p_at_k, card_precision, oracle, compromised_cards."""
    per_pattern: list[dict[str, Any]]
    """Per fraud pattern: pattern, frauds, detected, recall (at the threshold)."""
    figures: dict[str, Any]
    """pr_curve, roc_curve, score_distribution, confusion_matrix, feature_importance, pattern_recall,
    card_precision_per_day: the numbers each figure is drawn from."""
    context: dict[str, Any] = dataclasses.field(default_factory=dict)
    """What was evaluated: data, features, detector, split boundaries, rows removed, folds."""

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))

    def summary(self) -> dict[str, float]:
        """The headline numbers (one line of a results table)."""
        m = self.metrics
        return {
            "ap": m["ap"],
            "roc_auc": m["roc_auc"],
            f"cp_at_{m['k']}": m["cp_at_k"],
            f"cp_at_{m['k']}_oracle": m["cp_at_k_oracle"],
            "recall_at_1pct_fpr": m["recall_at_1pct_fpr"],
            "precision": m["precision"],
            "recall": m["recall"],
            "f1": m["f1"],
            "accuracy": m["accuracy"],
        }


def per_day_precision_at_k(days: Any, y: np.ndarray, scores: np.ndarray, k: int) -> pd.DataFrame:
    """Per day, the share of frauds among the ``k`` highest-scored transactions (divided by k)."""
    frame = pd.DataFrame({"day": np.asarray(days), "y": y, "s": scores})
    frame["rank"] = frame.groupby("day")["s"].rank(method="first", ascending=False)
    top = frame[frame["rank"] <= k]
    return top.groupby("day", sort=True)["y"].sum().div(k).rename("p_at_k").reset_index()


def evaluate_scores(
    y: Any,
    scores: Any,
    threshold: float,
    *,
    days: Any,
    cards: Any,
    amounts: Any = None,
    patterns: Any = None,
    k: int = 100,
    investigation_cost: float = 5.0,
    threshold_info: Mapping[str, Any] | None = None,
    importance: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> EvaluationResult:
    """Every metric and figure of the scored test rows (labels ``y``, ``scores`` higher = worse)."""
    labels = np.asarray(y).astype(np.int8)
    values = np.asarray(scores, dtype=np.float64)
    if labels.sum() == 0 or labels.sum() == len(labels):
        raise InvalidRecord(
            f"evaluation needs both classes in the test rows; got {int(labels.sum())} frauds "
            f"among {len(labels)} rows (choose a longer test period or another split)"
        )
    day_values = pd.Series(pd.DatetimeIndex(np.asarray(days)) if not isinstance(days, pd.Series) else days)
    day_values = (
        day_values.dt.floor("D").to_numpy()
        if pd.api.types.is_datetime64_any_dtype(day_values)
        else day_values.to_numpy()
    )
    money = np.ones(len(labels)) if amounts is None else np.asarray(amounts, dtype=np.float64)
    prf = metrics.precision_recall_f1(labels, values, threshold)
    confusion = {key: prf[key] for key in ("tn", "fp", "fn", "tp")}
    cp = metrics.card_precision_at_k(day_values, np.asarray(cards), labels, values, k=k)
    p_day = per_day_precision_at_k(day_values, labels, values, k)
    per_day = cp.per_day.merge(p_day, on="day", how="left").fillna({"p_at_k": 0.0})
    cost = metrics.cost(labels, values, money, threshold, investigation_cost)
    result_metrics = {
        "ap": metrics.average_precision(labels, values),
        "roc_auc": metrics.roc_auc(labels, values),
        "precision": prf["precision"],
        "recall": prf["recall"],
        "f1": prf["f1"],
        "accuracy": (confusion["tp"] + confusion["tn"]) / len(labels),
        "confusion": confusion,
        "recall_at_1pct_fpr": metrics.recall_at_fpr(labels, values, 0.01),
        "k": k,
        "p_at_k": float(per_day["p_at_k"].mean()),
        "cp_at_k": cp.mean,
        "cp_at_k_oracle": cp.oracle_mean,
        "cost": {**cost, "per_investigation": investigation_cost},
        "prevalence": float(labels.mean()),
        "rows": len(labels),
        "frauds": int(labels.sum()),
    }
    flags = values >= threshold
    per_pattern = _pattern_recall(labels, flags, patterns)
    per_day_rows = [
        {
            "day": str(pd.Timestamp(r.day).date())
            if isinstance(r.day, np.datetime64 | pd.Timestamp)
            else str(r.day),
            "p_at_k": float(r.p_at_k),
            "card_precision": float(r.card_precision),
            "oracle": float(r.oracle),
            "compromised_cards": int(r.compromised_cards),
        }
        for r in per_day.itertuples()
    ]
    figures = {
        "pr_curve": _pr_curve(labels, values, result_metrics["ap"]),
        "roc_curve": _roc_curve(labels, values, result_metrics["roc_auc"]),
        "score_distribution": _score_histograms(labels, values, threshold),
        "confusion_matrix": {
            "labels": ["legit", "fraud"],
            "matrix": [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]],
            "rows": "actual",
            "columns": "predicted",
            "threshold": threshold,
        },
        "feature_importance": dict(importance)
        if importance
        else {"method": "none", "names": [], "values": []},
        "pattern_recall": {
            "patterns": [p["pattern"] for p in per_pattern],
            "recall": [p["recall"] for p in per_pattern],
            "frauds": [p["frauds"] for p in per_pattern],
        },
        "card_precision_per_day": {
            "k": k,
            "days": [r["day"] for r in per_day_rows],
            "card_precision": [r["card_precision"] for r in per_day_rows],
            "oracle": [r["oracle"] for r in per_day_rows],
            "p_at_k": [r["p_at_k"] for r in per_day_rows],
        },
    }
    info = {"value": float(threshold), "method": "given", **dict(threshold_info or {})}
    return EvaluationResult(
        metrics=result_metrics,
        threshold=info,
        per_day=per_day_rows,
        per_pattern=per_pattern,
        figures=figures,
        context=dict(context or {}),
    )


def _pattern_recall(labels: np.ndarray, flags: np.ndarray, patterns: Any) -> list[dict[str, Any]]:
    fraud = labels == 1
    if patterns is None:
        names = np.full(len(labels), "fraud", dtype=object)
    else:
        names = pd.Series(np.asarray(patterns, dtype=object)).fillna("unlabelled").astype(str).to_numpy()
    frame = pd.DataFrame({"pattern": names[fraud], "hit": flags[fraud]})
    grouped = frame.groupby("pattern", sort=True)["hit"].agg(["size", "sum"])
    return [
        {
            "pattern": str(name),
            "frauds": int(row["size"]),
            "detected": int(row["sum"]),
            "recall": float(row["sum"] / row["size"]),
        }
        for name, row in grouped.iterrows()
    ]


def _thin(*arrays: np.ndarray) -> list[list[float]]:
    n = len(arrays[0])
    if n <= _MAX_CURVE_POINTS:
        picks = np.arange(n)
    else:
        picks = np.unique(np.r_[np.linspace(0, n - 1, _MAX_CURVE_POINTS).astype(int), n - 1])
    return [np.asarray(a, dtype=np.float64)[picks].tolist() for a in arrays]


def _pr_curve(labels: np.ndarray, values: np.ndarray, ap: float) -> dict[str, Any]:
    precision, recall, _ = precision_recall_curve(labels, values)
    precision, recall = _thin(precision, recall)
    return {"precision": precision, "recall": recall, "ap": ap, "prevalence": float(labels.mean())}


def _roc_curve(labels: np.ndarray, values: np.ndarray, auc: float) -> dict[str, Any]:
    fpr, tpr, _ = roc_curve(labels, values)
    fpr, tpr = _thin(fpr, tpr)
    return {"fpr": fpr, "tpr": tpr, "roc_auc": auc}


def _score_histograms(labels: np.ndarray, values: np.ndarray, threshold: float) -> dict[str, Any]:
    low, high = float(values.min()), float(values.max())
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, _HISTOGRAM_BINS + 1)
    legit, _ = np.histogram(values[labels == 0], bins=edges)
    fraud, _ = np.histogram(values[labels == 1], bins=edges)
    return {
        "bin_edges": edges.tolist(),
        "legit": legit.tolist(),
        "fraud": fraud.tolist(),
        "threshold": threshold,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
