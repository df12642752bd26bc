"""The one way the CLI and the HTTP API get the ranking code path.

``get_snapshot`` reads the cases from the store (seeding it with the bundled corpus on first
use) and builds or loads everything derived from them through ``api.snapshot`` — the same
builder the HTTP service uses: the search index (``search.index.ensure_index``, the one place
that builds or loads it), the graph and the cause-aware ranker. It is cached per
configuration and store version, so repeated calls in one process cost nothing until the
store changes. ``get_searcher`` returns that ranker, so ``kizuki search``, ``kizuki eval``
and the API rank with the same code.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from corpus.settings import Settings, get_settings
from search.analysis import Analyzer
from search.embeddings import Embedder, load_embedder
from search.index import IndexConfig

_lock = threading.Lock()
_snapshots: dict[tuple, object] = {}


def _model_key(settings: Settings) -> tuple:
    return (
        settings.embedding_backend,
        settings.embedding_model,
        settings.query_prompt,
        settings.passage_prompt,
        settings.embedding_threads,
    )


@lru_cache(maxsize=4)
def _embedder(key: tuple) -> Embedder:
    backend, model, query_prompt, passage_prompt, threads = key
    return load_embedder(
        Settings(
            embedding_backend=backend,
            embedding_model=model,
            query_prompt=query_prompt,
            passage_prompt=passage_prompt,
            embedding_threads=threads,
        )
    )


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name, loaded once per process."""
    return _embedder(_model_key(settings))


@lru_cache(maxsize=1)
def get_analyzer() -> Analyzer:
    return Analyzer(IndexConfig().analyzer)


def open_store(settings: Settings):
    """The case store, seeded with the bundled corpus on first use (once per process)."""
    return _open_store(settings.database_url or str(settings.store_path))


@lru_cache(maxsize=8)
def _open_store(where: str):
    from corpus import seed_cases
    from corpus.store import open_store as open_any

    if "://" in where:
        store = open_any(Settings(database_url=where))
    else:
        store = open_any(Settings(data_dir=Path(where).parent, database_url=None))
    store.ensure_seeded(seed_cases())
    return store


def get_snapshot(settings: Settings | None = None):
    """Everything served for the store's current cases: index, searchers, graph, extractor.

    The same ``api.snapshot`` builder as the HTTP service, so the CLI, the API and the
    evaluation see one index, one graph and one ranking. Loaded from the saved index and
    graph when they match the store; rebuilt (incrementally where possible) when not.
    """
    from api.snapshot import build_snapshot, read_state, update_snapshot

    settings = settings or get_settings()
    ranker = str(settings.ranker_file) if settings.ranker_file else None
    key = (str(settings.data_dir), settings.database_url, ranker, *_model_key(settings))
    with _lock:
        store = open_store(settings)
        version = store.version()
        snapshot = _snapshots.get(key)
        if snapshot is None or snapshot.store_version != version:
            state = read_state(store)
            snapshot = (
                update_snapshot(snapshot, state, settings)
                if snapshot is not None
                else build_snapshot(state, settings)
            )
            _snapshots[key] = snapshot
        return snapshot


def get_searcher(settings: Settings | None = None):
    """The product's ranking: the learned search plus the graph's cause source.

    ``kizuki search``, ``kizuki eval`` and ``POST /search`` all rank through this.
    """
    return get_snapshot(settings).ranker
