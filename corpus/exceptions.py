"""Kizuki's exceptions: the one base class, and the corpus layer's errors.

Every error Kizuki raises on purpose derives from ``KizukiError``. Each package keeps its
own errors in one module, as networkx keeps ``networkx.exception``: ``corpus.exceptions``
(this one: input files, the case store, judgements), ``search.exceptions``,
``graph.exceptions`` and ``api.exceptions``. Each error also derives from the built-in
class its callers catch (``ValueError`` for bad input, ``LookupError`` for an unknown id,
``ConnectionError`` for a store that does not answer), so ``except ValueError`` keeps
working. The base lives here because ``corpus`` is the bottom layer that every other
package may import. The modules that raise an error also import it, so
``from kizuki.corpus.store import StoreDamaged`` works as before.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CorpusImportError",
    "DuplicateCaseError",
    "FeedbackLimit",
    "KizukiError",
    "MissingExtra",
    "NotSupported",
    "ReportParseError",
    "RowError",
    "StoreChanged",
    "StoreDamaged",
    "StoreFull",
    "StoreReadOnly",
    "StoreUnavailable",
]


class KizukiError(Exception):
    """Base class of every error Kizuki raises on purpose (a bug raises something else)."""


# -- input files ------------------------------------------------------------------------


class ReportParseError(KizukiError, ValueError):
    """The text does not follow the report layout; ``line`` is 1-based (or None)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True)
class RowError:
    """One problem in an input file; ``line`` and ``field`` are None when not applicable."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        """``FILE:LINE:FIELD: message`` (the parts that apply)."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field is not None:
            where += f":{self.field}"
        return f"{where}: {self.message}"


class CorpusImportError(KizukiError, ValueError):
    """An input file with bad rows; nothing from it should be kept."""

    def __init__(self, errors: list[RowError], total: int | None = None) -> None:
        #: The first ``corpus.io.MAX_REPORTED_ERRORS`` errors, in file order.
        self.errors = errors
        #: How many errors the file has in all.
        self.total = total if total is not None else len(errors)
        message = str(errors[0])
        if self.total > 1:
            more = self.total - 1
            message += f" (and {more} more error{'s' if more > 1 else ''})"
        super().__init__(message)


# -- the case store ---------------------------------------------------------------------


class DuplicateCaseError(KizukiError, ValueError):
    """A case id that is already stored (or repeated within one batch)."""


class StoreChanged(KizukiError, RuntimeError):
    """The store's version moved on (another process wrote) since the caller read it."""


class StoreDamaged(KizukiError, RuntimeError):
    """The database fails its integrity check, or its write-ahead log has gone missing."""


class StoreUnavailable(KizukiError, ConnectionError):
    """The database cannot be reached now (a PostgreSQL restart, the network): retry."""


class StoreFull(StoreUnavailable):
    """The disk holding the store (or the data dir) is full: nothing was written."""


class NotSupported(KizukiError, RuntimeError):
    """This kind of store does not do that (e.g. ``backup`` of a PostgreSQL store)."""


class StoreReadOnly(KizukiError, RuntimeError):
    """The store (or the data dir that holds it) cannot be written: not damaged, and nothing
    to retry; the user must make it writable or choose another data dir."""


class MissingExtra(KizukiError, ImportError):
    """A PostgreSQL store was asked for, but the ``postgres`` extra (psycopg) is not installed."""

    @classmethod
    def for_postgres(cls) -> MissingExtra:
        return cls(
            "a PostgreSQL store (KIZUKI_DATABASE_URL or --database-url) needs the `postgres` "
            "extra: install it with pip install 'kizuki[postgres]' (in a checkout: "
            "pip install -e '.[postgres]'), or unset KIZUKI_DATABASE_URL to use the SQLite "
            "store in the data dir",
            name="psycopg",
        )


# -- analysts' judgements ---------------------------------------------------------------


class FeedbackLimit(KizukiError, ValueError):
    """A write over a cap; ``retry_after`` is set (seconds) when waiting helps."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
