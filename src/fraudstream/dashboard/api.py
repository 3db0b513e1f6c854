"""The REST API under ``/api`` (OpenAPI document at ``/openapi.json``, readable at ``/docs``).

Log in with ``POST /api/login`` (JSON ``{"name": ..., "password": ...}``): the answer sets the
session cookie and returns the CSRF token that every ``POST`` must send as ``X-CSRF-Token``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse, StreamingResponse

from fraudstream.dashboard import insights, triage
from fraudstream.dashboard.queries import PAGE_COLUMNS, Database, Filters
from fraudstream.dashboard.users import authenticate, list_users
from fraudstream.dashboard.web import api_session, check_csrf, client_address, set_cookie

__all__ = ["csv_chunks", "frame_records", "router"]

router = APIRouter(prefix="/api")


class Login(BaseModel):
    name: str
    password: str


class TriageAction(BaseModel):
    action: str
    note: str = ""


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows (times as ISO text, NaN as null)."""
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            out[column] = [None if v is None else v.isoformat() for v in out[column]]
    return out.to_dict("records")


def csv_chunks(db: Database, filters: Filters) -> Iterator[str]:
    """CSV text of every row matching ``filters``: the header, then a chunk per page of rows."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(PAGE_COLUMNS)
    yield buffer.getvalue()
    for frame in db.explore_all(filters):
        frame = frame.copy()
        frame["ts"] = frame["ts"].map(lambda t: t.isoformat())
        yield frame.to_csv(index=False, header=False, columns=list(PAGE_COLUMNS), lineterminator="\n")


@router.get("/health", summary="Liveness (no login needed)")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/login", summary="Log in: sets the session cookie, returns the CSRF token")
def login(body: Login, request: Request) -> JSONResponse:
    app = request.app
    throttle, address = app.state.throttle, client_address(request)
    refusal = throttle.refused(body.name, address)
    if refusal is not None:
        raise HTTPException(429, refusal.message(), headers={"Retry-After": str(refusal.retry_after_s)})
    with _db(request).lock:
        role = authenticate(app.state.db.store, body.name, body.password)
    if role is None:
        throttle.failed(body.name, address)
        raise HTTPException(401, "wrong user name or password")
    throttle.succeeded(body.name)
    session = app.state.sessions.create(body.name, role)
    response = JSONResponse(
        {"name": body.name, "role": role, "csrf_token": session.csrf, "expires_at": session.expires_at}
    )
    set_cookie(response, session, app.state.sessions.ttl_s, app.state.config.secure_cookies)
    return response


@router.get("/transactions", summary="Filtered, sorted, paginated transactions")
def transactions(request: Request) -> dict[str, Any]:
    api_session(request)
    filters = Filters.parse(dict(request.query_params))
    rows, total, capped = _db(request).explore(filters)
    return {
        "rows": frame_records(rows),
        "total": total,
        "total_capped": capped,
        "page": filters.page,
        "page_size": filters.page_size,
        "ignored": list(filters.ignored),
    }


@router.get("/transactions.csv", summary="CSV of exactly the filtered rows (all pages)")
def transactions_csv(request: Request) -> StreamingResponse:
    api_session(request)
    filters = Filters.parse(dict(request.query_params))
    return StreamingResponse(
        csv_chunks(_db(request), filters),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="filtered_transactions.csv"'},
    )


@router.get("/kpis", summary="Total, anomalies, anomaly %, most affected category")
def kpis(request: Request) -> dict[str, Any]:
    api_session(request)
    return insights.kpis(_db(request))


@router.get("/live", summary="The latest live summary (also pushed at /live/events)")
def live(request: Request) -> dict[str, Any]:
    api_session(request)
    summary: dict[str, Any] = request.app.state.live.summary
    return summary


@router.get("/alerts", summary="The alert queue by status (open, escalated, confirmed, false_positive)")
def alerts(request: Request, status: str = "open", page: int = 1) -> dict[str, Any]:
    api_session(request)
    db = _db(request)
    try:
        frame = triage.alert_queue(db, status, page)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"alerts": frame_records(frame), "counts": triage.alert_counts(db)}


@router.post("/alerts/{tx_id}/{kind}/triage", summary="Confirm fraud, false positive or escalate (analyst)")
def triage_alert(tx_id: str, kind: str, body: TriageAction, request: Request) -> dict[str, Any]:
    session = api_session(request, "analyst")
    check_csrf(session, request)
    try:
        return triage.triage(_db(request), tx_id, kind, body.action, session.name, body.note)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/customers/{customer_id}", summary="History, behaviour profile and scores of a customer")
def customer(customer_id: str, request: Request) -> dict[str, Any]:
    api_session(request)
    return json.loads(json.dumps(insights.customer_view(_db(request), customer_id), default=str))


@router.get("/patterns", summary="Seed 003's seven panels, heatmap, fraud by category/method/country")
def patterns(request: Request, window: str = "24h") -> dict[str, Any]:
    api_session(request)
    if window not in insights.WINDOWS_H:
        raise HTTPException(400, f"window must be one of {', '.join(insights.WINDOWS_H)}, got {window!r}")
    return insights.patterns(_db(request), window)


@router.get("/model", summary="Curves, confusion matrix, score distributions, prequential metrics, drift")
def model(request: Request) -> dict[str, Any]:
    api_session(request)
    return json.loads(json.dumps(insights.model_view(_db(request)), default=str))


@router.get("/users", summary="Dashboard users and roles (admin)")
def users(request: Request) -> list[dict[str, Any]]:
    api_session(request, "admin")
    db = _db(request)
    with db.lock:
        return frame_records(list_users(db.store))
