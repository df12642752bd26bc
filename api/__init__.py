"""Kizuki's service: the runtime, and the three ways people reach it.

* ``api.runtime``: the service (case store + immutable snapshot), how snapshots are built,
  swapped and saved, the models, the analysts' judgements, and one function per user
  action (``search_incident``, ``recommend``, ``review_plan``). No HTTP in it.
* ``api.http``: the JSON API (routers, dependencies, errors, middlewares).
* ``api.web``: the web page (routes, rendering, wording in Japanese and English).
* ``api.cli``: the ``kizuki`` command line.
* ``api.app``: ``create_app``, the FastAPI application of ``kizuki serve``.

From Python, the names below are the way in (imported lazily: ``import api`` loads
nothing heavy)::

    from kizuki.api import local_snapshot, search_incident
    from kizuki.corpus.settings import Settings

    settings = Settings(data_dir="/tmp/kizuki")
    result = search_incident(local_snapshot(settings), "夜間バッチが異常終了した", settings=settings)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "KizukiError": "corpus.exceptions",
    "Filters": "api.runtime.actions",
    "recommend": "api.runtime.actions",
    "review_plan": "api.runtime.actions",
    "search_incident": "api.runtime.actions",
    "SearchResult": "api.runtime.results",
    "KizukiService": "api.runtime.service",
    "Snapshot": "api.runtime.snapshot",
    "local_service": "api.runtime.local",
    "local_snapshot": "api.runtime.local",
    "create_app": "api.app",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'api' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
