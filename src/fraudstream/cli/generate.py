"""``fraudstream generate`` and ``fraudstream worlds``: write a world's transactions to a file."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fraudstream.adapters import get_adapter
from fraudstream.errors import ConfigError
from fraudstream.files import file_format, write_frames
from fraudstream.worlds import get_world, world_names


def parse_params(values: tuple[str, ...]) -> dict[str, str]:
    """``("n_customers=100", ...)`` -> ``{"n_customers": "100", ...}``."""
    params = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--param must be KEY=VALUE, got {item!r}")
        params[key.strip()] = value.strip()
    return params


@click.command()
@click.option("--world", "world_name", default="classroom", show_default=True, metavar="WORLD",
              help=f"World to simulate: {', '.join(world_names())}.")
@click.option("--rows", type=int, help="Number of transactions to generate.")
@click.option("--days", type=float, help="Simulated days to generate (default: the world's reference run).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; same seed, same bytes.")
@click.option("--start", help="Simulated start time, ISO 8601 (default: the world's own).")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="World parameter, repeatable (see `fraudstream worlds`).")
@click.option("--schema", help="Write in an external layout (e.g. kaggle, handbook, classroom) "
              "instead of canonical columns.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file: .parquet, .csv or .ndjson.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate(world_name: str, rows: int | None, days: float | None, seed: int, start: str | None,
             params: tuple[str, ...], schema: str | None, out: Path, quiet: bool) -> None:
    """Generate labelled transactions from a simulated world into a file.

    \b
    Examples:
      fraudstream generate --world handbook --out handbook.parquet
      fraudstream generate --world classroom --rows 100000 --seed 7 --out class.csv
      fraudstream generate --world sparkov --days 30 --schema kaggle --out cards.csv
    """
    if rows is not None and rows < 0:
        raise ConfigError(f"--rows must be >= 0, got {rows}")
    if days is not None and not days > 0:
        raise ConfigError(f"--days must be > 0, got {days}")
    file_format(out)
    world = get_world(world_name)(seed=seed, start=start, **parse_params(params))
    frames = world.generate(rows=rows, days=days)
    if schema is not None:
        adapter = get_adapter(schema)
        frames = map(adapter.from_canonical, frames)
    console = Console(stderr=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, disable=quiet or not console.is_terminal,
                  transient=True) as progress:
        task = progress.add_task(f"{world_name} -> {out.name}", total=rows)
        total = write_frames(frames, out, on_rows=lambda n: progress.advance(task, n))
    console.print(f"wrote {total:,} transactions of world {world_name} (seed {seed}) to {out}")


@click.command()
def worlds() -> None:
    """List the worlds and their parameters."""
    console = Console()
    for name in world_names():
        world = get_world(name)
        console.print(f"[bold]{name}[/bold]: {world.summary}")
        for param, kind, default in world.describe_params():
            console.print(f"    -p {param}=<{kind}>  (default {default})")
