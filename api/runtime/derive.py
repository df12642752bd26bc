"""What a snapshot derives from the store's cases: the search index, the knowledge graph and
the ranker that queries go through. The only place where the runtime touches search's
index and graph's builder.

* ``ensure_index`` / ``update_index``: the index for the cases, loaded when the saved one
  matches them, built (or grown and shrunk, without re-embedding kept cases) when not.
* ``load_or_build_graph``: the graph over the cases, loaded when the saved one matches,
  else grown by the new cases or built, with its ``similar_to`` edges; what each case
  contributes is recorded per case (``graph_log``), so a write saves only its own cases.
* ``make_ranker``: the learned searcher over the index plus the graph's cause source.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import networkx as nx
from kizuki.api.runtime import graph_cache
from kizuki.api.runtime.graph_log import CaseRow, GraphLog
from kizuki.api.runtime.index_saves import IndexSaves
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
from kizuki.graph.chain_graph import CHAINS
from kizuki.graph.chain_search import ChainSimilarity
from kizuki.graph.ranking import CauseAwareSearcher, holders_with
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
    "graph_log",
    "index_saves",
    "save_index",
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
    saves = index_saves(settings)
    index = ensure_saved_index(
        cases,
        settings,
        embedder=models.embedder,
        analyzer=models.analyzer,
        outside=outside,
        report=events.append,
        progress=progress,
    )
    saves.saved(index)  # loaded from, or just saved to, the index directory
    return index, tuple(events)


@lru_cache(maxsize=8)
def _index_saves(directory: Path) -> IndexSaves:
    return IndexSaves()


def index_saves(settings: Settings) -> IndexSaves:
    """What the data dir's index directory holds, as this process last saved or loaded it."""
    link = settings.index_dir  # a link to the version served: the key is the link's path
    return _index_saves(link.parent.resolve() / link.name)


def save_index(index: SearchIndex, settings: Settings) -> bool:
    """Save ``index`` when it is due (``api.runtime.index_saves``): its bulk changed, or
    enough cases were appended since the last save. True when it was saved."""
    saves = index_saves(settings)
    if not saves.due(index):
        return False
    index.save(settings.index_dir)
    saves.saved(index)
    return True


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
        save_index(index, settings)
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


@lru_cache(maxsize=8)
def _graph_log(directory: Path) -> GraphLog:
    return GraphLog(directory)


def graph_log(settings: Settings) -> GraphLog:
    """The per-case graph rows of the data dir (one object per directory and process: it
    remembers which cases' rows it already wrote)."""
    return _graph_log(graph_dir(settings).resolve())


def load_or_build_graph(
    cases: list[Case],
    index: SearchIndex,
    models: Models,
    settings: Settings,
    previous: nx.MultiDiGraph | None = None,
    kept: Collection[str] = (),
    persist: bool = True,
    report: Callable[[str], None] | None = None,
    on_grown: Callable[[], None] | None = None,
) -> nx.MultiDiGraph:
    """The graph over ``cases``.

    The saved graph is loaded when it matches these cases (a start). After a write
    (``previous``: the graph being served, ``kept``: the ids of its cases that did not
    change), the graph grows by the new cases, or is rebuilt with the unchanged cases'
    ``similar_to`` edges carried over; only the new cases are searched for theirs (a full
    rebuild would run one search per case). A start whose saved graph is stale takes each
    case's extraction and ``similar_to`` edges from its per-case rows (``graph_log``), so
    only cases without a valid row are tagged and searched. ``report`` is told what loading
    met. With ``persist``, a start saves the whole graph and a write only its cases' rows.
    ``on_grown`` is called when the graph is ``previous`` grown by new cases only (every
    other case's nodes and edges as they were), so derived tables may be grown too.
    """
    keys = graph_keys(index)
    log = graph_log(settings) if persist else None
    rows: dict[str, CaseRow] = {}
    if previous is None and log is not None:
        graph = graph_cache.load(graph_dir(settings), keys.key, report=report)
        if graph is not None:
            log.adopt(graph, cases, keys.code)  # rows missing (an older data dir) are added
            return graph
        rows = log.load(cases, keys.code)
    graph, fresh, grew = _grow_or_build(
        cases, models, settings, previous, kept, persist, keys.code, rows
    )
    if grew and on_grown is not None:
        on_grown()
    fresh = [c for c in fresh if not _add_recorded_edges(graph, c.id, rows.get(c.id))]
    if fresh:
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
    if log is not None:
        log.record(graph, cases, keys.code)  # first: a saved graph implies its rows
        if previous is None:  # a start: the whole graph, so the next start just loads it
            graph_cache.save(graph_dir(settings), keys.key, graph, keys.code)
    return graph


