"""HTTP side of access control: the session cookie, role checks and CSRF checks.

Pages redirect an anonymous visitor to ``/login``; the REST API answers 401. A role too low
for the action is 403; a state-changing request without the session's CSRF token is 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from starlette.responses import RedirectResponse, Response

from fraudstream.dashboard.auth import Session, Sessions

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "LoginRequired",
    "api_session",
    "check_csrf",
    "client_address",
    "page_session",
    "set_cookie",
]

COOKIE = "fs_session"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """A page needs a login: the app turns this into a redirect to /login."""

    def __init__(self, next_url: str, expired: bool) -> None:
        self.next_url = next_url
        self.expired = expired

    def response(self) -> Response:
        reason = "&expired=1" if self.expired else ""
        return RedirectResponse(f"/login?next={quote(self.next_url, safe='/')}{reason}", status_code=303)


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def _lookup(request: Request) -> tuple[Session | None, bool]:
    token = request.cookies.get(COOKIE)
    session = _sessions(request).get(token)
    return session, bool(token) and session is None


def page_session(request: Request, role: str = "viewer") -> Session:
    """The session of a page request (LoginRequired when none; 403 when the role is too low)."""
    session, expired = _lookup(request)
    if session is None:
        raise LoginRequired(
            request.url.path + (f"?{request.url.query}" if request.url.query else ""), expired
        )
    if not session.allows(role):
        raise HTTPException(403, f"this needs the {role} role; you are {session.role}")
    return session


def api_session(request: Request, role: str = "viewer") -> Session:
    """The session of an API request (401 when none or expired; 403 when the role is too low)."""
    session, expired = _lookup(request)
    if session is None:
        raise HTTPException(
            401, "session expired: log in again" if expired else "not logged in: POST /api/login"
        )
    if not session.allows(role):
        raise HTTPException(403, f"this needs the {role} role; you are {session.role}")
    return session


def check_csrf(session: Session, request: Request, form: Any = None) -> None:
    """403 unless the request carries the session's CSRF token (header or form field)."""
    given = request.headers.get(CSRF_HEADER) or (form.get("csrf_token") if form is not None else None)
    if not session.csrf_ok(given if isinstance(given, str) else None):
        raise HTTPException(403, "missing or wrong CSRF token")


def client_address(request: Request) -> str:
    """The client's address as the server sees it (a reverse proxy's, behind one)."""
    return request.client.host if request.client is not None else "unknown"


def set_cookie(response: Response, session: Session, ttl_s: float, secure: bool) -> None:
    """A browser-session cookie: the server alone decides when the session expires (``ttl_s``)."""
    response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict", secure=secure, path="/")
