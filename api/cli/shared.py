"""What the commands share: the runtime they read (with a spinner while it loads) and how
they print JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from kizuki.api.exceptions import InvalidInput, OptionError
from kizuki.api.runtime.local import local_service
from kizuki.api.runtime.progress import building
from kizuki.api.runtime.service import KizukiService
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.corpus.settings import Settings

__all__ = ["echo_json", "option_values", "service", "snapshot"]

T = TypeVar("T")


def service(settings: Settings) -> KizukiService:
    """The runtime for these settings: the same service ``kizuki serve`` runs, started on
    the store (seeded with the bundled corpus on first use), its index and graph loaded
    from disk when they match the store. A spinner on a terminal meanwhile."""
    with building(settings):
        return local_service(settings)


def snapshot(settings: Settings) -> Snapshot:
    """The service's current snapshot (see ``service``)."""
    return service(settings).snapshot


def echo_json(value: Any) -> None:
    """``value`` as indented JSON on standard output (non-ASCII text kept as it is)."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def option_values(resolve: Callable[..., T], *args: Any) -> T:
    """``resolve(*args)`` (the runtime's reading of ``--sector`` / ``--theme``,
    ``api.runtime.filters``), its refusal made a bad option value (one line, exit 2)."""
    try:
        return resolve(*args)
    except InvalidInput as exc:
        raise OptionError(str(exc)) from None