def _add_recorded_edges(graph: nx.MultiDiGraph, case_id: str, row: CaseRow | None) -> bool:
    """Give ``case_id`` its recorded ``similar_to`` edges (to cases still in the graph, as a
    write carries them over); False when there is no row to take them from."""
    if row is None or case_id not in graph:
        return False
    for target, score, rank in row.similar:
        if target in graph:
            graph.add_edge(case_id, target, key=SIMILAR_TO, type=SIMILAR_TO, score=score, rank=rank)
    return True


def _grow_or_build(
    cases: list[Case],
    models: Models,
    settings: Settings,
    previous: nx.MultiDiGraph | None,
    kept: Collection[str],
    persist: bool,
    code: str,
    rows: dict[str, CaseRow] | None = None,
) -> tuple[nx.MultiDiGraph, list[Case], bool]:
    """The graph without the new cases' ``similar_to`` edges, the cases that need them, and
    whether it is ``previous`` grown (True) rather than built."""
    # Hand annotations describe the seed text: use one only while the stored case is
    # still exactly that seed case (an edited or re-used id is tagged by the extractor).
    annotations = {
        c.id: models.annotations[c.id]
        for c in cases
        if c.id in models.annotations and models.seed.get(c.id) == c
    }
    chains = {
        c.id: models.chains[c.id] for c in cases if c.id in annotations and c.id in models.chains
    }
    fresh = [c for c in cases if c.id not in kept] if previous is not None else cases
    if previous is not None and _only_added(previous, kept):
        # the common write: new cases only, so the graph grows without a full build
        grown = extend_graph(previous, fresh, annotations, models.extractor, chains)
        if grown is not None:
            return grown, fresh, True
    reuse = previous
    if reuse is None and persist:  # a stale saved graph: its extractions still hold
        records = graph_cache.load_extractions(graph_dir(settings), code) or {}
        records.update((cid, row.extraction) for cid, row in (rows or {}).items() if row.extraction)
        if records:
            reuse = nx.MultiDiGraph()
            reuse.graph[EXTRACTIONS] = records
    graph = build_graph(
        cases,
        models.taxonomy,
        annotations,
        models.extractor,
        searcher=None,
        previous=reuse,
        chains=chains,
    )
    if previous is not None:
        for u, v, k, d in previous.edges(keys=True, data=True):
            if k == SIMILAR_TO and u in kept and v in kept:
                graph.add_edge(u, v, key=k, **d)
    return graph, fresh, False


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


def make_ranker(
    searcher: Searcher,
    graph: nx.MultiDiGraph,
    models: Models,
    settings: Settings,
    grown_from: tuple[CauseAwareSearcher, Collection[str]] | None = None,
) -> CauseAwareSearcher:
    """What queries go through: the searcher plus the graph's cause source (and, when
    ``settings.chain_source``, the "same way of failing" source of ``graph.chain_search``).
    ``grown_from``: the previous ranker and the cases added to its graph (nothing removed),
    whose cause holders are grown rather than read again from every cause's cases."""
    chains = None
    if settings.chain_source:
        chains = ChainSimilarity.of_graph((graph.graph.get(CHAINS) or {}).items(), models.extractor)
    holders = None
    if grown_from is not None:
        holders = holders_with(graph, grown_from[0].holders, grown_from[1])
    return CauseAwareSearcher(searcher, graph, models.signs, chains, holders)
