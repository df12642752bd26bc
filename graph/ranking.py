"""Cause-aware ranking: the root causes an incident points to become a source of the search.

New incidents are reported by their symptoms, while an analyst judges an analogy by its root
cause. ``CauseAwareSearcher`` wraps a ``search.engine.Searcher`` with the same ``search()``
contract and adds one more source to its candidates: the cases that hold the causes the
incident's report points to (``graph.signs``: the taxonomy's observable signs matched with
the terms the search already analysed). The searcher's scorer weighs that source like any
other feature, with a weight learned with the rest (``kizuki train``), so a faint guess
moves little and a clear one more, as measured.

A case's cause score is ``Σ_c m(c) · idf(c)`` over the matched causes ``c`` it has in the
graph (``m``: how clearly the report points to ``c``), with ``idf(c) = log(1 + N / n_c)``
(N cases, n_c of them with ``c``), so a rare shared cause says more than a common one such
as 再鑑不足. Nothing about an evaluation query's relevance labels enters here; for the seed
cases the graph carries their hand annotations, which are the product's data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import networkx as nx
from kizuki.graph.build import CAUSE, HAS_CAUSE
from kizuki.graph.chain_search import SOURCE as CHAIN_SOURCE
from kizuki.graph.chain_search import ChainSimilarity
from kizuki.graph.recommend import TextEvidence, sign_evidence
from kizuki.graph.signs import CauseSigns, SignMatch
from kizuki.search.engine import Searcher, SearchResponse
from kizuki.search.features import Candidates, Extras, PreparedQuery
from kizuki.search.feedback import FeedbackIndex
from kizuki.search.index import SearchIndex

__all__ = [
    "SOURCE",
    "CauseAwareSearcher",
    "Ranker",
    "cause_holders",
    "cause_ranking",
    "holders_with",
]

#: The name of the graph's source among the searcher's features (``extra:causes``).
SOURCE = "causes"


def cause_holders(G: nx.MultiDiGraph) -> dict[str, set[str]]:
    """Cause concept → the cases that have it (``has_cause`` edges)."""
    holders: dict[str, set[str]] = {}
    for node, node_type in G.nodes(data="type"):
        if node_type == CAUSE:  # the cause nodes' in-edges, not every edge of the graph
            cases = {u for u, _, k in G.in_edges(node, keys=True) if k == HAS_CAUSE}
            if cases:
                holders[node] = cases
    return holders


def holders_with(
    G: nx.MultiDiGraph, holders: Mapping[str, set[str]], new_cases: Iterable[str]
) -> dict[str, set[str]]:
    """``cause_holders(G)`` for a graph that is the one of ``holders`` plus ``new_cases``
    (nothing removed or changed): the new cases' causes added to a copy (equal, tested)."""
    out = {cause: set(cases) for cause, cases in holders.items()}
    for case_id in new_cases:
        for cause, keys in G._succ.get(case_id, {}).items():
            if HAS_CAUSE in keys:
                out.setdefault(cause, set()).add(case_id)
    return out


def cause_ranking(
    G: nx.MultiDiGraph,
    causes: Mapping[str, float],
    holders: dict[str, set[str]] | None = None,
) -> dict[str, float]:
    """case_id → score for the cases that have one of ``causes`` (concept → strength).

    ``holders`` is ``cause_holders(G)``; pass it when ranking many queries on one graph.
    """
    if holders is None:
        holders = cause_holders(G)
    n_cases = len({c for cases in holders.values() for c in cases}) or 1
    ranking: dict[str, float] = {}
    for concept, strength in causes.items():
        cases = holders.get(concept, set())
        if not cases or strength <= 0:
            continue
        weight = strength * math.log(1 + n_cases / len(cases))
        for case_id in cases:
            ranking[case_id] = ranking.get(case_id, 0.0) + weight
    return ranking


class Ranker(Protocol):
    """What a search of the product goes through: one pasted text, ranked and explained,
    with the causes its report points to (``analyse``). ``CauseAwareSearcher`` is the one
    implementation; the protocol is what the runtime and the CLI rely on."""

    searcher: Searcher
    graph: nx.MultiDiGraph

    def search(
        self,
        text: str,
        k: int = 10,
        sectors: Sequence[str] | None = None,
        themes: Sequence[str] | None = None,
        feedback: FeedbackIndex | None = None,
        years: Sequence[int] | None = None,
    ) -> SearchResponse: ...

    def analyse(
        self,
        text: str,
        k: int = 10,
        sectors: Sequence[str] | None = None,
        themes: Sequence[str] | None = None,
        feedback: FeedbackIndex | None = None,
        years: Sequence[int] | None = None,
    ) -> tuple[SearchResponse, dict[str, list[TextEvidence]]]: ...

    def with_scorer(self, name: str) -> Ranker: ...

    def extras(self, query: PreparedQuery, matches: Sequence[SignMatch] | None = None) -> Extras:
        """What the ranker adds to the searcher's sources for a prepared query (how
        ``kizuki eval`` scores the ranking offline, ``search.validation.collect``)."""
        ...

    def sectors(self) -> list[str]: ...

    def themes(self) -> list[str]: ...

    def years(self) -> list[int]: ...


