"""The one way the CLI and the HTTP API get the ranking code path.

``get_searcher`` reads the cases from the store (seeding it with the bundled corpus on first
use), loads the index snapshot under ``settings.index_dir`` or rebuilds it when stale, and
returns a ``search.engine.Searcher``. It is cached per configuration and store version, so
repeated calls in one process cost nothing until the store changes. Later layers (the graph's
cause-aware ranking) wrap this function instead of building their own searcher, so
``kizuki search``, ``kizuki eval`` and the API rank with the same code.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from corpus.schema import Case
from corpus.settings import Settings, get_settings
from search.analysis import Analyzer
from search.embeddings import Embedder, load_embedder
from search.engine import RankConfig, Searcher
from search.index import IndexConfig, SearchIndex, ensure_index

_lock = threading.Lock()
_searchers: dict[tuple, tuple[tuple[int, int], Searcher]] = {}


def _model_key(settings: Settings) -> tuple:
    return (
        settings.embedding_backend,
        settings.embedding_model,
        settings.query_prompt,
        settings.passage_prompt,
    )


@lru_cache(maxsize=4)
def _embedder(key: tuple) -> Embedder:
    backend, model, query_prompt, passage_prompt = key
    return load_embedder(
        Settings(
            embedding_backend=backend,
            embedding_model=model,
            query_prompt=query_prompt,
            passage_prompt=passage_prompt,
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
    return _open_store(str(settings.store_path))


@lru_cache(maxsize=8)
def _open_store(path: str):
    from corpus import seed_cases
    from corpus.store import CaseStore

    store = CaseStore(path)
    store.ensure_seeded(seed_cases())
    return store


def load_cases(settings: Settings) -> list[Case]:
    """All cases of the store, in store order."""
    return open_store(settings).all_cases()


def searcher_for(index: SearchIndex, settings: Settings) -> Searcher:
    """A searcher over a given index with the process-wide models and default ranking."""
    return Searcher(index, get_embedder(settings), get_analyzer(), RankConfig())


def get_searcher(settings: Settings | None = None) -> Searcher:
    """The searcher over the store's current cases; rebuilt only when the store changed."""
    settings = settings or get_settings()
    key = (str(settings.data_dir), *_model_key(settings))
    with _lock:
        store = open_store(settings)
        version = (store.version(), store.count())
        cached = _searchers.get(key)
        if cached and cached[0] == version:
            return cached[1]
        cases = store.all_cases()
        index = ensure_index(
            cases, settings, embedder=get_embedder(settings), analyzer=get_analyzer()
        )
        searcher = searcher_for(index, settings)
        _searchers[key] = (version, searcher)
        return searcher
