"""Kizuki's runtime: everything a running Kizuki does, without HTTP in it.

The service (``KizukiService``: the case store plus the immutable snapshot served, writes
validated before they commit), the snapshot and how it is built, swapped and saved, the
models it needs (``load_models``, loaded once per configuration), the analysts'
judgements, the progress of a long start, and one function per user action
(``search_incident``, ``recommend``, ``review_plan``) and per read (``reads``). The JSON
API (``api.http``), the web page (``api.web``) and the CLI (``api.cli``) all run on it;
nothing here imports FastAPI, Starlette or Jinja2 (``tests/test_layers.py`` checks).

The names below are imported lazily, so ``import api.runtime.progress`` (or the CLI's
start-up) does not pay for the search index and the graph it does not use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # the use cases
    "Filters": "api.runtime.actions",
    "recommend": "api.runtime.actions",
    "review_plan": "api.runtime.actions",
    "search_incident": "api.runtime.actions",
    "work_text": "api.runtime.actions",
    "SearchHit": "api.runtime.results",
    "SearchResult": "api.runtime.results",
    # the service and its snapshot
    "KizukiService": "api.runtime.service",
    "Snapshot": "api.runtime.snapshot",
    "StoreState": "api.runtime.snapshot",
    "build_snapshot": "api.runtime.snapshot",
    "persist_snapshot": "api.runtime.snapshot",
    "read_state": "api.runtime.snapshot",
    "update_snapshot": "api.runtime.snapshot",
    "local_service": "api.runtime.local",
    "local_snapshot": "api.runtime.local",
    # models, judgements, progress
    "Models": "api.runtime.loader",
    "load_models": "api.runtime.loader",
    "JudgementBook": "api.runtime.judgements",
    "BuildProgress": "api.runtime.progress",
    "building": "api.runtime.progress",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'api.runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
