"""The package as a whole: public names and the command's help."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from click.testing import CliRunner

import fraudstream
from fraudstream.cli.main import COMMANDS, cli


def public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(fraudstream.__path__, "fraudstream."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", public_modules())
def test_every_name_in_all_exists(name):
    module = importlib.import_module(name)  # the test extra installs every optional dependency
    for public in getattr(module, "__all__", []):
        assert hasattr(module, public), f"{name}.__all__ lists {public!r}, which does not exist"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: cli " in result.output or "Usage: " in result.output
    assert len(result.output.splitlines()) > 4


def test_top_level_help_lists_every_subcommand():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output