class CauseAwareSearcher:
    """A ``Searcher`` whose candidates also come from the causes the incident points to
    (a ``Ranker``)."""

    def __init__(
        self,
        searcher: Searcher,
        graph: nx.MultiDiGraph,
        signs: CauseSigns,
        chains: ChainSimilarity | None = None,
        holders: dict[str, set[str]] | None = None,
    ) -> None:
        """``holders``: ``cause_holders(graph)`` when the caller has it (a write grows the
        previous ranker's with ``holders_with``, instead of walking every cause's cases)."""
        self.searcher = searcher
        self.graph = graph
        self.signs = signs
        #: the "same way of failing" source (``graph.chain_search``); None: not a source
        self.chains = chains
        # the graph is fixed for this ranker's life
        self._holders = holders if holders is not None else cause_holders(graph)

    @property
    def holders(self) -> dict[str, set[str]]:
        """``cause_holders`` of the graph: cause concept → the cases that have it."""
        return self._holders

    @property
    def index(self) -> SearchIndex:
        return self.searcher.index

    def sectors(self) -> list[str]:
        return self.searcher.sectors()

    def themes(self) -> list[str]:
        return self.searcher.themes()

    def years(self) -> list[int]:
        return self.searcher.years()

    def prepare(self, text: str, sectors=None, themes=None, years=None) -> PreparedQuery:
        """The text analysed once and embedded once (``Searcher.prepare``)."""
        return self.searcher.prepare(text, sectors, themes, years=years)

    def candidates(self, query: PreparedQuery, extras: Extras | None = None) -> Candidates:
        return self.searcher.candidates(query, extras)

    def with_config(self, **changes) -> CauseAwareSearcher:
        return CauseAwareSearcher(
            self.searcher.with_config(**changes), self.graph, self.signs, self.chains
        )

    def with_scorer(self, name: str) -> CauseAwareSearcher:
        return CauseAwareSearcher(
            self.searcher.with_scorer(name), self.graph, self.signs, self.chains
        )

    def extras(self, query: PreparedQuery, matches: Sequence[SignMatch] | None = None) -> Extras:
        """The graph's source and signal for a prepared query."""
        if matches is None:
            matches = self.signs.match(query.terms)
        causes = {m.concept: m.score for m in matches}
        sources = {SOURCE: cause_ranking(self.graph, causes, self._holders)}
        if self.chains is not None:
            sources[CHAIN_SOURCE] = self.chains.ranking(query.text)
        return Extras(
            sources=sources,
            signals={"out_of_scope": self.signs.out_of_scope(query.terms)},
        )

    def analyse(
        self,
        text: str,
        k: int = 10,
        sectors: Sequence[str] | None = None,
        themes: Sequence[str] | None = None,
        feedback: FeedbackIndex | None = None,
        years: Sequence[int] | None = None,
    ) -> tuple[SearchResponse, dict[str, list[TextEvidence]]]:
        """One search of ``text`` and the causes its report points to, with evidence (what
        ``graph.recommend.recommend`` takes): analysed once, embedded once. ``feedback``:
        analysts' judgements that move the ranking."""
        if k < 1:
            raise ValueError("k must be at least 1")
        query = self.searcher.prepare(text, sectors, themes, years=years)
        matches = self.signs.match(query.terms)
        response = self.searcher.rank(query, k, self.extras(query, matches), feedback)
        return response, sign_evidence(self.graph, query, matches)

    def search(
        self,
        text: str,
        k: int = 10,
        sectors: Sequence[str] | None = None,
        themes: Sequence[str] | None = None,
        feedback: FeedbackIndex | None = None,
        years: Sequence[int] | None = None,
    ) -> SearchResponse:
        """Same contract as ``Searcher.search``; the ranking includes the cause source."""
        return self.analyse(text, k, sectors, themes, feedback, years)[0]
