"""Kizuki's runtime: everything a running Kizuki does, without HTTP in it.

The service (``KizukiService``: the case store plus the immutable snapshot served, writes
validated before they commit), the snapshot and how it is built, swapped and saved, the
models it needs (``load_models``, loaded once per configuration), the analysts'
judgements, the progress of a long start, and one function per user action
(``search_incident``, ``recommend``, ``review_plan``) and per read (``reads``). The JSON
API (``api.http``), the web page (``api.web``) and the CLI (``api.cli``) all run on it;
nothing here imports FastAPI, Starlette or Jinja2 (``tests/test_layers.py`` checks).

The names below are imported lazily, so ``import kizuki.api.runtime.progress`` (or the CLI's
start-up) does not pay for the search index and the graph it does not use.
"""

from __future__ import annotations

from kizuki.corpus.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # the use cases
    "Filters": "kizuki.api.runtime.actions",
    "recommend": "kizuki.api.runtime.actions",
    "review_plan": "kizuki.api.runtime.actions",
    "search_incident": "kizuki.api.runtime.actions",
    "work_text": "kizuki.api.runtime.actions",
    "SearchHit": "kizuki.api.runtime.results",
    "SearchResult": "kizuki.api.runtime.results",
    # the service and its snapshot
    "KizukiService": "kizuki.api.runtime.service",
    "Snapshot": "kizuki.api.runtime.snapshot",
    "StoreState": "kizuki.api.runtime.snapshot",
    "build_snapshot": "kizuki.api.runtime.snapshot",
    "persist_snapshot": "kizuki.api.runtime.snapshot",
    "read_state": "kizuki.api.runtime.snapshot",
    "update_snapshot": "kizuki.api.runtime.snapshot",
    "local_service": "kizuki.api.runtime.local",
    "local_snapshot": "kizuki.api.runtime.local",
    # models, judgements, progress
    "Models": "kizuki.api.runtime.loader",
    "load_models": "kizuki.api.runtime.loader",
    "JudgementBook": "kizuki.api.runtime.judgements",
    "BuildProgress": "kizuki.api.runtime.progress",
    "building": "kizuki.api.runtime.progress",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
