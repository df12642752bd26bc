"""Cause-aware ranking: feed an incident's likely root causes back into the search.

New incidents often describe symptoms, while an analyst judges an analogy by its root
cause. ``CauseAwareSearcher`` wraps a ``search.engine.Searcher`` with the same ``search()``
signature and return type and adds a third ranked list to the fusion: the cases that share
the incident's likely causes (``graph.recommend.likely_causes``: extractor tags on the text
plus the causes of its top similar cases).

A case's cause score is ``Σ_c score(c) · idf(c)`` over the likely causes ``c`` it has in
the graph, with ``idf(c) = log(1 + N / n_c)`` (N cases, n_c of them with ``c``), so a rare
shared cause says more than a common one such as 再鑑不足.

The incident's likely causes come from the extractor and from the first search only;
nothing about an evaluation query's relevance labels enters here. For the seed cases the
graph carries their hand annotations, which is the product's data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx

from graph.build import HAS_CAUSE, edges_of_type
from graph.navigate import ref
from graph.recommend import LikelyCause, text_cause_tags


def cause_holders(G: nx.MultiDiGraph) -> dict[str, set[str]]:
    """Cause concept → the cases that have it (``has_cause`` edges)."""
    holders: dict[str, set[str]] = {}
    for case_id, cause, _ in edges_of_type(G, HAS_CAUSE):
        holders.setdefault(cause, set()).add(case_id)
    return holders


def cause_ranking(
    G: nx.MultiDiGraph,
    causes: Sequence[LikelyCause],
    holders: dict[str, set[str]] | None = None,
) -> dict[str, float]:
    """case_id → score for the cases that have one of ``causes`` (see module doc).

    ``holders`` is ``cause_holders(G)``; pass it when ranking many queries on one graph.
    """
    if holders is None:
        holders = cause_holders(G)
    n_cases = len({c for cases in holders.values() for c in cases}) or 1
    ranking: dict[str, float] = {}
    for likely in causes:
        cases = holders.get(likely.concept.id, set())
        if not cases:
            continue
        weight = likely.score * math.log(1 + n_cases / len(cases))
        for case_id in cases:
            ranking[case_id] = ranking.get(case_id, 0.0) + weight
    return ranking


class CauseAwareSearcher:
    """A ``Searcher`` that also ranks cases by the incident's likely root causes.

    The extractor reads the incident's own sentences (``graph.recommend.text_cause_tags``);
    the cases holding those causes in the graph become one more source for the searcher
    (``extra={"causes": ...}``), whose scorer weighs it like any other feature: the weight
    is learned with the rest (``kizuki train``), not set by hand. One search, one
    embedding of the text.
    """

    def __init__(self, searcher: Any, graph: nx.MultiDiGraph, extractor: Any) -> None:
        self.searcher = searcher
        self.graph = graph
        self.extractor = extractor
        self._holders = cause_holders(graph)  # the graph is fixed for this ranker's life

    def __getattr__(self, name: str) -> Any:
        # Everything else (index, config, sectors(), themes(), …) is the wrapped searcher's.
        return getattr(self.searcher, name)

    def with_config(self, **changes) -> CauseAwareSearcher:
        return CauseAwareSearcher(self.searcher.with_config(**changes), self.graph, self.extractor)

    def with_scorer(self, name: str) -> CauseAwareSearcher:
        return CauseAwareSearcher(self.searcher.with_scorer(name), self.graph, self.extractor)

    def cause_scores(self, text: str) -> dict[str, float]:
        """case_id → how strongly it holds the causes the incident's text points to."""
        tags = text_cause_tags(self.graph, text, self.extractor)
        causes = [
            LikelyCause(
                concept=ref(self.graph, cause),
                score=max(e.confidence for e in evidence),
                text_score=max(e.confidence for e in evidence),
                neighbour_score=0.0,
                from_text=evidence,
                from_cases=[],
            )
            for cause, evidence in tags.items()
        ]
        return cause_ranking(self.graph, causes, self._holders)

    def extra(self, text: str) -> dict[str, dict[str, float]]:
        """The graph's sources for this text (what ``search`` passes to the searcher)."""
        return {"causes": self.cause_scores(text)}

    def search(
        self,
        text: str,
        k: int = 10,
        sectors: Sequence[str] | None = None,
        themes: Sequence[str] | None = None,
    ):
        """Same contract as ``Searcher.search``; the ranking includes the cause list."""
        return self.searcher.search(
            text, k=k, sectors=sectors, themes=themes, extra=self.extra(text)
        )


def compare_rankings(queries: Sequence[Any], searchers: Mapping[str, Any], k: int = 10) -> dict:
    """``search.evaluation.report`` for each named searcher on the same queries."""
    from search.evaluation import Ranked, report, run_queries

    out = {}
    for name, searcher in searchers.items():

        def rank(text: str, searcher=searcher) -> Ranked:
            response = searcher.search(text, k=k)
            return Ranked([r.case_id for r in response.results], response.no_good_match)

        out[name] = report(queries, run_queries(queries, rank))
    return out
