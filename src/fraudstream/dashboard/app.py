"""The dashboard application: :func:`create_app` builds a FastAPI app over one store.

>>> app = create_app(DashboardConfig(store_url="sqlite:///:memory:"))
>>> sorted(app.openapi()["paths"])[:3]
['/api/alerts', '/api/alerts/{tx_id}/{kind}/triage', '/api/customers/{customer_id}']
>>> app.state.db.store.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse

from fraudstream.dashboard import api, views
from fraudstream.dashboard.auth import Sessions
from fraudstream.dashboard.live import LiveAggregator, StreamFeed
from fraudstream.dashboard.queries import Database
from fraudstream.dashboard.rollups import Rollup, RollupRefresher
from fraudstream.dashboard.throttle import LoginThrottle
from fraudstream.dashboard.web import LoginRequired, api_session
from fraudstream.errors import StoreError
from fraudstream.store import open_store

__all__ = ["DashboardConfig", "create_app", "plotly_js"]

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


@dataclass(frozen=True)
class DashboardConfig:
    store_url: str
    session_ttl_s: float = 8 * 3600
    live_interval_s: float = 0.5
    stream: tuple[str, int] | None = None
    secure_cookies: bool = False
    """Mark the session cookie Secure (set it when the dashboard is served over HTTPS)."""
    rollup_interval_s: float = 2.0
    """How often the background thread brings the hourly rollup up to date."""
    max_failed_logins: int = 5
    """Failed logins of one user name within ``failed_login_window_s`` before its logins are
    refused for a while (four times as many from one client address)."""
    failed_login_window_s: float = 900.0


def plotly_js() -> Path:
    """plotly.js as shipped inside the ``plotly`` Python package (served at /static/plotly.min.js)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(config: DashboardConfig) -> FastAPI:
    """The dashboard over ``config.store_url``: pages, REST API, live push; nothing starts until
    the app is served (the live aggregator runs in the app's lifespan)."""

    state: dict[str, object] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stream = StreamFeed(*config.stream) if config.stream else None
        live_store = open_store(config.store_url)
        live = LiveAggregator(live_store, interval_s=config.live_interval_s, stream=stream)
        app.state.live = live
        rollup_store = open_store(config.store_url)
        refresher = RollupRefresher(rollup_store, app.state.db.rollup, interval_s=config.rollup_interval_s)
        if stream is not None:
            stream.start()
        live.start()
        refresher.start()
        state["started"] = True
        try:
            yield
        finally:
            app.state.stopping = True
            live.stop()
            refresher.stop()
            if stream is not None:
                stream.stop()
            live_store.close()
            rollup_store.close()
            app.state.db.store.close()

    app = FastAPI(
        title="fraudstream dashboard",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Historical data of a fraudstream store: transactions, alerts, customers, "
        "patterns and model quality. Log in with POST /api/login.",
    )
    app.state.config = config
    app.state.db = Database(open_store(config.store_url))
    app.state.db.rollup = Rollup()
    app.state.sessions = Sessions(ttl_s=config.session_ttl_s)
    app.state.throttle = LoginThrottle(
        max_failures=config.max_failed_logins, window_s=config.failed_login_window_s
    )
    app.state.stopping = False
    app.state.categories = (0.0, [])

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return exc.response()

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> Response:
        log.warning("store error on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": "the store is unavailable right now"}, status_code=503)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return views.error_page(request, exc.status_code, str(exc.detail))

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/static-vendor/plotly.min.js", include_in_schema=False)
    def _plotly() -> FileResponse:
        return FileResponse(
            plotly_js(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )

    @app.get("/live/events", summary="Server-sent events: one live summary per tick")
    async def live_events(request: Request) -> StreamingResponse:
        api_session(request)
        live: LiveAggregator = request.app.state.live

        async def events() -> AsyncIterator[str]:
            version = -1
            while not request.app.state.stopping:
                version, summary = await asyncio.to_thread(live.wait, version, 1.0)
                if await request.is_disconnected():
                    return
                yield f"id: {version}\nevent: summary\ndata: {json.dumps(summary, default=str)}\n\n"

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def _docs(request: Request) -> Response:
        return views.api_docs(request, app.openapi())

    app.include_router(api.router)
    app.include_router(views.router)
    return app
