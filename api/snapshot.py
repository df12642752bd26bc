"""An immutable view of everything the service serves, derived from one state of the store.

Building one is the only place where the API touches search's index and graph's builder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from corpus.schema import Case
from corpus.settings import Settings

log = logging.getLogger("kizuki.snapshot")

#: (store version, cases in store order, case id → origin), read from the store.
StoreState = tuple[int, list[Case], dict[str, str]]


@dataclass(frozen=True, eq=False)
class Snapshot:
    store_version: int
    cases: tuple[Case, ...]
    origins: Mapping[str, str]
    index: Any = None
    searcher: Any = None
    graph: Any = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    built_at: float = field(default_factory=time.time)
    build_seconds: float = 0.0

    @property
    def ranker(self) -> Any:
        """What queries go through: the cause-aware searcher (plain searcher without graph)."""
        return self.extras.get("ranker") or self.searcher

    @property
    def extractor(self) -> Any:
        return self.extras.get("extractor")

    @cached_property
    def by_id(self) -> Mapping[str, Case]:
        return MappingProxyType({case.id: case for case in self.cases})

    @cached_property
    def sectors(self) -> list[str]:
        """Sectors by number of cases, most common first."""
        counts: dict[str, int] = {}
        for case in self.cases:
            for sector in case.sectors:
                counts[sector] = counts.get(sector, 0) + 1
        return sorted(counts, key=lambda s: (-counts[s], s))

    @cached_property
    def themes(self) -> list[tuple[str, str]]:
        """(theme id, label) pairs in first-seen order."""
        seen: dict[str, str] = {}
        for case in self.cases:
            if case.theme and case.theme.id not in seen:
                seen[case.theme.id] = case.theme.label
        return list(seen.items())


def read_state(store: Any) -> StoreState:
    """The store's state for a snapshot. The version is read first: if another process
    writes in between, the snapshot is marked older than its content and simply gets
    refreshed once more."""
    return store.version(), store.all_cases(), store.origins()


def build_snapshot(state: StoreState, settings: Settings) -> Snapshot:
    """Build (or load, when the saved index matches the store) everything from scratch."""
    started = time.perf_counter()
    version, cases, origins = state
    index = _ensure_index(cases, settings)
    return _finish(version, cases, origins, index, settings, started, None, set())


def update_snapshot(previous: Snapshot | None, state: StoreState, settings: Settings) -> Snapshot:
    """The next snapshot after a write: the index grows or shrinks without re-embedding
    the cases it already holds; the graph is rebuilt (it is cheap next to embedding)."""
    if previous is None or previous.index is None:
        return build_snapshot(state, settings)
    started = time.perf_counter()
    version, cases, origins = state
    new_ids = {case.id: case for case in cases}
    removed = [cid for cid, case in previous.by_id.items() if new_ids.get(cid) != case]
    added = [case for case in cases if previous.by_id.get(case.id) != case]
    index = _update_index(previous.index, added, removed, cases, settings)
    kept = {c.id for c in cases} - {c.id for c in added}
    return _finish(version, cases, origins, index, settings, started, previous.graph, kept)


def _finish(
    version: int,
    cases: list[Case],
    origins: dict[str, str],
    index: Any,
    settings: Settings,
    started: float,
    previous_graph: Any,
    kept: set[str],
) -> Snapshot:
    searcher, graph, extras = _build_derived(cases, index, settings, previous_graph, kept)
    return Snapshot(
        store_version=version,
        cases=tuple(cases),
        origins=MappingProxyType(dict(origins)),
        index=index,
        searcher=searcher,
        graph=graph,
        extras=MappingProxyType(extras),
        build_seconds=time.perf_counter() - started,
    )


# -- the seams to search/ and graph/ ------------------------------------------------------


@dataclass
class Engines:
    """Models and data loaded once per process and shared by every snapshot."""

    embedder: Any
    analyzer: Any
    taxonomy: Any
    annotations: Any
    extractor: Any
    signs: Any
    seed: Mapping[str, Case]

    @classmethod
    def load(cls, settings: Settings) -> Engines:
        from api.engine import get_analyzer, get_embedder
        from corpus import seed_cases
        from graph.annotations import load_annotations
        from graph.signs import CauseSigns
        from graph.taxonomy import load_taxonomy
        from search.embeddings import QueryMemo

        taxonomy = load_taxonomy()
        seed = list(seed_cases())
        # One memo for the searcher and the extractor: both embed the pasted text, and
        # the second one then costs nothing.
        embedder = QueryMemo(get_embedder(settings))
        annotations = load_annotations(cases=seed, taxonomy=taxonomy)
        analyzer = get_analyzer()
        return cls(
            embedder=embedder,
            analyzer=analyzer,
            taxonomy=taxonomy,
            annotations=annotations,
            extractor=_load_extractor(taxonomy, settings, embedder, analyzer, annotations),
            signs=CauseSigns.load(taxonomy, analyzer),
            seed=MappingProxyType({c.id: c for c in seed}),
        )


class CachedCaseQueries:
    """Query vectors of *case texts* kept in the on-disk embedding cache.

    Building the graph's ``similar_to`` edges searches with every case's own text; with
    these vectors cached, a rebuild after a restart or a crash embeds nothing it has seen.
    Only used for that: analysts' pasted incidents are never written to disk.
    """

    def __init__(self, inner: Any, cache: Any) -> None:
        self._inner = inner
        self._cache = cache

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def embed_queries(self, texts):
        import numpy as np

        from search.embeddings import EmbeddingCache

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


def _load_extractor(
    taxonomy: Any, settings: Settings, embedder: Any, analyzer: Any, annotations: Any
) -> Any:
    """The concept extractor on this process's models and this data dir's vector cache,
    learning from the annotations already loaded (not read and validated a second time)."""
    from graph.extract import ConceptExtractor, examples_from
    from search.embeddings import EmbeddingCache

    cache = EmbeddingCache(settings.embedding_cache_dir / "embeddings.sqlite3")
    return ConceptExtractor(
        taxonomy, examples_from(annotations), embedder=embedder, analyzer=analyzer, cache=cache
    )


_engines: Engines | None = None
_engines_lock = threading.Lock()


def engines(settings: Settings) -> Engines:
    global _engines
    with _engines_lock:
        if _engines is None:
            _engines = Engines.load(settings)
        return _engines


def _ensure_index(cases: list[Case], settings: Settings) -> Any:
    from corpus.outside import outside_views
    from search.index import ensure_index

    eng = engines(settings)
    return ensure_index(
        cases,
        settings,
        embedder=eng.embedder,
        analyzer=eng.analyzer,
        outside=outside_views(cases),
    )


def _update_index(
    index: Any, added: list[Case], removed: list[str], cases: list[Case], settings: Settings
) -> Any:
    """Grow/shrink the previous index (no re-embedding of kept cases), then save it so a
    restart loads it instead of rebuilding. Row order must follow the store's order, which
    holds because new cases are appended and removals keep the order of the rest."""
    from corpus.outside import outside_views
    from search.embeddings import EmbeddingCache

    eng = engines(settings)
    if removed:
        index = index.remove_cases(removed)
    if added:
        cache = EmbeddingCache(settings.embedding_cache_dir / "embeddings.sqlite3")
        try:
            index = index.add_cases(
                added, eng.embedder, eng.analyzer, cache, outside=outside_views(added)
            )
        finally:
            cache.close()
    if index.ids != [c.id for c in cases]:
        # e.g. another process replaced a case in place: let the one builder decide.
        return _ensure_index(cases, settings)
    index.save(settings.index_dir)
    return index


#: ``similar_to`` edges per case in the graph.
SIMILAR_K = 3


def _build_derived(
    cases: list[Case], index: Any, settings: Settings, previous_graph: Any, kept: set[str]
) -> tuple[Any, Any, dict]:
    """The searcher, the graph over the cases, and the cause-aware searcher used for queries.

    The graph is loaded when the saved one matches these cases, else built. After a write,
    ``similar_to`` edges of the cases that did not change are carried over from the previous
    graph and only the new cases are searched (a full rebuild would run one search per
    case); a restart with a stale saved graph recomputes them all.
    """
    from api import graph_cache
    from graph.build import SIMILAR_TO, add_similar_edges, build_graph
    from graph.ranking import CauseAwareSearcher
    from search.engine import RankConfig, Searcher

    eng = engines(settings)
    searcher = Searcher(index, eng.embedder, eng.analyzer, RankConfig())
    key = graph_cache.graph_key(index.manifest, SIMILAR_K)
    graph_dir = settings.data_dir / "graph"
    graph = graph_cache.load(graph_dir, key) if previous_graph is None else None
    if graph is None:
        # Hand annotations describe the seed text: use one only while the stored case is
        # still exactly that seed case (an edited or re-used id is tagged by the extractor).
        annotations = {
            c.id: eng.annotations[c.id]
            for c in cases
            if c.id in eng.annotations and eng.seed.get(c.id) == c
        }
        graph = build_graph(cases, eng.taxonomy, annotations, eng.extractor, searcher=None)
        if previous_graph is not None:
            for u, v, k, d in previous_graph.edges(keys=True, data=True):
                if k == SIMILAR_TO and u in kept and v in kept:
                    graph.add_edge(u, v, key=k, **d)
            fresh = [c for c in cases if c.id not in kept]
        else:
            fresh = cases
        from search.embeddings import EmbeddingCache

        cache = EmbeddingCache(settings.embedding_cache_dir / "embeddings.sqlite3")
        try:
            case_searcher = Searcher(
                index, CachedCaseQueries(eng.embedder, cache), eng.analyzer, RankConfig()
            )
            add_similar_edges(graph, fresh, case_searcher, SIMILAR_K)
        finally:
            cache.close()
        graph_cache.save(graph_dir, key, graph)
    ranker = CauseAwareSearcher(searcher, graph, eng.signs)
    extras = {"ranker": ranker, "extractor": eng.extractor, "export_cache": {}}
    return searcher, graph, extras
