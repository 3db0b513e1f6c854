"""Aggregates behind the Live KPIs, Patterns, Customer and Model pages (database-side).

Alerts stand for detected fraud (seed 003's ``is_fraud`` was the model's verdict); labels are
the ground truth as far as it is known. Joins from alerts and decisions to transactions match
on ``tx_id`` and ``ts`` so PostgreSQL can use the time index of each monthly partition.

The newest alerts (map, recent frauds) and the newest decisions (Model page) are read in order
from the ``alerts (ts)`` and ``decisions (decided_at)`` indexes, each row then looking up its
transaction with one probe on ``(tx_id, ts)`` (:func:`tx_probe`, a ``LATERAL ... LIMIT 1``
subquery), until the page's limit is reached. A plain join would be planned by PostgreSQL as a
hash join of every alert or decision with every transaction, then sorted: the planner multiplies
the selectivities of ``tx_id`` and ``ts`` and expects the join to give about one row, so the
index walk with an early stop looks no cheaper to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fraudstream.dashboard.lookups import latest_labels
from fraudstream.dashboard.queries import Database

__all__ = ["ALERT_CATEGORIES", "customer_view", "kpis", "model_view", "newest_ts", "patterns", "tx_probe"]

ALERT_CATEGORIES = (
    "SELECT (SELECT t.category FROM transactions t WHERE t.tx_id = a.tx_id AND t.ts = a.ts) "
    "AS category FROM (SELECT DISTINCT tx_id, ts FROM alerts) a"
)
"""The category of each alerted transaction, driven from the (small) alerts table."""



def tx_probe(db: Database, columns: str, alias: str) -> str:
    """Joins the transaction ``t`` (its ``columns``) of each row of ``alias``: one probe on
    PostgreSQL (see the module's docstring); a join on SQLite, which has no ``LATERAL`` and
    plans it as a probe already."""
    if db.dialect != "postgresql":
        return f"JOIN transactions t ON t.tx_id = {alias}.tx_id AND t.ts = {alias}.ts"
    return (
        f"CROSS JOIN LATERAL (SELECT {columns} FROM transactions t WHERE t.tx_id = {alias}.tx_id "
        f"AND t.ts = {alias}.ts LIMIT 1) t"
    )


WINDOWS_H = {"1h": 1, "24h": 24, "7d": 168, "30d": 720, "all": 0}
"""Patterns windows, ending at the newest stored transaction."""


def newest_ts(db: Database) -> pd.Timestamp | None:
    value = db.scalar("SELECT max(ts) FROM transactions")
    return None if value is None else db.times(pd.Series([value])).iloc[0]


def kpis(db: Database) -> dict[str, Any]:
    """Seed 002's KPIs over the whole store: total, anomalies, anomaly %, most affected category
    (total and category from the hourly rollup when it is current)."""
    anomalies = int(db.scalar("SELECT count(DISTINCT tx_id) FROM alerts"))
    if db.rollup is not None and db.rollup.ready(db):
        with db.lock:
            total = db.rollup.totals(db)["transactions"]
            by = db.rollup.by(db, "category", None, None)
        by = by[by["alerted"] > 0].sort_values(["alerted", "value"], ascending=[False, True], kind="stable")
        top = [(by["value"].iloc[0],)] if len(by) else []
    else:
        total = int(db.scalar("SELECT count(*) FROM transactions"))
        top = db.rows(
            f"SELECT category, count(*) AS n FROM ({ALERT_CATEGORIES}) c WHERE category IS NOT NULL "
            "GROUP BY category ORDER BY n DESC, category LIMIT 1"
        )[1]
    return {
        "total": total,
        "anomalies": anomalies,
        "anomaly_pct": 100.0 * anomalies / total if total else 0.0,
        "top_category": top[0][0] if top else None,
    }


def _window(db: Database, window: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    until = newest_ts(db)
    hours = WINDOWS_H.get(window, 24)
    if until is None or hours == 0:
        return None, None
    return until - pd.Timedelta(hours=hours), until + pd.Timedelta(microseconds=1)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            out[column] = [None if v is None else v.isoformat() for v in out[column]]
    return out.to_dict("records")


_DIMENSIONS = (("method", "channel"), ("category", "category"), ("country", "country"))


def _dimension_records(frame: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    frame = frame[frame[name].notna()].copy()
    frame["fraud_rate"] = 100.0 * frame["frauds"] / frame["transactions"].where(frame["transactions"] > 0)
    return _records(frame)


def _by_dimension(
    db: Database, since: pd.Timestamp | None, until: pd.Timestamp | None
) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """(transactions in the window, by method / category / country) from the hourly rollup for
    the window's whole hours plus a direct look at its partial first and last hours."""
    from fraudstream.dashboard.rollups import HOUR_NS

    assert db.rollup is not None
    whole: tuple[int | None, int | None] | None = (None, None)  # the whole hours (None: no bound)
    edges: list[tuple[int, int]] = []
    if since is not None and until is not None:
        lo, hi = since.value, until.value
        first, last = -(-lo // HOUR_NS) * HOUR_NS, hi // HOUR_NS * HOUR_NS
        whole, edges = ((first, last), [(lo, first), (last, hi)]) if first < last else (None, [(lo, hi)])
    p = db.p
    parts: dict[str, pd.DataFrame] = {}
    extra = []
    with db.lock:
        if whole is not None:
            for dim in ("all", *(d for _, d in _DIMENSIONS)):
                parts[dim] = db.rollup.by(db, dim, *whole).set_index("value")[["transactions", "alerted"]]
        for lo, hi in edges:
            if lo < hi:
                extra.append(
                    db.frame(
                        "SELECT t.category, t.channel, t.country, CASE WHEN EXISTS (SELECT 1 FROM alerts a "
                        "WHERE a.tx_id = t.tx_id AND a.ts = t.ts) THEN 1 ELSE 0 END AS alerted "
                        f"FROM transactions t WHERE t.ts >= {p} AND t.ts < {p}",
                        [db.ts_param(pd.Timestamp(lo, tz="UTC")), db.ts_param(pd.Timestamp(hi, tz="UTC"))],
                    )
                )
    rows = (
        pd.concat(extra, ignore_index=True)
        if extra
        else pd.DataFrame(columns=["category", "channel", "country", "alerted"])
    )
    total = len(rows) + (int(parts["all"]["transactions"].sum()) if "all" in parts else 0)
    by = {}
    for name, dim in _DIMENSIONS:
        direct = rows.dropna(subset=[dim]).assign(
            transactions=1, alerted=lambda x: x["alerted"].astype(np.int64)
        )
        pieces = [direct.groupby(dim)[["transactions", "alerted"]].sum()]
        if dim in parts:
            pieces.append(parts[dim])
        merged = pd.concat(pieces).groupby(level=0).sum()
        frame = pd.DataFrame(
            {
                name: merged.index.astype(str),
                "transactions": merged["transactions"].to_numpy(np.int64),
                "frauds": merged["alerted"].to_numpy(np.int64),
            }
        ).sort_values(["frauds", "transactions", name], ascending=[False, False, True], kind="stable")
        by[name] = _dimension_records(frame.head(30).reset_index(drop=True), name)
    return total, by


def patterns(db: Database, window: str = "24h") -> dict[str, Any]:
    """Every panel of seed 003's Grafana dashboard over the window, plus the weekday x hour
    heatmap, fraud by category / method / country and geo points of alerts."""
    since, until = _window(db, window)
    p = db.p
    t_where, a_where, params = "", "", []
    if since is not None:
        t_where, a_where = f"WHERE t.ts >= {p} AND t.ts < {p}", f"WHERE a.ts >= {p} AND a.ts < {p}"
        params = [db.ts_param(since), db.ts_param(until)]
    fast = db.rollup is not None and db.rollup.ready(db)
    by: dict[str, list[dict[str, Any]]] = {}
    if fast:
        total, by = _by_dimension(db, since, until)
    else:
        total = int(db.scalar(f"SELECT count(*) FROM transactions t {t_where}", params))
    alerted = int(db.scalar(f"SELECT count(DISTINCT a.tx_id) FROM alerts a {a_where}", params))
    span_s = (until - since).total_seconds() if since is not None else 30 * 86400.0
    bucket_s = max(60, int(np.ceil(span_s / 120 / 60)) * 60)
    series = db.frame(
        f"SELECT {db.bucket('a.ts', bucket_s)} AS bucket, count(*) AS fraud_count FROM alerts a "
        f"{a_where} GROUP BY 1 ORDER BY 1",
        params,
        ts=("bucket",),
    )
    in_alerts = f"t.tx_id IN (SELECT a.tx_id FROM alerts a {a_where})"
    for name, column in () if fast else _DIMENSIONS:
        frame = db.frame(
            f"SELECT t.{column} AS {name}, count(*) AS transactions, "
            f"sum(CASE WHEN {in_alerts} THEN 1 ELSE 0 END) AS frauds FROM transactions t {t_where} "
            f"GROUP BY t.{column} ORDER BY frauds DESC, transactions DESC LIMIT 30",
            params * 2,
        )
        by[name] = _dimension_records(frame, name)
    heat = db.rows(
        f"SELECT {db.weekday('a.ts')} AS weekday, {db.hour('a.ts')} AS hour, count(*) FROM alerts a "
        f"{a_where} GROUP BY 1, 2",
        params,
    )[1]
    heatmap = np.zeros((7, 24), dtype=int)
    for weekday, hour, n in heat:
        heatmap[int(weekday), int(hour)] += int(n)
    probe = tx_probe(db, "t.lat, t.lon, t.amount, t.country, t.channel", "a")
    points = db.frame(
        f"SELECT a.tx_id, t.lat, t.lon, t.amount, a.kind, a.score FROM alerts a {probe} "
        f"{a_where + ' AND' if a_where else 'WHERE'} t.lat IS NOT NULL AND t.lon IS NOT NULL "
        "ORDER BY a.ts DESC LIMIT 2000",
        params,
    )
    recent = db.frame(
        f"SELECT a.tx_id, t.amount, t.country, t.channel AS method, a.ts, a.kind, a.score "
        f"FROM alerts a {probe} {a_where} ORDER BY a.ts DESC, a.tx_id DESC LIMIT 100",
        params,
        ts=("ts",),
    )
    return {
        "window": window,
        "since": since.isoformat() if since is not None else None,
        "until": until.isoformat() if until is not None else None,
        "total_frauds": alerted,
        "transactions": total,
        "fraud_percentage": 100.0 * alerted / total if total else None,
        "fraud_series": {
            "bucket_s": bucket_s,
            "at": [t.isoformat() for t in series["bucket"]],
            "fraud_count": series["fraud_count"].astype(int).tolist(),
        },
        "by_method": by["method"],
        "by_category": by["category"],
        "by_country": by["country"],
        "heatmap": heatmap.tolist(),
        "geo_points": _records(points),
        "recent_frauds": _records(recent),
    }


def customer_view(db: Database, customer_id: str, limit: int = 200) -> dict[str, Any]:
    """History (newest ``limit``), behaviour profile and scores over time of one customer."""
    p = db.p
    history = db.frame(
        "SELECT t.tx_id, t.ts, t.merchant_id, t.amount, t.category, t.channel, t.country "
        f"FROM transactions t WHERE t.customer_id = {p} ORDER BY t.ts DESC LIMIT {int(limit)}",
        (customer_id,),
        ts=("ts",),
    )
    history["is_fraud"] = latest_labels(db, history["tx_id"].tolist()).to_numpy()
    summary = db.rows(
        f"SELECT count(*), sum(amount), avg(amount), min(ts), max(ts) FROM transactions "
        f"WHERE customer_id = {p}",
        (customer_id,),
    )[1][0]
    scores = db.frame(
        "SELECT d.ts, d.score, d.verdict, d.model_version FROM transactions t JOIN decisions d "
        f"ON d.tx_id = t.tx_id AND d.ts = t.ts WHERE t.customer_id = {p} ORDER BY d.ts DESC LIMIT 1000",
        (customer_id,),
        ts=("ts",),
    ).iloc[::-1]
    profile = db.store.profiles([customer_id])
    first, last = (
        db.times(pd.Series([v])).iloc[0].isoformat() if v is not None else None for v in summary[3:5]
    )
    return {
        "customer_id": customer_id,
        "transactions": int(summary[0]),
        "total_amount": float(summary[1] or 0.0),
        "mean_amount": float(summary[2] or 0.0),
        "first_ts": first,
        "last_ts": last,
        "profile": _records(profile)[0] if len(profile) else None,
        "history": _records(history),
        "scores": _records(scores),
    }


def _curves(y: np.ndarray, s: np.ndarray, points: int = 200) -> dict[str, Any]:
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the end of each run of equal scores
    tp, fp, thresholds = tp[last], fp[last], s[last]
    positives, negatives = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    pick = np.unique(np.linspace(0, len(tp) - 1, min(points, len(tp))).astype(int))
    tpr, fpr = tp / positives, fp / negatives
    precision = tp / np.maximum(tp + fp, 1)
    return {
        "roc": {"fpr": np.r_[0, fpr[pick]].tolist(), "tpr": np.r_[0, tpr[pick]].tolist()},
        "pr": {
            "recall": tpr[pick].tolist(),
            "precision": precision[pick].tolist(),
            "threshold": thresholds[pick].tolist(),
        },
    }


def _psi(reference: np.ndarray, current: np.ndarray, edges: np.ndarray) -> float:
    ref = np.histogram(reference, edges)[0] / max(len(reference), 1) + 1e-6
    cur = np.histogram(current, edges)[0] / max(len(current), 1) + 1e-6
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def model_view(db: Database, sample: int = 20_000) -> dict[str, Any]:
    """Curves, confusion matrix, score distributions, prequential metrics and drift, computed over
    the latest ``sample`` decisions (and their current labels)."""
    frame = db.frame(  # each decision's transaction and current label: one probe each, newest first
        f"SELECT d.ts, d.score, d.verdict, t.amount, {db.latest_label('d')} AS is_fraud "
        f"FROM decisions d {tx_probe(db, 't.amount', 'd')} "
        f"ORDER BY d.decided_at DESC LIMIT {int(sample)}",
        (),
        ts=("ts",),
    )
    labels = frame["is_fraud"].to_numpy(dtype=object)
    frame["is_fraud"] = [None if v is None else bool(v) for v in labels]  # SQLite: 0 / 1
    models = db.store.models()
    result: dict[str, Any] = {
        "decisions": len(frame),
        "sample_limit": sample,
        "models": _records(models.drop(columns=["path"], errors="ignore")),
    }
    metric_points = db.frame(
        "SELECT name, at, value FROM metrics ORDER BY at DESC LIMIT 5000", (), ts=("at",)
    )
    result["metrics"] = {
        str(name): {"at": [t.isoformat() for t in g["at"][::-1]], "value": g["value"][::-1].tolist()}
        for name, g in metric_points.groupby("name")
    }
    if frame.empty:
        return result
    frame = frame.sort_values("ts", kind="stable")
    scores = frame["score"].to_numpy(float)
    flagged = frame["verdict"].isin(["fraud", "alert", "block", "review"]).to_numpy()
    labelled = frame["is_fraud"].notna().to_numpy()
    y = frame["is_fraud"].where(labelled, False).astype(bool).to_numpy()
    edges = np.histogram_bin_edges(scores, bins=30)
    result["score_hist"] = {
        "edges": edges.tolist(),
        "fraud": np.histogram(scores[labelled & y], edges)[0].tolist(),
        "legit": np.histogram(scores[labelled & ~y], edges)[0].tolist(),
        "unlabelled": np.histogram(scores[~labelled], edges)[0].tolist(),
    }
    yl, sl, fl = y[labelled], scores[labelled], flagged[labelled]
    result["labelled"] = int(labelled.sum())
    result["confusion"] = {
        "tp": int((fl & yl).sum()),
        "fp": int((fl & ~yl).sum()),
        "fn": int((~fl & yl).sum()),
        "tn": int((~fl & ~yl).sum()),
    }
    if yl.any() and (~yl).any():
        result.update(_curves(yl, sl))
    span = frame["ts"].iloc[-1] - frame["ts"].iloc[0]
    freq = "D" if span > pd.Timedelta(days=3) else "h"
    periods = frame["ts"].dt.floor(freq)
    groups = list(frame.groupby(periods, sort=True))
    amount_edges = np.quantile(frame["amount"], np.linspace(0, 1, 11))
    first = groups[0][1]
    drift: dict[str, list[Any]] = {
        "at": [],
        "score_p50": [],
        "score_p90": [],
        "amount_p50": [],
        "score_psi": [],
        "amount_psi": [],
        "precision": [],
        "recall": [],
    }
    for at, group in groups:
        s, a = group["score"].to_numpy(float), group["amount"].to_numpy(float)
        gy = group["is_fraud"].where(group["is_fraud"].notna(), False).astype(bool).to_numpy()
        gf = group["verdict"].isin(["fraud", "alert", "block", "review"]).to_numpy()
        drift["at"].append(at.isoformat())
        drift["score_p50"].append(float(np.median(s)))
        drift["score_p90"].append(float(np.quantile(s, 0.9)))
        drift["amount_p50"].append(float(np.median(a)))
        drift["score_psi"].append(_psi(first["score"].to_numpy(float), s, edges))
        drift["amount_psi"].append(_psi(first["amount"].to_numpy(float), a, np.unique(amount_edges)))
        drift["precision"].append(float((gf & gy).sum() / gf.sum()) if gf.any() else None)
        drift["recall"].append(float((gf & gy).sum() / gy.sum()) if gy.any() else None)
    result["drift"] = drift
    return result
