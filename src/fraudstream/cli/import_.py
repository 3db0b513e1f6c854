"""``fraudstream import``: load a CSV or Parquet file into the store."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fraudstream.adapters import adapter_names
from fraudstream.errors import ConfigError
from fraudstream.store import open_store, store_url
from fraudstream.store.importer import import_file


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--schema", help=f"Layout of the file: {', '.join(adapter_names())} (default: detected from the columns)."
)
@click.option(
    "--store",
    "url",
    envvar="FRAUDSTREAM_STORE",
    metavar="URL",
    help="Store URL: sqlite:///path.db or postgresql://user@host:5432/db[?schema=NAME] "
    "(env FRAUDSTREAM_STORE; default sqlite:///fraudstream.db).",
)
@click.option("--chunk-rows", type=int, default=75_000, show_default=True, help="Rows per chunk.")
@click.option(
    "--rejects",
    "rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file for rejected rows (line, reason, original columns) "
    "[default: <file stem>.rejects.csv in the current folder].",
)
@click.option(
    "--id-prefix",
    help="Prefix of tx_id for layouts without an id column (kaggle, ulb, "
    "paysim) [default: the file's name up to the first dot].",
)
@click.option(
    "--retention-days",
    type=float,
    help="After the import, drop stored transactions, decisions "
    "and alerts of months that ended more than this many days ago.",
)
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="After an interrupted import of the same file, skip writing the chunks it stored "
    "(they are still read, for the profiles and the rejects).",
)
@click.option("--quiet", is_flag=True, help="No progress display.")
def import_command(
    file: Path,
    schema: str | None,
    url: str | None,
    chunk_rows: int,
    rejects: Path | None,
    id_prefix: str | None,
    retention_days: float | None,
    resume: bool,
    quiet: bool,
) -> None:
    """Import transactions from FILE (CSV or Parquet) into the store, chunk by chunk.

    Rows missing key fields or with bad values are rejected with their line numbers into the
    rejects file; the rest are stored once (re-importing stores nothing twice); customer
    behaviour profiles are built at the end. An interrupted import (Ctrl-C, kill -9) run again
    resumes after the last chunk it committed.

    \b
    Examples:
      fraudstream import cards.csv --store postgresql://postgres@127.0.0.1:5432/test
      fraudstream import creditcard.csv --schema ulb --rejects ulb_rejects.csv
      fraudstream import handbook.parquet --store sqlite:///fraud.db
    """
    if chunk_rows < 1:
        raise ConfigError(f"--chunk-rows must be >= 1, got {chunk_rows}")
    if retention_days is not None and retention_days < 0:
        raise ConfigError(f"--retention-days must be >= 0, got {retention_days}")
    rejects = rejects if rejects is not None else Path(f"{file.name.split('.')[0]}.rejects.csv")
    console = Console(stderr=True)
    with (
        open_store(store_url(url)) as store,
        Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.completed:,} rows"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet or not console.is_terminal,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task(f"{file.name} -> {store.describe()}", total=None)
        report = import_file(
            file,
            store,
            schema=schema,
            chunk_rows=chunk_rows,
            rejects_path=rejects,
            id_prefix=id_prefix,
            on_rows=lambda n: progress.advance(task, n),
            resume=resume,
        )
        dropped = store.drop_older_than(retention_days) if retention_days is not None else []
    click.echo(report.summary())
    if dropped:
        click.echo(f"retention {retention_days:g} days: dropped {', '.join(dropped)}")
