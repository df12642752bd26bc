"""The api layer's errors: the runtime's, the use cases' and the command line's.

They derive from ``corpus.exceptions.KizukiError`` like every error Kizuki raises on
purpose. None of them knows HTTP: ``api.http.errors`` maps each to its status and JSON
body in one place, the web page words them in its language (``api.web.errors``), and the
CLI prints them as one ``error:`` line (``api.cli.main``).
"""

from __future__ import annotations

from typing import Any

from kizuki.corpus.exceptions import KizukiError

__all__ = [
    "CliError",
    "IndexingFailed",
    "InvalidInput",
    "KizukiError",
    "NotFound",
    "NotIndexable",
    "OptionError",
    "ServiceNotReady",
]


class ServiceNotReady(KizukiError, RuntimeError):
    """The first snapshot is still being built."""


class NotIndexable(KizukiError, ValueError):
    """Building the index or graph with the given cases failed (nothing was changed)."""


class IndexingFailed(KizukiError, RuntimeError):
    """The next snapshot could not be built for a reason on the server's side (a full
    disk, the store busy with another writer): nothing was stored; retry later."""


class InvalidInput(KizukiError, ValueError):
    """A request that breaks a limit in force (an empty text, a text over the limit, ``k``
    out of range). ``code`` is the machine-readable code of the JSON error body
    (``validation_error``, ``text_too_long``); ``params`` are the values the web page needs
    to word it in its language (never part of the JSON body)."""

    def __init__(
        self, message: str, code: str = "validation_error", params: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, Any] = dict(params or {})


class NotFound(KizukiError, LookupError):
    """An id the snapshot does not hold: a case, a graph node, a cause or a countermeasure.
    ``code`` names what was looked for (``case_not_found``, ``node_not_found``, …)."""

    def __init__(self, message: str, code: str = "not_found", id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.id = id

    def __str__(self) -> str:  # KeyError-like quoting is not wanted in messages
        return self.args[0]


class CliError(KizukiError):
    """An expected failure that the user can fix; printed as one line, exit code 1."""

    exit_code = 1


class OptionError(CliError):
    """A bad option or argument value (out of range, not one of the choices): one line,
    exit code 2, the status of Click's own usage errors."""

    exit_code = 2
