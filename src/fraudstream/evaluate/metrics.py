"""Evaluation metrics for fraud scores, vectorised with numpy (definitions in docs/evaluation.md).

Scores: higher = more suspicious. Labels: 0/1 or bool.

>>> y = np.array([0, 0, 1, 1]); s = np.array([0.1, 0.4, 0.35, 0.8])
>>> average_precision(y, s)
0.8333333333333333
>>> roc_auc(y, s)
0.75
>>> precision_at_k(y, s, 2)
0.5
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError, InvalidRecord

__all__ = [
    "CardPrecision",
    "average_precision",
    "card_precision_at_k",
    "confusion",
    "cost",
    "precision_at_k",
    "precision_recall_f1",
    "recall_at_fpr",
    "roc_auc",
]


def _inputs(y: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    labels, values = np.asarray(y), np.asarray(scores, dtype=np.float64)
    if labels.shape != values.shape or labels.ndim != 1:
        raise InvalidRecord(f"y and scores must be 1-D of the same length, got {labels.shape} and {values.shape}")
    if np.isnan(values).any():
        raise InvalidRecord("scores must not contain NaN")
    labels = labels.astype(np.int8)
    if not np.isin(labels, (0, 1)).all():
        raise InvalidRecord("y must be 0/1 or bool")
    return labels, values


def _ranked(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tp, fp, threshold) at each distinct score, from the highest down."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_y = scores[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    tp = np.cumsum(sorted_y)[last_of_tie]
    fp = last_of_tie + 1 - tp
    return tp.astype(np.float64), fp.astype(np.float64), sorted_scores[last_of_tie]


def average_precision(y: Any, scores: Any) -> float:
    """AP = sum over thresholds of (R_n - R_{n-1}) P_n (step-wise, as scikit-learn; ties grouped)."""
    labels, values = _inputs(y, scores)
    positives = labels.sum()
    if positives == 0:
        raise InvalidRecord("average_precision needs at least one positive label")
    tp, fp, _ = _ranked(labels, values)
    precision = tp / (tp + fp)
    recall_step = np.diff(np.r_[0.0, tp / positives])
    return float(np.sum(recall_step * precision))


def roc_auc(y: Any, scores: Any) -> float:
    """ROC AUC = P(score of a random fraud > score of a random legit), ties counted 1/2."""
    labels, values = _inputs(y, scores)
    n_pos, n_neg = int(labels.sum()), int((labels == 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise InvalidRecord("roc_auc needs both classes in y")
    ranks = pd.Series(values).rank(method="average").to_numpy()
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def confusion(y: Any, predicted: Any) -> dict[str, int]:
    """Counts ``tn, fp, fn, tp`` of bool predictions against labels."""
    labels = np.asarray(y).astype(bool)
    flags = np.asarray(predicted).astype(bool)
    if labels.shape != flags.shape:
        raise InvalidRecord(f"y and predicted must have the same shape, got {labels.shape} and {flags.shape}")
    return {"tn": int((~labels & ~flags).sum()), "fp": int((~labels & flags).sum()),
            "fn": int((labels & ~flags).sum()), "tp": int((labels & flags).sum())}


def precision_recall_f1(y: Any, scores: Any, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of ``score >= threshold`` (0 where undefined), plus the counts."""
    labels, values = _inputs(y, scores)
    counts = confusion(labels, values >= threshold)
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, **counts}


def precision_at_k(y: Any, scores: Any, k: int) -> float:
    """Share of frauds among the ``k`` highest scores (ties broken by position, stable)."""
    labels, values = _inputs(y, scores)
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    top = np.argsort(-values, kind="mergesort")[:k]
    return float(labels[top].sum() / k)


def recall_at_fpr(y: Any, scores: Any, max_fpr: float = 0.01) -> float:
    """The highest recall (TPR) among thresholds whose false-positive rate is <= ``max_fpr``."""
    labels, values = _inputs(y, scores)
    n_pos, n_neg = labels.sum(), (labels == 0).sum()
    if n_pos == 0 or n_neg == 0:
        raise InvalidRecord("recall_at_fpr needs both classes in y")
    tp, fp, _ = _ranked(labels, values)
    allowed = fp / n_neg <= max_fpr
    return float((tp[allowed] / n_pos).max()) if allowed.any() else 0.0


def cost(y: Any, scores: Any, amounts: Any, threshold: float,
         investigation_cost: float = 5.0) -> dict[str, float]:
    """Cost of operating at ``threshold``: missed fraud amount + alerts x ``investigation_cost``."""
    labels, values = _inputs(y, scores)
    money = np.asarray(amounts, dtype=np.float64)
    if money.shape != labels.shape:
        raise InvalidRecord(f"amounts must have one value per row, got shape {money.shape}")
    alerts = values >= threshold
    missed = float(money[(labels == 1) & ~alerts].sum())
    investigations = float(alerts.sum() * investigation_cost)
    return {"missed_fraud_amount": missed, "investigation_cost": investigations,
            "alerts": int(alerts.sum()), "total": missed + investigations}


@dataclass(frozen=True)
class CardPrecision:
    """Card precision@k per day, with the oracle ceiling beside it."""

    k: int
    per_day: pd.DataFrame
    """Columns: day, card_precision, oracle, compromised_cards (still undetected that day)."""

    @property
    def mean(self) -> float:
        return float(self.per_day["card_precision"].mean())

    @property
    def oracle_mean(self) -> float:
        return float(self.per_day["oracle"].mean())


def card_precision_at_k(days: Any, cards: Any, y: Any, scores: Any, k: int = 100,
                        remove_detected: bool = True) -> CardPrecision:
    """Card Precision@k as in the Handbook (§2): per day, rank cards by their max score, take the
    top ``k``, precision = compromised cards among them / ``k``; cards detected (true positives
    in a top k) on earlier days are removed from later days; mean over days. The oracle ranks by
    the labels themselves (same procedure), the best any model could do."""
    labels, values = _inputs(y, scores)
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    frame = pd.DataFrame({"day": np.asarray(days), "card": np.asarray(cards), "y": labels, "s": values})
    model = _card_precision_days(frame, "s", k, remove_detected)
    oracle = _card_precision_days(frame, "y", k, remove_detected)
    per_day = model.rename(columns={"precision": "card_precision"})
    per_day["oracle"] = oracle["precision"].to_numpy()
    return CardPrecision(k=k, per_day=per_day[["day", "card_precision", "oracle", "compromised_cards"]])


def _card_precision_days(frame: pd.DataFrame, by: str, k: int, remove_detected: bool) -> pd.DataFrame:
    per_card = frame.groupby(["day", "card"], sort=True).agg(y=("y", "max"), s=(by, "max")).reset_index()
    detected: set[Any] = set()
    rows = []
    for day, cards in per_card.groupby("day", sort=True):
        if detected:
            cards = cards[~cards["card"].isin(detected)]
        top = cards.sort_values("s", ascending=False, kind="mergesort").head(k)
        hits = top.loc[top["y"] == 1, "card"]
        rows.append({"day": day, "precision": len(hits) / k, "compromised_cards": int(cards["y"].sum())})
        if remove_detected:
            detected.update(hits.tolist())
    return pd.DataFrame(rows)
