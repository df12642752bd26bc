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

from kizuki.corpus.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "KizukiError": "kizuki.corpus.exceptions",
    "Filters": "kizuki.api.runtime.actions",
    "recommend": "kizuki.api.runtime.actions",
    "review_plan": "kizuki.api.runtime.actions",
    "search_incident": "kizuki.api.runtime.actions",
    "SearchResult": "kizuki.api.runtime.results",
    "KizukiService": "kizuki.api.runtime.service",
    "Snapshot": "kizuki.api.runtime.snapshot",
    "local_service": "kizuki.api.runtime.local",
    "local_snapshot": "kizuki.api.runtime.local",
    "create_app": "kizuki.api.app",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
