"""The one input rule of every command that takes a text (``search``, ``review``,
``graph recommend``), and the checks of the options they share.

TEXT is read as follows, the same way by every command:

* ``-`` reads standard input;
* ``@FILE`` or ``--file FILE`` reads a file;
* an argument that names an existing file is read too (``kizuki review plan.txt``);
* an argument that looks like a path to a file that is not there (one word ending in
  ``.txt``, ``.md``, ``.json``, ``.jsonl``, ``.csv``, or starting with ``/``, ``./``,
  ``../``, ``~``, or whose folder exists) is an error, not a text: a typo must not be
  searched as an incident;
* anything else is the text itself.

Files and standard input are UTF-8 (a byte-order mark is accepted). Leading and trailing
white space, a trailing newline included, is stripped: ``echo TEXT | kizuki search -`` scores
exactly like ``kizuki search TEXT``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from kizuki.api.exceptions import CliError, OptionError
from kizuki.corpus.settings import Settings, get_settings
from kizuki.search.scorer import RankerFileError, RankerModel

#: Endings that make a one-word argument a file name rather than a text.
FILE_SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".csv", ".tsv", ".text")
#: Longest argument tested as a path (a longer one is a text: no file name is that long).
MAX_PATH_CHARS = 1024
#: Bytes read per character allowed, at most (UTF-8), plus room for a BOM and newlines.
_BYTES_PER_CHAR = 4
_SLACK_BYTES = 64

RankerFileOption = Annotated[
    Path | None,
    typer.Option(
        "--ranker-file",
        help="Ranking weights written by `kizuki train -o` (default: KIZUKI_RANKER_FILE, "
        "else the shipped ones).",
    ),
]
FileOption = Annotated[
    Path | None,
    typer.Option("--file", help="Read the text from this UTF-8 file (the same as @FILE)."),
]


def settings_with_ranker(ranker_file: Path | None) -> Settings:
    """The process's settings with ``--ranker-file`` when given, passed down to the index and
    graph (never a global); the file is checked here, before anything is loaded."""
    settings = get_settings()
    if ranker_file is not None:
        settings = settings.model_copy(update={"ranker_file": ranker_file})
    check_ranker_file(settings)
    return settings


def check_ranker_file(settings: Settings) -> None:
    """A ranker file the settings name must load (one error line, before any index work)."""
    if settings.ranker_file is not None:
        try:
            RankerModel.from_file(settings.ranker_file)
        except RankerFileError as exc:
            raise CliError(str(exc)) from None


def check_k(k: int, limit: int) -> None:
    """Every ``--k`` is 1..``limit`` (``KIZUKI_MAX_K``), as the API's ``k`` is."""
    if not 1 <= k <= limit:
        raise OptionError(f"--k must be between 1 and {limit}, not {k}")


def read_input(value: str | None, file: Path | None, what: str, limit: int) -> str:
    """The text an argument and ``--file`` stand for (the module's rule), stripped, checked
    to be non-empty and at most ``limit`` characters. ``what`` names it in messages."""
    if value is not None and file is not None:
        raise OptionError(f"give {what} as an argument or with --file, not both")
    if file is not None:
        text = read_file(file, what, limit)
    elif value is None:
        raise OptionError(
            f"give {what}: as an argument, '-' for standard input, or @FILE / --file FILE"
        )
    elif value == "-":
        text = read_stdin(what, limit)
    elif value.startswith("@"):
        if len(value) == 1:
            raise OptionError(f"give a file name after @ (for {what})")
        text = read_file(Path(value[1:]).expanduser(), what, limit)
    elif names_a_file(value):
        text = read_file(Path(value).expanduser(), what, limit)
    elif looks_like_path(value):
        raise CliError(
            f"{value}: no such file (a text that looks like a file name can be given on "
            "standard input: '-')"
        )
    else:
        text = value
    return checked(text, what, limit)


def checked(text: str, what: str, limit: int) -> str:
    """``text`` stripped; an error when nothing is left or it is over ``limit`` characters."""
    text = text.strip()
    if not text:
        raise CliError(f"{what} is empty")
    if len(text) > limit:
        raise CliError(f"{what} has {len(text)} characters; the limit is {limit}")
    return text


def names_a_file(value: str) -> bool:
    """An existing file (never raises: a long text is no path, ``[Errno 36]`` included)."""
    if "\n" in value or len(value) > MAX_PATH_CHARS:
        return False
    return os.path.isfile(os.path.expanduser(value))


def looks_like_path(value: str) -> bool:
    """A one-word argument that a person would only type as a file name."""
    if len(value) > MAX_PATH_CHARS or any(ch.isspace() for ch in value):
        return False
    if value.lower().endswith(FILE_SUFFIXES):
        return True
    if value.startswith(("/", "./", "../", "~")):
        return True
    head, sep, _ = value.partition(os.sep)
    return bool(sep) and bool(head) and os.path.isdir(head)


def read_file(path: Path, what: str, limit: int) -> str:
    """A UTF-8 file of at most ``limit`` characters; every failure is one ``CliError``."""
    most = limit * _BYTES_PER_CHAR + _SLACK_BYTES
    try:
        with path.open("rb") as fh:
            data = fh.read(most + 1)
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > most:
        raise CliError(f"{path}: {what} is longer than the limit of {limit} characters")
    return _decode(data, str(path))


def read_stdin(what: str, limit: int) -> str:
    """Standard input as UTF-8 text, at most ``limit`` characters (and a little slack)."""
    most = limit * _BYTES_PER_CHAR + _SLACK_BYTES
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes underneath (some test harnesses)
        return sys.stdin.read()
    data = stream.read(most + 1)
    if len(data) > most:
        raise CliError(f"standard input: {what} is longer than the limit of {limit} characters")
    return _decode(data, "standard input")


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(
            f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None
