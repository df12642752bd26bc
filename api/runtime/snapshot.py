"""An immutable view of everything the service serves, derived from one state of the store.

``build_snapshot`` makes one from scratch (loading what is saved when it matches the
store), ``update_snapshot`` the next one after a write (the index grows, the graph grows
or is rebuilt), ``persist_snapshot`` saves one built in memory only. What is derived, and
how, is ``api.runtime.derive``'s; the models it needs come from ``api.runtime.loader``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, NamedTuple

import networkx as nx
from kizuki.api.runtime.derive import (
    ensure_index,
    graph_keys,
    graph_log,
    load_or_build_graph,
    make_ranker,
    make_searcher,
    save_index,
    update_index,
)
from kizuki.api.runtime.loader import Models, load_models
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from kizuki.corpus.store import CaseStore
from kizuki.graph.build import build_graph, case_key_problem
from kizuki.graph.extract import ConceptExtractor
from kizuki.graph.ranking import CauseAwareSearcher, Ranker
from kizuki.search.embeddings import Progress
from kizuki.search.engine import Searcher
from kizuki.search.index import IndexConfig, SearchIndex, case_fields, view_texts

__all__ = [
    "Snapshot",
    "StoreState",
    "build_snapshot",
    "persist_snapshot",
    "read_state",
    "update_snapshot",
]

log = logging.getLogger("kizuki.snapshot")


class StoreState(NamedTuple):
    """One state of the store: version, valid cases in store order, case id → origin,
    and the stored rows that are not served (id and reason)."""

    version: int
    cases: list[Case]
    origins: dict[str, str]
    skipped: tuple[Any, ...] = ()


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The cases of one store version and everything derived from them."""

    store_version: int
    cases: tuple[Case, ...]
    origins: Mapping[str, str]
    index: SearchIndex
    #: The learned search over the index alone (what ``kizuki eval`` scores the sources of).
    searcher: Searcher
    graph: nx.MultiDiGraph
    #: What queries go through: the searcher plus the graph's cause source.
    ranker: Ranker
    #: The concept extractor that tagged the cases without hand annotations.
    extractor: ConceptExtractor
    #: What the saved graph file is keyed by: the cases and the code (``graph_cache``).
    graph_key: str
    graph_code: str
    #: Graph exports already rendered, by format (``GET /export``): the snapshot never
    #: changes, so each is rendered once.
    exports: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)
    built_at: float = field(default_factory=time.time)
    build_seconds: float = 0.0
    #: Stored cases left out of this snapshot, as ``{"id", "reason"}`` (see ``/health``).
    skipped: tuple[Mapping[str, str], ...] = ()
    #: Problems met while loading (e.g. a corrupt index file that forced a rebuild).
    events: tuple[str, ...] = ()

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
    def years(self) -> list[int]:
        """The editions' years the cases come from, oldest first."""
        return sorted({c.source.year for c in self.cases if c.source and c.source.year})

    @cached_property
    def themes(self) -> list[tuple[str, str]]:
        """(theme id, label) pairs in first-seen order."""
        seen: dict[str, str] = {}
        for case in self.cases:
            if case.theme and case.theme.id not in seen:
                seen[case.theme.id] = case.theme.label
        return list(seen.items())


def read_state(store: CaseStore) -> StoreState:
    """The store's state for a snapshot. The version is read first: if another process
    writes in between, the snapshot is marked older than its content and simply gets
    refreshed once more. Rows that fail the schema are reported in ``skipped``."""
    version = store.version()
    cases, skipped = store.read_cases()
    return StoreState(version, cases, store.origins(), tuple(r.to_dict() for r in skipped))


def build_snapshot(
    state: StoreState, settings: Settings, persist: bool = True, progress: Progress | None = None
) -> Snapshot:
    """Build (or load, when the saved index matches the store) everything from scratch.

    A stored case that breaks the build is found (each case is then checked alone),
    reported in the snapshot's ``skipped`` and left out, rather than failing the start.
    ``progress`` is told what the build is doing (a starting server shows it).
    """
    started = time.perf_counter()
    models = load_models(settings)
    cases, skipped = _servable(state)
    try:
        return _build(state, cases, skipped, models, settings, started, persist, progress)
    except Exception as exc:
        bad = _culprits(cases, models)
        if not bad:
            raise
        log.error("%d stored case(s) cannot be indexed and are skipped: %s", len(bad), bad)
        del exc
    skipped += [{"id": cid, "reason": why} for cid, why in bad.items()]
    cases = [c for c in cases if c.id not in bad]
    return _build(state, cases, skipped, models, settings, started, persist)


def _build(state, cases, skipped, models, settings, started, persist, progress=None) -> Snapshot:
    say = progress or (lambda *args: None)
    say(f"loading or building the search index of {len(cases):,} cases")
    index, events = ensure_index(cases, models, settings, persist, progress)
    say(f"loading or building the knowledge graph of {len(cases):,} cases")
    return _finish(state, cases, skipped, index, models, settings, started, persist, events)


