"""The HTML pages: Live, Alerts, Explorer, Customer, Patterns, Model, plus login and API docs.

Pages render their data into the HTML (as JSON for the charts, drawn by ``static/app.js`` with
the bundled plotly.js); the Live page then follows ``/live/events``.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from fraudstream.dashboard import insights, triage
from fraudstream.dashboard.api import csv_chunks, frame_records
from fraudstream.dashboard.queries import SORT_COLUMNS, STATUSES, Database, Filters
from fraudstream.dashboard.users import authenticate
from fraudstream.dashboard.web import COOKIE, check_csrf, client_address, page_session, set_cookie

__all__ = ["api_docs", "error_page", "router"]

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "pages")
LOGIN_COOKIE = "fs_login"
PAGES = (
    ("live", "Live"),
    ("alerts", "Alerts"),
    ("explorer", "Explorer"),
    ("customer", "Customer"),
    ("patterns", "Patterns"),
    ("model", "Model"),
)


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("session", None)
    return templates.TemplateResponse(request, name, {"nav_pages": PAGES, **context}, status_code=status_code)


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(request, "error.html", status_code, message=message, code=status_code)


def api_docs(request: Request, spec: dict[str, Any]) -> Response:
    return render(request, "docs.html", spec=spec)


def _safe_next(url: str | None) -> str:
    parts = urlsplit(url or "/live")
    return url if url and not parts.scheme and not parts.netloc and url.startswith("/") else "/live"


@router.get("/")
def home() -> Response:
    return RedirectResponse("/live", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/live", expired: int = 0) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        next=_safe_next(next),
        login_csrf=token,
        error="Your session expired: log in again." if expired else None,
    )
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    expected, given = request.cookies.get(LOGIN_COOKIE, ""), str(form.get("csrf_token") or "")
    if not expected or not hmac.compare_digest(expected, given):
        return error_page(request, 403, "missing or wrong CSRF token: reload the login page")
    name, password = str(form.get("name") or ""), str(form.get("password") or "")
    db = _db(request)
    next_url = _safe_next(str(form.get("next") or "/live"))
    throttle, address = request.app.state.throttle, client_address(request)
    refusal = throttle.refused(name, address)
    if refusal is not None:
        response = render(
            request, "login.html", 429, next=next_url, login_csrf=expected, error=refusal.message().capitalize() + "."
        )
        response.headers["Retry-After"] = str(refusal.retry_after_s)
        return response

    def check() -> str | None:
        with db.lock:
            return authenticate(db.store, name, password)

    import asyncio

    role = await asyncio.to_thread(check)
    if role is None:
        throttle.failed(name, address)
        return render(
            request,
            "login.html",
            401,
            next=next_url,
            login_csrf=expected,
            error="Wrong user name or password.",
        )
    throttle.succeeded(name)
    session = request.app.state.sessions.create(name, role)
    response = RedirectResponse(next_url, status_code=303)
    set_cookie(response, session, request.app.state.sessions.ttl_s, request.app.state.config.secure_cookies)
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = page_session(request)
    check_csrf(session, request, await request.form())
    request.app.state.sessions.end(session.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/live")
def live(request: Request) -> Response:
    session = page_session(request)
    summary = request.app.state.live.summary
    return render(request, "live.html", session=session, page="live", summary=summary)


@router.get("/alerts")
def alerts(request: Request, status: str = "open", page: int = 1) -> Response:
    session = page_session(request)
    if status not in triage.ALERT_STATUSES:
        status = "open"
    db = _db(request)
    queue = triage.alert_queue(db, status, max(page, 1))
    return render(
        request,
        "alerts.html",
        session=session,
        page="alerts",
        status=status,
        page_no=max(page, 1),
        alerts=frame_records(queue),
        counts=triage.alert_counts(db),
        statuses=triage.ALERT_STATUSES,
        can_triage=session.allows("analyst"),
    )


@router.get("/alerts/new")
def new_alerts(request: Request, status: str = "open", since: str = "") -> Response:
    """The alerts with ``status`` raised at ``since`` (ISO time) or later, newest first, as rows of
    the Alerts page's table, and the counts per status: what the page adds when the live feed
    says alerts were raised."""
    session = page_session(request)
    if status not in triage.ALERT_STATUSES:
        raise HTTPException(400, f"status must be one of {', '.join(triage.ALERT_STATUSES)}, got {status[:60]!r}")
    stamp = None
    if since:
        try:
            stamp = pd.Timestamp(since)
        except (ValueError, TypeError, OverflowError):
            raise HTTPException(400, f"since: not a time: {since[:60]!r}") from None
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    db = _db(request)
    queue = triage.alert_queue(db, status, 1, since=stamp)
    rows = templates.get_template("alert_rows.html").render(
        alerts=frame_records(queue), session=session, status=status, can_triage=session.allows("analyst")
    )
    return JSONResponse({"rows": rows, "counts": triage.alert_counts(db)})


@router.post("/alerts/triage")
async def triage_alert(request: Request) -> Response:
    session = page_session(request, "analyst")
    form = await request.form()
    check_csrf(session, request, form)
    import asyncio

    await asyncio.to_thread(
        triage.triage,
        _db(request),
        str(form.get("tx_id")),
        str(form.get("kind")),
        str(form.get("action")),
        session.name,
        str(form.get("note") or ""),
    )
    status = str(form.get("status") or "open")
    return RedirectResponse(
        f"/alerts?status={status if status in triage.ALERT_STATUSES else 'open'}", status_code=303
    )


def _categories(request: Request) -> list[str]:
    import time

    fetched, values = request.app.state.categories
    if time.time() - fetched > 60:
        values = _db(request).categories()
        request.app.state.categories = (time.time(), values)
    return list(values)


@router.get("/explorer")
def explorer(request: Request) -> Response:
    session = page_session(request)
    filters = Filters.parse(dict(request.query_params))
    rows, total, capped = _db(request).explore(filters)
    pages = max(1, -(-total // filters.page_size))
    return render(
        request,
        "explorer.html",
        session=session,
        page="explorer",
        f=filters,
        rows=frame_records(rows),
        total=total,
        capped=capped,
        pages=pages,
        statuses=STATUSES,
        sorts=SORT_COLUMNS,
        categories=_categories(request),
        qs=filters.query_string,
        one_day=pd.Timedelta(days=1),
    )


@router.get("/explorer.csv")
def explorer_csv(request: Request) -> Response:
    page_session(request)
    filters = Filters.parse(dict(request.query_params))
    return StreamingResponse(
        csv_chunks(_db(request), filters),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="filtered_transactions.csv"'},
    )


@router.get("/customer")
def customer(request: Request, id: str = "") -> Response:
    session = page_session(request)
    view = insights.customer_view(_db(request), id.strip()) if id.strip() else None
    return render(
        request, "customer.html", session=session, page="customer", customer_id=id.strip(), view=view
    )


@router.get("/patterns")
def patterns(request: Request, window: str = "24h") -> Response:
    session = page_session(request)
    window = window if window in insights.WINDOWS_H else "24h"
    return render(
        request,
        "patterns.html",
        session=session,
        page="patterns",
        data=insights.patterns(_db(request), window),
        windows=list(insights.WINDOWS_H),
    )


@router.get("/model")
def model(request: Request) -> Response:
    session = page_session(request)
    import json

    data = json.loads(json.dumps(insights.model_view(_db(request)), default=str))
    return render(request, "model.html", session=session, page="model", data=data)
