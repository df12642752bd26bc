"""``kizuki store …``: back up and check the case store.

* ``kizuki store backup DEST [--data-dir DIR]`` copies the store with SQLite's online
  backup API: safe while a server is running and writing; the copy is one committed
  state, a standalone file (no ``-wal`` needed beside it).
* ``kizuki store check [--data-dir DIR]`` runs ``PRAGMA quick_check``, looks for a lost
  write-ahead log and lists stored rows that cannot be served.

Restore: stop the server, copy the backup to ``<data dir>/cases.sqlite3`` (removing any
``cases.sqlite3-wal`` and ``-shm`` beside it), start the server: the index and the graph
no longer match the store and are rebuilt from it.

With a PostgreSQL store (``KIZUKI_DATABASE_URL``), ``check`` checks that the tables are
readable and lists unservable rows; backups are PostgreSQL's job (``pg_dump``,
``pg_basebackup``), so ``backup`` says so and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from kizuki.api.exceptions import CliError
from kizuki.corpus.settings import Settings, get_settings
from kizuki.corpus.sqlite_store import SqliteCaseStore
from kizuki.corpus.store import open_store, store_exists

store_app = typer.Typer(help="The case store: back it up, check it.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Kizuki data directory (default: KIZUKI_DATA_DIR)."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")


def _open(data_dir: Path | None):
    """The configured store, checked (an existing SQLite file, or the PostgreSQL store)."""
    settings = get_settings() if data_dir is None else Settings(data_dir=data_dir)
    if not store_exists(settings):
        raise CliError(f"no case store at {settings.store_path}")
    return open_store(settings, check=True)  # StoreDamaged: one error line (api.cli.main)


@store_app.command()
def backup(
    destination: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
    data_dir: DataDir = None,
) -> None:
    """Copy the live store to DESTINATION with SQLite's online backup API."""
    if destination.exists():
        raise CliError(f"{destination} already exists; choose a new file")
    if not destination.parent.is_dir():  # a typo must not create folders
        raise CliError(f"{destination.parent}: no such directory; create it first")
    store = _open(data_dir)
    store.backup(destination)  # NotSupported (PostgreSQL): one error line (api.cli.main)
    copy = SqliteCaseStore(destination)
    typer.echo(f"backed up {copy.count()} cases (store version {copy.version()}) to {destination}")


@store_app.command()
def check(data_dir: DataDir = None) -> None:
    """Check the store's integrity and list rows that cannot be served."""
    store = _open(data_dir)
    cases, skipped = store.read_cases()
    for row in skipped:
        typer.echo(f"skipped {row.case_id!r}: {row.reason}")
    typer.echo(f"{store.where}: ok, {len(cases)} cases servable, {len(skipped)} skipped")
