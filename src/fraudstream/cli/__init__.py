"""The ``fraudstream`` command: a thin click group; each subcommand calls one library function."""

from fraudstream.cli.main import cli

__all__ = ["cli"]
