"""What the commands share: the runtime they read (with a spinner while it loads) and how
they print JSON."""

from __future__ import annotations

import json
from typing import Any

import typer
from kizuki.api.runtime.local import local_service
from kizuki.api.runtime.progress import building
from kizuki.api.runtime.service import KizukiService
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.corpus.settings import Settings

__all__ = ["echo_json", "service", "snapshot"]


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
