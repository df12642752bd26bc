"""``kizuki store …``: back up and check the case store.

* ``kizuki store backup DEST [--data-dir DIR]`` copies the store with SQLite's online
  backup API: safe while a server is running and writing; the copy is one committed
  state, a standalone file (no ``-wal`` needed beside it).
* ``kizuki store check [--data-dir DIR]`` runs ``PRAGMA quick_check``, looks for a lost
  write-ahead log and lists stored rows that cannot be served.

Restore: stop the server, copy the backup to ``<data dir>/cases.sqlite3`` (removing any
``cases.sqlite3-wal`` and ``-shm`` beside it), start the server: the index and the graph
no longer match the store and are rebuilt from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli import CliError

store_app = typer.Typer(help="The case store: back it up, check it.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Kizuki data directory (default: KIZUKI_DATA_DIR)."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")


def _store_path(data_dir: Path | None) -> Path:
    from corpus.settings import Settings, get_settings

    settings = get_settings() if data_dir is None else Settings(data_dir=data_dir)
    path = settings.store_path
    if not path.is_file():
        raise CliError(f"no case store at {path}")
    return path


@store_app.command()
def backup(
    destination: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
    data_dir: DataDir = None,
) -> None:
    """Copy the live store to DESTINATION with SQLite's online backup API."""
    from corpus.store import CaseStore, StoreDamaged, wal_problem

    path = _store_path(data_dir)
    problem = wal_problem(path)
    if problem:
        raise CliError(f"{path}: {problem}")
    if destination.exists():
        raise CliError(f"{destination} already exists; choose a new file")
    try:
        store = CaseStore(path)
        store.check()
        store.backup(destination)
    except StoreDamaged as exc:
        raise CliError(str(exc)) from None
    copy = CaseStore(destination)
    typer.echo(f"backed up {copy.count()} cases (store version {copy.version()}) to {destination}")


@store_app.command()
def check(data_dir: DataDir = None) -> None:
    """Check the store's integrity and list rows that cannot be served."""
    from corpus.store import CaseStore, StoreDamaged, wal_problem

    path = _store_path(data_dir)
    problem = wal_problem(path)
    if problem:
        raise CliError(f"{path}: {problem}")
    try:
        store = CaseStore(path)
        store.check()
    except StoreDamaged as exc:
        raise CliError(str(exc)) from None
    cases, skipped = store.read_cases()
    for row in skipped:
        typer.echo(f"skipped {row.case_id!r}: {row.reason}")
    typer.echo(f"{path}: ok, {len(cases)} cases servable, {len(skipped)} skipped")
