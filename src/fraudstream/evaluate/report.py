"""The evaluation report: ``report.json``, one PNG per figure and ``report.html`` beside them.

``report.json`` holds every metric, the threshold and how it was chosen, the per-day and
per-pattern tables, the context (data, features, detector, split) and the numbers of every
figure. ``report.html`` is self-contained apart from the PNGs in the same folder (no script,
no CDN). Figures need matplotlib (extra ``report``).

>>> import json, tempfile, numpy as np, pandas as pd
>>> from fraudstream.evaluate.result import evaluate_scores
>>> y = np.array([0, 0, 1, 1, 0, 1]); s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
>>> days = pd.to_datetime(["2024-01-01"] * 6, utc=True)
>>> result = evaluate_scores(y, s, 0.5, days=days, cards=[1, 2, 3, 4, 5, 6], k=2)
>>> folder = write_report(result, tempfile.mkdtemp())
>>> json.loads((folder / "report.json").read_text())["metrics"]["p_at_k"]
1.0
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any

from fraudstream.evaluate.plots import FIGURES, draw_all
from fraudstream.evaluate.result import EvaluationResult, evaluate_scores

__all__ = ["EvaluationResult", "evaluate_scores", "render_html", "write_report"]

log = logging.getLogger(__name__)

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.note{color:#a33}
figure{display:inline-block;margin:0.5em;vertical-align:top}figcaption{font-size:0.9em;color:#555}"""


def write_report(result: EvaluationResult, folder: str | Path, *, figures: bool = True) -> Path:
    """Write ``report.json``, the PNGs (unless ``figures=False``) and ``report.html`` into ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    document = result.to_dict()
    pngs = draw_all(result.figures, out) if figures else {}
    document["files"] = {"html": "report.html", "figures": pngs}
    (out / "report.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    (out / "report.html").write_text(render_html(document, pngs), encoding="utf-8")
    log.info("report written to %s", out)
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return html.escape(str(value))


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(row.get(c, ''))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(document: dict[str, Any], pngs: dict[str, str]) -> str:
    """The HTML page of a report document (as written to report.json)."""
    m, t, ctx = document["metrics"], document["threshold"], document.get("context", {})
    k = m["k"]
    headline = [
        ("average precision (AP)", m["ap"]),
        ("ROC AUC", m["roc_auc"]),
        (f"card precision@{k} (mean per day)", m["cp_at_k"]),
        (f"oracle card precision@{k}", m["cp_at_k_oracle"]),
        (f"precision@{k} (mean per day)", m["p_at_k"]),
        ("recall at 1 % FPR", m["recall_at_1pct_fpr"]),
        ("precision at threshold", m["precision"]),
        ("recall at threshold", m["recall"]),
        ("F1 at threshold", m["f1"]),
        ("accuracy at threshold", m["accuracy"]),
        ("test rows", m["rows"]),
        ("test frauds", m["frauds"]),
        ("prevalence (random AP)", m["prevalence"]),
    ]
    cost = m["cost"]
    cost_rows = [
        {"part": "missed fraud amount", "value": cost["missed_fraud_amount"]},
        {
            "part": f"investigations ({cost['alerts']:,} alerts x {cost['per_investigation']:g})",
            "value": cost["investigation_cost"],
        },
        {"part": "total", "value": cost["total"]},
    ]
    threshold_rows = [{"field": key, "value": value} for key, value in t.items()]
    context_rows = [
        {"field": key, "value": json.dumps(value) if isinstance(value, dict | list) else value}
        for key, value in ctx.items()
        if key != "folds"
    ]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>fraudstream evaluation report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>fraudstream evaluation report</h1>",
        "<p class='note'>Results on simulated data are results on simulated data: simulated fraud is far "
        "easier to detect than real fraud.</p>"
        if ctx.get("simulated", True)
        else "",
        "<h2>Metrics (test block)</h2>",
        _table([{"metric": a, "value": b} for a, b in headline], ["metric", "value"]),
        "<h2>Threshold</h2>",
        _table(threshold_rows, ["field", "value"]),
        "<h2>Confusion matrix</h2>",
        _table(
            [
                {
                    "": "actual legit",
                    "predicted legit": m["confusion"]["tn"],
                    "predicted fraud": m["confusion"]["fp"],
                },
                {
                    "": "actual fraud",
                    "predicted legit": m["confusion"]["fn"],
                    "predicted fraud": m["confusion"]["tp"],
                },
            ],
            ["", "predicted legit", "predicted fraud"],
        ),
        "<h2>Cost</h2>",
        _table(cost_rows, ["part", "value"]),
        "<h2>Recall per fraud pattern</h2>",
        _table(document["per_pattern"], ["pattern", "frauds", "detected", "recall"]),
        f"<h2>Per day: P@{k}, card precision@{k} and its oracle</h2>",
        _table(document["per_day"], ["day", "p_at_k", "card_precision", "oracle", "compromised_cards"]),
    ]
    if ctx.get("folds"):
        parts += [
            "<h2>Prequential folds</h2>",
            _table(
                ctx["folds"],
                ["fold", "train_start", "test_start", "ap", "roc_auc", "cp_at_k", "cp_at_k_oracle"],
            ),
        ]
    parts.append("<h2>Figures</h2>")
    for name, file_name in pngs.items():
        title = FIGURES[name][2]
        parts.append(
            f"<figure><img src='{html.escape(file_name)}' alt='{html.escape(title)}'>"
            f"<figcaption>{html.escape(title)} (data: report.json, figures.{name})</figcaption></figure>"
        )
    parts += ["<h2>Context</h2>", _table(context_rows, ["field", "value"]), "</body></html>"]
    return "\n".join(parts)
