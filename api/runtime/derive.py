"""What a snapshot derives from the store's cases: the search index, the knowledge graph and
the ranker that queries go through. The only place where the runtime touches search's
index and graph's builder.

* ``ensure_index`` / ``update_index``: the index for the cases, loaded when the saved one
  matches them, built (or grown and shrunk, without re-embedding kept cases) when not.
* ``load_or_build_graph``: the graph over the cases, loaded when the saved one matches,
  else grown by the new cases or built, with its ``similar_to`` edges.
* ``make_ranker``: the learned searcher over the index plus the graph's cause source.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from kizuki.api.runtime import graph_cache
from kizuki.api.runtime.loader import DiskCachedQueries, Models
from kizuki.corpus.outside import outside_views
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from kizuki.graph.build import (
    CASE,
    EXTRACTIONS,
    SIMILAR_TO,
    add_similar_edges,
    build_graph,
    extend_graph,
)
from kizuki.graph.ranking import CauseAwareSearcher
from kizuki.graph.views import generated_views, pattern_extractor
from kizuki.search.embeddings import Progress, open_embedding_cache
from kizuki.search.engine import RankConfig, Searcher
from kizuki.search.index import SearchIndex
from kizuki.search.index import ensure_index as ensure_saved_index
from kizuki.search.scorer import RankerModel

__all__ = [
    "SIMILAR_K",
    "GraphKeys",
    "ensure_index",
    "graph_keys",
    "load_or_build_graph",
    "make_ranker",
    "make_searcher",
    "update_index",
]

#: ``similar_to`` edges per case in the graph.
SIMILAR_K = 3


# -- the index ------------------------------------------------------------------------------


def views_for(cases: list[Case], models: Models, settings: Settings) -> dict[str, tuple[str, ...]]:
    """The outside views to index: the written ones of the bundled cases, and views
    generated from their own text for the cases without them (``graph.views``)."""
    views = outside_views(cases, settings.outside_views)
    if settings.generated_views:
        written = outside_views(cases)
        key = (id(models.taxonomy), id(models.analyzer))
        if key not in _PATTERNS:
            _PATTERNS.clear()
            _PATTERNS[key] = pattern_extractor(models.taxonomy, models.analyzer)
        views.update(generated_views(cases, written, _PATTERNS[key], models.taxonomy))
    return views


#: The pattern-only concept extractor of the models in use (built once: it compiles the
#: taxonomy's patterns).
_PATTERNS: dict[tuple[int, int], object] = {}


def ensure_index(
    cases: list[Case],
    models: Models,
    settings: Settings,
    persist: bool = True,
    progress: Progress | None = None,
) -> tuple[SearchIndex, tuple[str, ...]]:
    """The index for these cases and what loading it met (e.g. a corrupt file rebuilt).

    With ``persist`` the saved index is loaded when it matches and saved when rebuilt
    (``search.index.ensure_index``); without, it is built in memory only."""
    outside = views_for(cases, models, settings)
    if not persist:
        cache = open_embedding_cache(settings)
        try:
            index = SearchIndex.build(
                cases, models.embedder, models.analyzer, cache=cache, outside=outside
            )
            return index, ()
        finally:
            cache.close()
    events: list[str] = []
    index = ensure_saved_index(
        cases,
        settings,
        embedder=models.embedder,
        analyzer=models.analyzer,
        outside=outside,
        report=events.append,
        progress=progress,
    )
    return index, tuple(events)


def update_index(
    index: SearchIndex,
    added: list[Case],
    removed: list[str],
    cases: list[Case],
    models: Models,
    settings: Settings,
    persist: bool = True,
) -> SearchIndex:
    """Grow/shrink the previous index (no re-embedding of kept cases), then save it so a
    restart loads it instead of rebuilding. Row order must follow the store's order, which
    holds because new cases are appended and removals keep the order of the rest."""
    if removed:
        index = index.remove_cases(removed)
    if added:
        cache = open_embedding_cache(settings)
        try:
            index = index.add_cases(
                added,
                models.embedder,
                models.analyzer,
                cache,
                outside=views_for(added, models, settings),
            )
        finally:
            cache.close()
    if index.ids != [c.id for c in cases]:
        # e.g. another process replaced a case in place: let the one builder decide.
        return ensure_index(cases, models, settings, persist)[0]
    if persist:
        index.save(settings.index_dir)
    return index


# -- the graph ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphKeys:
    """What a saved graph is keyed by (``graph_cache``): ``key`` the code and the cases,
    ``code`` the code, data and model alone (its extraction results still hold)."""

    key: str
    code: str


def graph_keys(index: SearchIndex) -> GraphKeys:
    return GraphKeys(
        key=graph_cache.graph_key(index.manifest, SIMILAR_K),
        code=graph_cache.code_key(index.manifest, SIMILAR_K),
    )


def graph_dir(settings: Settings) -> Path:
    return settings.data_dir / "graph"


def load_or_build_graph(
    cases: list[Case],
    index: SearchIndex,
    models: Models,
    settings: Settings,
    previous: nx.MultiDiGraph | None = None,
    kept: Collection[str] = (),
    persist: bool = True,
    report: Callable[[str], None] | None = None,
) -> nx.MultiDiGraph:
    """The graph over ``cases``.

    The saved graph is loaded when it matches these cases (a start). After a write
    (``previous``: the graph being served, ``kept``: the ids of its cases that did not
    change), the graph grows by the new cases, or is rebuilt with the unchanged cases'
    ``similar_to`` edges carried over; only the new cases are searched for theirs (a full
    rebuild would run one search per case). ``report`` is told what loading met.
    """
    keys = graph_keys(index)
    if previous is None and persist:
        graph = graph_cache.load(graph_dir(settings), keys.key, report=report)
        if graph is not None:
            return graph
    graph, fresh = _grow_or_build(cases, models, settings, previous, kept, persist, keys.code)
    cache = open_embedding_cache(settings)
    try:
        case_searcher = Searcher(
            index,
            DiskCachedQueries(models.embedder, cache),
            models.analyzer,
            RankConfig(),
            facets=models.facets,
            reviewed_facets=models.reviewed_facets(cases),
        )
        add_similar_edges(graph, fresh, case_searcher, SIMILAR_K)
    finally:
        cache.close()
    if persist:
        graph_cache.save(graph_dir(settings), keys.key, graph, keys.code)
    return graph


def _grow_or_build(
    cases: list[Case],
    models: Models,
    settings: Settings,
    previous: nx.MultiDiGraph | None,
    kept: Collection[str],
    persist: bool,
    code: str,
) -> tuple[nx.MultiDiGraph, list[Case]]:
    """The graph without the new cases' ``similar_to`` edges, and the cases that need them."""
    # Hand annotations describe the seed text: use one only while the stored case is
    # still exactly that seed case (an edited or re-used id is tagged by the extractor).
    annotations = {
        c.id: models.annotations[c.id]
        for c in cases
        if c.id in models.annotations and models.seed.get(c.id) == c
    }
    fresh = [c for c in cases if c.id not in kept] if previous is not None else cases
    if previous is not None and _only_added(previous, kept):
        # the common write: new cases only, so the graph grows without a full build
        grown = extend_graph(previous, fresh, annotations, models.extractor)
        if grown is not None:
            return grown, fresh
    reuse = previous
    if reuse is None and persist:  # a stale saved graph: its extractions still hold
        records = graph_cache.load_extractions(graph_dir(settings), code)
        if records:
            reuse = nx.MultiDiGraph()
            reuse.graph[EXTRACTIONS] = records
    graph = build_graph(
        cases, models.taxonomy, annotations, models.extractor, searcher=None, previous=reuse
    )
    if previous is not None:
        for u, v, k, d in previous.edges(keys=True, data=True):
            if k == SIMILAR_TO and u in kept and v in kept:
                graph.add_edge(u, v, key=k, **d)
    return graph, fresh


def _only_added(previous: nx.MultiDiGraph, kept: Collection[str]) -> bool:
    """True when every case of ``previous`` is kept unchanged (cases were only added)."""
    held = sum(1 for _, t in previous.nodes(data="type") if t == CASE)
    return held == len(kept)


# -- the ranker -----------------------------------------------------------------------------


def make_searcher(
    cases: list[Case], index: SearchIndex, models: Models, settings: Settings
) -> Searcher:
    """The learned search over the index: the shipped weights, or those of
    ``KIZUKI_RANKER_FILE`` / ``--ranker-file`` (the graph's ``similar_to`` edges keep the
    shipped ones: they are saved with the graph), and the mechanism facets (the reviewed
    ones of the bundled cases)."""
    model = RankerModel.from_file(settings.ranker_file)
    return Searcher(
        index,
        models.embedder,
        models.analyzer,
        RankConfig(),
        model=model,
        facets=models.facets,
        reviewed_facets=models.reviewed_facets(cases),
    )


def make_ranker(searcher: Searcher, graph: nx.MultiDiGraph, models: Models) -> CauseAwareSearcher:
    """What queries go through: the searcher plus the graph's cause source."""
    return CauseAwareSearcher(searcher, graph, models.signs)
