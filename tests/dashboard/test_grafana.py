"""Every panel query of grafana/dashboards/fraudstream.json runs on real PostgreSQL with demo data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fraudstream.dashboard.sample import fill
from fraudstream.store import open_store

ROOT = Path(__file__).parents[2] / "grafana"
EXPECTED = {
    "stat": ["total_fraud_count"],
    "timeseries": ["time", "fraud_count"],
    "gauge": ["fraud_percentage"],
    "bargauge": ["transaction_method", "fraud_rate"],
    "geomap": ["country", "fraud_count", "latitude", "longitude"],
    "barchart": ["location", "count"],
    "table": [
        "transaction_id",
        "transaction_amount",
        "location",
        "transaction_method",
        "transaction_time",
        "kind",
        "score",
    ],
}


def panels() -> list[dict]:
    return json.loads((ROOT / "dashboards" / "fraudstream.json").read_text())["panels"]


def with_time_filter(sql: str, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """Grafana's ``$__timeFilter(column)`` as concrete SQL (what Grafana sends for the range)."""

    def expand(match: re.Match[str]) -> str:
        return f"{match.group(1)} BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'"

    out = re.sub(r"\$__timeFilter\(([^)]+)\)", expand, sql)
    assert "$__" not in out, f"unhandled Grafana macro in {sql!r}"
    return out


def test_provisioning_files_name_the_dashboard_and_data_source():
    source = yaml.safe_load((ROOT / "provisioning" / "datasources" / "fraudstream.yaml").read_text())
    assert source["datasources"][0]["type"] == "grafana-postgresql-datasource"
    uid = source["datasources"][0]["uid"]
    provider = yaml.safe_load((ROOT / "provisioning" / "dashboards" / "fraudstream.yaml").read_text())
    assert provider["providers"][0]["type"] == "file"
    assert sorted(p["type"] for p in panels()) == sorted(EXPECTED)
    assert all(t["datasource"]["uid"] == uid for p in panels() for t in p["targets"])


@pytest.fixture
def pg_demo(pg_url):
    with open_store(pg_url) as store:
        fill(store, rows=3000, seed=5)
        yield store


def test_every_panel_query_runs_on_postgresql_with_demo_data(pg_demo):
    store = pg_demo
    alerts = store.alerts()
    frame = store.transactions(limit=10**9)
    start, end = frame["ts"].min(), frame["ts"].max()
    n_alerts = alerts["tx_id"].nunique()
    results = {}
    for panel in panels():
        sql = with_time_filter(panel["targets"][0]["rawSql"], start, end)
        names, rows = store._query_with_names(sql, ())
        assert names == EXPECTED[panel["type"]], panel["title"]
        assert rows, f"panel {panel['title']!r} returned no rows"
        results[panel["type"]] = pd.DataFrame(rows, columns=names)
    assert results["stat"].iloc[0, 0] == n_alerts > 0
    assert float(results["gauge"].iloc[0, 0]) == pytest.approx(100 * n_alerts / len(frame))
    assert results["timeseries"]["fraud_count"].sum() == len(alerts)
    rates = results["bargauge"]["fraud_rate"].astype(float)
    assert (
        set(results["bargauge"]["transaction_method"]) == set(frame["channel"])
        and rates.between(0, 100).all()
    )
    assert results["geomap"]["fraud_count"].sum() == n_alerts == results["barchart"]["count"].sum()
    assert results["geomap"]["latitude"].astype(float).between(-90, 90).all()
    table = results["table"]
    assert len(table) == min(100, n_alerts) and table["transaction_time"].is_monotonic_decreasing
    # a range without data gives empty or zero answers, not errors
    empty = with_time_filter(
        panels()[0]["targets"][0]["rawSql"], end + pd.Timedelta(days=1), end + pd.Timedelta(days=2)
    )
    assert store._query(empty) == [(0,)]
