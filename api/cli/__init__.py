"""The ``kizuki`` command line: one Typer app with a sub-app or command per area.

Each area registers its commands in its own module (``corpus_cmd``, ``search_cmd``,
``review_cmd``, ``graph_cmd``, ``serve_cmd``, ``store_cmd``); they run on the runtime
(``api.runtime``: the same service, snapshot and use cases as the HTTP API). This module
assembles them (``lazy_group``: a command's module is imported only when it runs), and ``main`` is the one place that turns every expected failure into one
``error: …`` line and an exit status instead of a traceback or Typer's boxed usage: a bad
option value or usage exits 2, any other expected failure 1.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence

import typer
from kizuki.api.cli.lazy_group import LazyGroup
from kizuki.api.exceptions import CliError, OptionError
from kizuki.corpus.exceptions import KizukiError, MissingExtra

try:  # recent Typer brings its own copy of Click, whose exceptions are not click's
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - Typer on the click package
    from click import exceptions as click_errors

__all__ = ["CliError", "OptionError", "app", "failure", "main"]

app = typer.Typer(
    name="kizuki",
    help="Kizuki (気づき): similar-incident search and cause–countermeasure graph "
    "over FSA system-failure cases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _kizuki() -> None:
    """The group itself does nothing: each command runs on its own."""


#: The modules of the ``postgres`` extra: missing, a PostgreSQL store cannot be opened.
_POSTGRES_MODULES = ("psycopg", "psycopg_pool")


def _usage_line(exc: click_errors.UsageError) -> str:
    """Click's message, lower-cased like ours, with where to look for the command's usage."""
    message = exc.format_message().replace("Value error, ", "").rstrip(".")
    message = message[:1].lower() + message[1:]
    ctx = exc.ctx
    return f"{message} (see `{ctx.command_path} --help`)" if ctx is not None else message


def failure(exc: BaseException) -> tuple[str, int] | None:
    """The one line and exit status of an expected failure; None for anything else (a bug,
    which keeps its traceback)."""
    if isinstance(exc, MissingExtra) or (
        isinstance(exc, ImportError) and (exc.name or "").split(".")[0] in _POSTGRES_MODULES
    ):
        return str(MissingExtra.for_postgres()), 1
    if isinstance(exc, KizukiError):  # CliError, OptionError, the store's errors, …
        return str(exc), getattr(exc, "exit_code", 1)
    if isinstance(exc, click_errors.UsageError):
        return _usage_line(exc), exc.exit_code
    if isinstance(exc, click_errors.ClickException):
        return exc.format_message(), exc.exit_code
    if isinstance(exc, typer.Abort):
        return "aborted", 1
    if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
        return f"a file in the data dir is read-only ({exc}); make the data dir writable", 1
    if isinstance(exc, OSError):
        if exc.filename is not None and exc.strerror:
            return f"{exc.filename}: {exc.strerror}", 1
        return str(exc), 1
    if isinstance(exc, ValueError):
        return str(exc), 1
    return None


def main(args: Sequence[str] | None = None) -> None:
    """Entry point of the console script (``args``: the command line, default
    ``sys.argv[1:]``; tests pass it to run a command in-process as the script runs it).

    ``--help`` and a bare group (which prints its help) keep Click's behaviour; every
    expected failure becomes ``error: ...`` on stderr (``failure``), never a traceback.
    """
    try:
        code = app(args=args, standalone_mode=False, prog_name="kizuki")
    except click_errors.NoArgsIsHelpError as exc:  # the help is already printed
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        found = failure(exc)
        if found is None:
            raise
        message, status = found
        typer.echo(f"error: {message}", err=True)
        sys.exit(status)
    sys.exit(code if isinstance(code, int) else 0)
