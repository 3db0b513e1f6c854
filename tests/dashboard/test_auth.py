"""Access control: wrong password, expired session, CSRF, roles, login redirects."""

from __future__ import annotations

import time
from typing import Any

from click.testing import CliRunner

from fraudstream.cli.main import cli
from fraudstream.store import open_store


def test_wrong_password_and_unknown_user_are_refused(sqlite_served):
    client = sqlite_served.client()
    assert client.post("/api/login", json={"name": "vic", "password": "nope"}).status_code == 401
    assert client.post("/api/login", json={"name": "nobody", "password": "x"}).status_code == 401
    form = client.get("/login")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    page = client.post(
        "/login", data={"csrf_token": token, "name": "vic", "password": "wrong", "next": "/live"}
    )
    assert page.status_code == 401 and 'id="login-error"' in page.text
    ok = client.post(
        "/login",
        data={
            "csrf_token": token,
            "name": "vic",
            "password": "viewer-pass-1",
            "next": "https://evil.example/",
        },
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/live"  # no open redirect
    assert client.get("/live").status_code == 200


def test_anonymous_requests_are_sent_to_login(sqlite_served):
    client = sqlite_served.client()
    page = client.get("/explorer?customer=1")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=/explorer")
    assert client.get("/api/transactions").status_code == 401
    assert client.get("/live/events").status_code == 401
    assert client.get("/api/health").status_code == 200


def test_login_form_needs_its_csrf_token(sqlite_served):
    client = sqlite_served.client()
    client.get("/login")
    answer = client.post("/login", data={"name": "vic", "password": "viewer-pass-1"})
    assert answer.status_code == 403 and "fs_session" not in answer.cookies


def test_sessions_expire(make_served):
    with make_served(session_ttl_s=1.0) as served:
        client = served.client("vic")
        assert client.get("/api/kpis").status_code == 200
        time.sleep(1.2)
        answer = client.get("/api/kpis")
        assert answer.status_code == 401 and "expired" in answer.json()["detail"]
        page = client.get("/live")
        assert page.status_code == 303 and "expired=1" in page.headers["location"]


def test_state_changes_need_the_csrf_token_and_the_role(sqlite_served):
    analyst, viewer = sqlite_served.client("ana"), sqlite_served.client("vic")
    alert = analyst.get("/api/alerts").json()["alerts"][0]
    url = f"/api/alerts/{alert['tx_id']}/{alert['kind']}/triage"
    assert analyst.post(url, json={"action": "confirm"}).status_code == 403  # no token
    assert (
        analyst.post(url, json={"action": "confirm"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    )
    assert (
        analyst.post(url, json={"action": "confirm"}, headers={"X-CSRF-Token": viewer.csrf}).status_code
        == 403
    )
    answer = viewer.post(url, json={"action": "confirm"}, headers={"X-CSRF-Token": viewer.csrf})
    assert answer.status_code == 403 and "analyst" in answer.json()["detail"]
    form = viewer.post(
        "/alerts/triage",
        data={"csrf_token": viewer.csrf, "tx_id": alert["tx_id"], "kind": alert["kind"], "action": "confirm"},
    )
    assert form.status_code == 403
    assert (
        "Confirm fraud" not in viewer.get("/alerts").text and "Confirm fraud" in analyst.get("/alerts").text
    )
    assert analyst.post("/logout", data={}).status_code == 403  # logout is CSRF-protected too
    assert analyst.get("/api/users").status_code == 403
    admin = sqlite_served.client("admin")
    assert {u["name"] for u in admin.get("/api/users").json()} == {"admin", "ana", "vic"}
    with open_store(sqlite_served.store_url) as store:
        assert store.read_labels().query("source == 'review'").empty  # nothing was written
    assert (
        analyst.post(url, json={"action": "confirm"}, headers={"X-CSRF-Token": analyst.csrf}).status_code
        == 200
    )


def test_users_command_adds_lists_and_removes(tmp_path):
    url = f"sqlite:///{tmp_path / 'u.db'}"
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["users", "add", "carol", "--role", "analyst", "--password-stdin", "--store", url],
        input="long-enough-pw\n",
    )
    assert added.exit_code == 0, added.output
    short = runner.invoke(cli, ["users", "add", "dave", "--password-stdin", "--store", url], input="short\n")
    assert short.exit_code == 2 and "at least 8" in short.output
    again = runner.invoke(
        cli, ["users", "add", "carol", "--password-stdin", "--store", url], input="long-enough-pw\n"
    )
    assert again.exit_code == 2 and "already exists" in again.output
    listed = runner.invoke(cli, ["users", "list", "--store", url])
    assert listed.output.startswith("carol\tanalyst\t")
    with open_store(url) as store:
        stored = store._query("SELECT password_hash FROM users")[0][0]
    assert stored.startswith("scrypt$") and "long-enough-pw" not in stored
    assert runner.invoke(cli, ["users", "remove", "carol", "--store", url]).exit_code == 0
    assert runner.invoke(cli, ["users", "remove", "carol", "--store", url]).exit_code == 2
    refused = runner.invoke(cli, ["dashboard", "--store", url])
    assert refused.exit_code == 2 and "no dashboard users" in refused.output


def test_failed_logins_are_throttled_per_user_and_per_address(make_served):
    """(The window moving on is checked by the doctest of ``fraudstream.dashboard.throttle``.)"""
    with make_served(max_failed_logins=3, failed_login_window_s=60.0) as served:
        client = served.client()

        def log_in(name: str, password: str) -> Any:
            return client.post("/api/login", json={"name": name, "password": password})

        for _ in range(3):
            assert log_in("vic", "nope").status_code == 401
        refused = log_in("vic", "viewer-pass-1")
        assert refused.status_code == 429  # even the right password, until the window moves on
        assert "too many failed logins for user vic: try again in" in refused.json()["detail"]
        wait_s = int(refused.headers["retry-after"])
        assert 0 < wait_s <= 60
        form = client.get("/login")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        page = client.post("/login", data={"csrf_token": token, "name": "vic", "password": "viewer-pass-1"})
        assert page.status_code == 429 and "Too many failed logins for user vic" in page.text
        for _ in range(2):  # 2 failures, a success that clears them, 2 more: never 3 at once
            assert [log_in("ana", "nope").status_code for _ in range(2)] == [401, 401]
            assert log_in("ana", "analyst-pass-1").status_code == 200
        for name in ("x1", "x2", "x3", "x4", "x5"):  # 3 + 4 + 5 = 12 = 4 x 3 failures from one address
            assert log_in(name, "nope").status_code == 401
        from_address = log_in("admin", "admin-pass-1")
        assert from_address.status_code == 429 and "too many failed logins from 127.0.0.1" in from_address.text
