"""The ``kizuki`` command line: one Typer app with a sub-app or command per area.

Each area registers its commands in its own module (``corpus_cmd``, ``search_cmd``,
``graph_cmd``, ``serve_cmd``); this module only assembles them and turns expected
errors into a one-line message and a non-zero exit instead of a traceback.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="kizuki",
    help="Kizuki (気づき): similar-incident search and cause–countermeasure graph "
    "over FSA system-failure cases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class CliError(Exception):
    """An expected failure that the user can fix; printed as one line, exit code 1."""


def _register() -> None:
    import importlib

    for name in ("corpus_cmd", "search_cmd", "review_cmd", "graph_cmd", "serve_cmd", "store_cmd"):
        try:
            module = importlib.import_module(f"api.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"api.cli.{name}":
                continue  # that area is not built yet
            raise
        module.register(app)


_register()


def main() -> None:
    """Entry point of the console script.

    Click handles usage errors and ``--help`` itself (exit 2 / 0); expected failures
    raised by commands become ``error: ...`` on stderr and exit 1, never a traceback.
    """
    try:
        app()
    except CliError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
