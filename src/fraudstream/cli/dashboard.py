"""``fraudstream dashboard``: serve the web dashboard over a store (and optionally a live stream)."""

from __future__ import annotations

import click

from fraudstream.errors import ConfigError

__all__ = ["dashboard", "parse_stream"]

DEMO_USER, DEMO_PASSWORD = "demo", "demo"


def parse_stream(value: str | None) -> tuple[str, int] | None:
    """``host:port`` -> (host, port).

    >>> parse_stream("localhost:5555"), parse_stream(None)
    (('localhost', 5555), None)
    """
    if not value:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--stream must be host:port, got {value!r}")
    return host, int(port)


@click.command("dashboard")
@click.option(
    "--store",
    "store_url",
    envvar="FRAUDSTREAM_STORE",
    default=None,
    help="Store URL (sqlite:///path.db or postgresql://...); default $FRAUDSTREAM_STORE or "
    "sqlite:///fraudstream.db.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="FRAUDSTREAM_DASHBOARD_HOST",
    help="Address to bind; anything but loopback exposes the dashboard to the network.",
)
@click.option("--port", default=8000, show_default=True, type=int, envvar="FRAUDSTREAM_DASHBOARD_PORT")
@click.option(
    "--stream", default=None, help="Also follow a live stream server, host:port (e.g. localhost:5555)."
)
@click.option(
    "--session-hours", default=8.0, show_default=True, type=float, help="Sessions expire after this."
)
@click.option("--secure-cookies", is_flag=True, help="Mark the session cookie Secure (behind HTTPS).")
@click.option(
    "--demo",
    is_flag=True,
    help=f"Demo only: create user {DEMO_USER!r} (analyst) with password {DEMO_PASSWORD!r}; "
    "refused unless bound to 127.0.0.1.",
)
def dashboard(
    store_url: str | None,
    host: str,
    port: int,
    stream: str | None,
    session_hours: float,
    secure_cookies: bool,
    demo: bool,
) -> None:
    """Serve the dashboard: Live, Alerts, Explorer, Customer, Patterns, Model pages and the REST API
    (OpenAPI at /docs). Add users first with 'fraudstream users add'."""
    import uvicorn

    from fraudstream.dashboard.app import DashboardConfig, create_app
    from fraudstream.dashboard.users import add_user, user_count
    from fraudstream.store import open_store
    from fraudstream.store import store_url as resolve

    url = resolve(store_url)
    with open_store(url) as store:
        if demo:
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise ConfigError("--demo creates a user with a known password: only with --host 127.0.0.1")
            add_user(store, DEMO_USER, DEMO_PASSWORD, "analyst", replace=True)
            click.echo(f"demo login: user {DEMO_USER!r}, password {DEMO_PASSWORD!r} (demo only)")
        elif user_count(store) == 0:
            raise ConfigError(
                "no dashboard users yet: add one with 'fraudstream users add NAME --role admin'"
            )
    config = DashboardConfig(
        store_url=url,
        session_ttl_s=session_hours * 3600,
        stream=parse_stream(stream),
        secure_cookies=secure_cookies,
    )
    click.echo(f"dashboard on http://{host}:{port}/ (store {url.split('@')[-1]})", err=True)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