def update_snapshot(
    previous: Snapshot | None, state: StoreState, settings: Settings, persist: bool = True
) -> Snapshot:
    """The next snapshot after a write: the index grows or shrinks without re-embedding
    the cases it already holds; the graph grows by the new cases (or is rebuilt).

    With ``persist=False`` nothing is written to disk (see ``persist_snapshot``): the
    service builds the next snapshot *before* committing a write, and keeps it only if
    the commit succeeds.
    """
    if previous is None:
        return build_snapshot(state, settings, persist)
    started = time.perf_counter()
    models = load_models(settings)
    cases, skipped = _servable(state, previous.by_id)
    new_ids = {case.id: case for case in cases}
    removed = [cid for cid, case in previous.by_id.items() if not _same(new_ids.get(cid), case)]
    added = [case for case in cases if not _same(previous.by_id.get(case.id), case)]
    index = update_index(previous.index, added, removed, cases, models, settings, persist)
    kept = {c.id for c in cases} - {c.id for c in added}
    grown = (previous.ranker, [c.id for c in added]) if not removed else None
    if not isinstance(previous.ranker, CauseAwareSearcher):
        grown = None
    return _finish(
        state,
        cases,
        skipped,
        index,
        models,
        settings,
        started,
        persist,
        (),
        previous.graph,
        kept,
        grown,
    )


def _same(old: Case | None, new: Case) -> bool:
    """Whether a case is unchanged: the same object (what a write carries over) is, without
    comparing every field of 10⁴ cases."""
    return old is new or old == new


def persist_snapshot(snap: Snapshot, settings: Settings) -> None:
    """Save a snapshot built with ``persist=False`` (the index when it is due, then the
    graph rows of the cases the write changed: never the whole graph), so a restart loads
    it. A failure here loses nothing: a stale saved snapshot is grown or rebuilt on start."""
    save_index(snap.index, settings)
    graph_log(settings).record(snap.graph, snap.cases, snap.graph_code)


def _finish(
    state: StoreState,
    cases: list[Case],
    skipped: list[dict[str, str]],
    index: SearchIndex,
    models: Models,
    settings: Settings,
    started: float,
    persist: bool,
    events: tuple[str, ...],
    previous_graph: nx.MultiDiGraph | None = None,
    kept: set[str] = frozenset(),
    grown: tuple[Ranker, list[str]] | None = None,
) -> Snapshot:
    met: list[str] = []
    grew: list[bool] = []
    graph = load_or_build_graph(
        cases,
        index,
        models,
        settings,
        previous_graph,
        kept,
        persist,
        report=met.append,
        on_grown=lambda: grew.append(True),
    )
    searcher = make_searcher(cases, index, models, settings)
    keys = graph_keys(index)
    served = {c.id for c in cases}
    return Snapshot(
        store_version=state.version,
        cases=tuple(cases),
        origins=MappingProxyType({k: v for k, v in state.origins.items() if k in served}),
        index=index,
        searcher=searcher,
        graph=graph,
        ranker=make_ranker(searcher, graph, models, settings, grown if grew else None),
        extractor=models.extractor,
        graph_key=keys.key,
        graph_code=keys.code,
        build_seconds=time.perf_counter() - started,
        skipped=tuple(MappingProxyType(row) for row in skipped),
        events=(*events, *met),
    )


def _servable(
    state: StoreState, served: Mapping[str, Case] | None = None
) -> tuple[list[Case], list[dict[str, str]]]:
    """The state's cases that can be graph nodes, and the skipped rows (reported). A case
    ``served`` already (the same object) is not checked again."""
    skipped = [dict(row) for row in state.skipped]
    cases = []
    served = served or {}
    for case in state.cases:
        if served.get(case.id) is case:
            cases.append(case)
            continue
        problem = case_key_problem(case.id)
        if problem:
            skipped.append({"id": case.id, "reason": problem})
        else:
            cases.append(case)
    return cases, skipped


def _culprits(cases: list[Case], models: Models) -> dict[str, str]:
    """Cases that fail on their own: analysis, embedding, or a graph of just that case.

    Only run when a whole build failed, to tell a bad stored case from a broken server.
    """
    config = IndexConfig()
    bad: dict[str, str] = {}
    for case in cases:
        try:
            for text in case_fields(case).values():
                if text:
                    models.analyzer.analyze(text)
            texts = [t for view in config.dense_views for t in view_texts(case, view)]
            if texts:
                models.embedder.embed_passages(texts)
            annotations = (
                {case.id: models.annotations[case.id]} if case.id in models.annotations else {}
            )
            build_graph([case], models.taxonomy, annotations, models.extractor)
        except Exception as exc:  # what the build would have met for this case
            bad[case.id] = f"{type(exc).__name__}: {exc}"[:300]
    return bad
