"""The report's figures as PNG files, drawn with matplotlib (extra ``report``) from figure data.

Each function takes the figure's data (as held in :attr:`EvaluationResult.figures`, the same
numbers written to ``report.json``) and a path, and writes one PNG. :data:`FIGURES` maps figure
name -> (file name, function, title).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fraudstream.detect.base import require_extra

__all__ = ["FIGURES", "draw_all"]

_LEGIT, _FRAUD = "#4c72b0", "#c44e52"


def _pyplot() -> Any:
    matplotlib = require_extra("matplotlib", "report")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)


def pr_curve(data: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.step(data["recall"], data["precision"], where="post", color=_FRAUD, label=f"AP = {data['ap']:.3f}")
    ax.axhline(data["prevalence"], color="grey", ls="--", lw=1, label=f"random = {data['prevalence']:.4f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="Precision-recall curve")
    ax.legend(loc="lower left")
    _save(fig, path)


def roc_curve(data: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(data["fpr"], data["tpr"], color=_FRAUD, label=f"ROC AUC = {data['roc_auc']:.3f}")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
    ax.axvline(0.01, color="grey", ls=":", lw=1, label="1 % FPR")
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate (recall)", title="ROC curve")
    ax.legend(loc="lower right")
    _save(fig, path)


def score_distribution(data: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    edges = data["bin_edges"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.stairs(data["legit"], edges, fill=True, alpha=0.5, color=_LEGIT, label="legit")
    ax.stairs(data["fraud"], edges, fill=True, alpha=0.6, color=_FRAUD, label="fraud")
    ax.axvline(data["threshold"], color="black", ls="--", lw=1, label="threshold")
    ax.set_yscale("symlog")
    ax.set(xlabel="score", ylabel="transactions (symlog)", title="Score distribution per class")
    ax.legend()
    _save(fig, path)


def confusion_matrix(data: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    matrix = data["matrix"]
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow([[1, 0], [0, 1]], cmap="Blues", alpha=0.3)
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{matrix[i][j]:,}", ha="center", va="center", fontsize=12)
    ax.set_xticks([0, 1], [f"predicted {n}" for n in data["labels"]])
    ax.set_yticks([0, 1], [f"actual {n}" for n in data["labels"]])
    ax.set_title(f"Confusion matrix (threshold {data['threshold']:.4g})")
    _save(fig, path)


def feature_importance(data: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    names, values = list(data["names"])[:20], list(data["values"])[:20]
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.3 * len(names) + 1)))
    if names:
        ax.barh(range(len(names))[::-1], values, color=_LEGIT)
        ax.set_yticks(range(len(names))[::-1], names, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no importance available", ha="center", va="center")
    ax.set(xlabel=f"importance ({data.get('method', 'none')})", title="Feature importance (top 20)")
    _save(fig, path)


def pattern_recall(data: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    names, recall = data["patterns"], data["recall"]
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.35 * len(names) + 1)))
    bars = ax.barh(range(len(names))[::-1], recall, color=_FRAUD)
    ax.set_yticks(
        range(len(names))[::-1],
        [f"{n} ({f})" for n, f in zip(names, data["frauds"], strict=True)],
        fontsize=8,
    )
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set(xlim=(0, 1.1), xlabel="recall at the threshold", title="Recall per fraud pattern (frauds)")
    _save(fig, path)


def card_precision_per_day(data: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    days = data["days"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(days, data["card_precision"], marker="o", color=_FRAUD, label=f"CP@{data['k']}")
    ax.plot(days, data["oracle"], marker="s", ls="--", color="grey", label="oracle")
    ax.plot(days, data["p_at_k"], marker=".", color=_LEGIT, label=f"P@{data['k']}")
    ax.set(ylim=(0, 1.02), ylabel="precision", title="Precision@k and card precision@k per day")
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.legend()
    _save(fig, path)


FIGURES: dict[str, tuple[str, Callable[[dict[str, Any], Path], None], str]] = {
    "pr_curve": ("pr_curve.png", pr_curve, "Precision-recall curve"),
    "roc_curve": ("roc_curve.png", roc_curve, "ROC curve"),
    "score_distribution": ("score_distribution.png", score_distribution, "Score distribution per class"),
    "confusion_matrix": ("confusion_matrix.png", confusion_matrix, "Confusion matrix"),
    "feature_importance": ("feature_importance.png", feature_importance, "Feature importance"),
    "pattern_recall": ("pattern_recall.png", pattern_recall, "Recall per fraud pattern"),
    "card_precision_per_day": (
        "card_precision_per_day.png",
        card_precision_per_day,
        "P@k and card precision@k per day, with the oracle",
    ),
}
"""Figure name -> (PNG file name, drawing function, title)."""


def draw_all(figures: dict[str, Any], folder: Path) -> dict[str, str]:
    """Draw every figure into ``folder``; return figure name -> PNG file name."""
    written = {}
    for name, (file_name, draw, _) in FIGURES.items():
        draw(figures[name], folder / file_name)
        written[name] = file_name
    return written
