"""The dashboard in real headless Chromium (Debian's ``chromium`` driven by Playwright).

Chromium is found at /usr/bin/chromium; when it is missing it is installed with apt-get if this
runs as root with FRAUDSTREAM_REQUIRE_SERVICES=1 (CI), and the tests are skipped otherwise.
Screenshots of every page go to ``test-artifacts/dashboard/`` at the repository root.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fraudstream.dashboard.sample import decide, sample_frame
from fraudstream.store import open_store

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "dashboard"


@pytest.fixture
def page(browser: Any, sqlite_served: Any) -> Iterator[Any]:
    context = browser.new_context(
        base_url=sqlite_served.url, accept_downloads=True, viewport={"width": 1400, "height": 1000}
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    outside: list[str] = []
    opened.on("request", lambda r: outside.append(r.url) if not r.url.startswith(sqlite_served.url) else None)
    yield opened
    context.close()
    assert not outside, f"the page asked for something off the dashboard: {outside[:3]}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    print(f"screenshot: {ARTIFACTS / name}.png")


def log_in(page: Any, name: str, password: str) -> None:
    page.goto("/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url("**/live")


def test_log_in_and_watch_live_numbers_change(page, sqlite_served):
    page.goto("/live")
    page.wait_for_url("**/login?next=/live")
    shot(page, "login")
    page.fill("#name", "vic")
    page.fill("#password", "wrong password")
    page.click("#login")
    assert "Wrong user name or password" in page.inner_text("#login-error")
    log_in(page, "vic", "viewer-pass-1")
    page.wait_for_function("document.getElementById('live-status').textContent === 'connected'")
    page.wait_for_function("document.getElementById('kpi-total').textContent === '3,000'")
    frame = sample_frame(500, seed=21, first_id=50_001)
    decisions, alerts = decide(frame, threshold=0.5)
    with open_store(sqlite_served.store_url) as store:
        store.write_transactions(frame)
        store.write_decisions(decisions)
        store.write_alerts(alerts)
    page.wait_for_function("document.getElementById('kpi-total').textContent === '3,500'")
    page.wait_for_function("document.querySelectorAll('#live-table tbody tr').length === 20")
    page.wait_for_selector("#chart-amounts .main-svg")
    assert page.inner_text("#live-table tbody tr:first-child td:first-child") == str(frame["tx_id"].iloc[-1])
    shot(page, "live")


def test_filter_download_csv_and_check_rows(page, sqlite_served, tmp_path):
    log_in(page, "vic", "viewer-pass-1")
    with open_store(sqlite_served.store_url) as store:
        frame = store.transactions(limit=10**9)
    category = frame["category"].value_counts().index[1]
    page.goto("/explorer")
    page.select_option("select[name=category]", category)
    page.fill("input[name=amount_min]", "50")
    page.click("#apply")
    page.wait_for_url("**/explorer?**")
    expected = frame[(frame["category"] == category) & (frame["amount"] >= 50)]
    assert page.inner_text("#row-count").startswith(f"{len(expected):,} rows")
    shot(page, "explorer")
    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / "filtered.csv"
    download.value.save_as(path)
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["tx_id"] for r in rows) == sorted(expected["tx_id"].astype(str))
    assert {r["category"] for r in rows} == {category}


def test_confirm_an_alert_and_find_its_label(page, sqlite_served):
    log_in(page, "ana", "analyst-pass-1")
    page.goto("/alerts")
    first = page.locator("#alerts-table tbody tr").first
    tx_id = first.get_attribute("data-tx")
    shot(page, "alerts")
    first.locator("button.confirm").click()
    page.wait_for_url("**/alerts?status=open")
    assert page.locator(f"#alerts-table tbody tr[data-tx='{tx_id}']").count() == 0
    with open_store(sqlite_served.store_url) as store:
        labels = store.read_labels(latest_only=True)
    labels["tx_id"] = labels["tx_id"].astype(str)
    mine = labels[(labels["tx_id"] == tx_id) & (labels["source"] == "review")]
    assert len(mine) == 1 and bool(mine["is_fraud"].iloc[0])


def test_new_alerts_are_pushed_to_the_alerts_page(page, sqlite_served):
    log_in(page, "ana", "analyst-pass-1")
    page.goto("/alerts")
    page.wait_for_function("document.getElementById('alerts-live').textContent === 'live'")
    page.evaluate("window.__same_page = true")
    before = int(page.inner_text("#tab-open .count"))
    frame = sample_frame(300, seed=31, first_id=70_001)
    _, alerts = decide(frame, threshold=0.5)
    with open_store(sqlite_served.store_url) as store:
        store.write_transactions(frame)
        store.write_alerts(alerts)  # all raised now: the queue orders them by id
    newest = min(alerts["tx_id"].astype(str))
    page.wait_for_selector(f"#alerts-table tbody tr.new[data-tx='{newest}']")
    page.wait_for_function(f"document.querySelector('#tab-open .count').textContent === '{before + len(alerts)}'")
    assert page.evaluate("window.__same_page === true")  # pushed, not reloaded
    assert page.locator("#alerts-table tbody tr").count() == 50
    shot(page, "alerts-pushed")
    page.locator(f"#alerts-table tbody tr[data-tx='{newest}'] button.confirm").click()  # a pushed row triages
    page.wait_for_url("**/alerts?status=open")
    with open_store(sqlite_served.store_url) as store:
        labels = store.read_labels(latest_only=True)
    labels["tx_id"] = labels["tx_id"].astype(str)
    assert bool(labels.set_index("tx_id").loc[newest, "is_fraud"]) is True


def test_screenshot_of_every_page(page, sqlite_served):
    log_in(page, "admin", "admin-pass-1")
    with open_store(sqlite_served.store_url) as store:
        customer = str(store.transactions(limit=1)["customer_id"].iloc[0])
    for name, path, ready in (
        ("patterns", "/patterns?window=all", "#chart-map .main-svg"),
        ("model", "/model", "#chart-roc .main-svg"),
        ("customer", f"/customer?id={customer}", "#chart-scores .main-svg"),
        ("api-docs", "/docs", "#endpoints"),
    ):
        page.goto(path)
        page.wait_for_selector(ready)
        shot(page, name)
    assert page.locator("#endpoints tbody tr").count() >= 10
