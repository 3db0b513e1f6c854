"""The ``fraudstream`` command group and its error handling.

Subcommands live one family per module and are listed in :data:`COMMANDS`. Errors raised on
purpose (:class:`~fraudstream.errors.FraudStreamError`) become one line on stderr and their exit
code (2 for bad arguments), never a traceback.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from fraudstream import __version__
from fraudstream.errors import FraudStreamError

COMMANDS: dict[str, str] = {
    "generate": "fraudstream.cli.generate:generate",
    "import": "fraudstream.cli.import_:import_command",
    "worlds": "fraudstream.cli.generate:worlds",
    "serve": "fraudstream.cli.serve:serve_command",
    "train": "fraudstream.cli.train:train",
    "evaluate": "fraudstream.cli.train:evaluate",
    "watch": "fraudstream.cli.watch:watch",
    "demo": "fraudstream.cli.demo:demo",
    "detect": "fraudstream.cli.detect:detect",
    "dashboard": "fraudstream.cli.dashboard:dashboard",
    "users": "fraudstream.cli.users:users",
}
"""Subcommand name -> "module:attribute" of its click command (imported when used)."""


class _FraudStreamError(click.ClickException):
    def __init__(self, error: FraudStreamError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code


class _OneLineUsageError(click.ClickException):
    """A usage error as one line (click prints usage and a hint on three more)."""

    exit_code = 2

    def __init__(self, error: click.UsageError) -> None:
        hint = f" (see '{error.ctx.command_path} -h')" if error.ctx is not None else ""
        super().__init__(f"{error.format_message()}{hint}")


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it runs, and turns library errors
    into one clear line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FraudStreamError as error:
            raise _FraudStreamError(error) from None
        except click.UsageError as error:
            raise _OneLineUsageError(error) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fraudstream")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """fraudstream: simulate, stream and detect financial-transaction fraud in real time.

    Results on simulated data are results on simulated data: every world is labelled as such.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
