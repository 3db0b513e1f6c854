"""``fraudstream users add|remove|list``: dashboard accounts in the store."""

from __future__ import annotations

import sys

import click

from fraudstream.dashboard.auth import ROLES
from fraudstream.errors import ConfigError

__all__ = ["users"]

_STORE = click.option(
    "--store",
    "store_url",
    envvar="FRAUDSTREAM_STORE",
    default=None,
    help="Store URL; default $FRAUDSTREAM_STORE or sqlite:///fraudstream.db.",
)


@click.group("users")
def users() -> None:
    """Manage dashboard users (roles: viewer < analyst < admin)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--replace", is_flag=True, help="Change the password and role of an existing user.")
@_STORE
def add(name: str, role: str, password_stdin: bool, replace: bool, store_url: str | None) -> None:
    """Add user NAME (password from a prompt, or --password-stdin)."""
    from fraudstream.dashboard.users import add_user
    from fraudstream.store import open_store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise ConfigError(f"password must have at least 8 characters, got {len(password)}")
    with open_store(store_url) as store:
        add_user(store, name, password, role, replace=replace)
    click.echo(f"user {name} ({role}) {'updated' if replace else 'added'}")


@users.command("remove")
@click.argument("name")
@_STORE
def remove(name: str, store_url: str | None) -> None:
    """Remove user NAME."""
    from fraudstream.dashboard.users import remove_user
    from fraudstream.store import open_store

    with open_store(store_url) as store:
        if not remove_user(store, name):
            raise ConfigError(f"no user named {name!r}")
    click.echo(f"user {name} removed")


@users.command("list")
@_STORE
def list_(store_url: str | None) -> None:
    """List users and roles (tab-separated: name, role, created)."""
    from fraudstream.dashboard.users import list_users
    from fraudstream.store import open_store

    with open_store(store_url) as store:
        for row in list_users(store).itertuples(index=False):
            click.echo(f"{row.name}\t{row.role}\t{row.created_at:%Y-%m-%d %H:%M:%S}")
