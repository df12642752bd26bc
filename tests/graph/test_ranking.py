"""Cause-aware ranking: same contract as the searcher, and it must not lose on the dev set."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from graph.build import HAS_CAUSE, edges_of_type
from graph.navigate import ref
from graph.ranking import CauseAwareSearcher, cause_ranking, compare_rankings
from graph.recommend import LikelyCause

DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "dev_queries.jsonl"
INCIDENT = "夜間バッチ処理の復旧作業で手順を誤り、翌朝のオンライン開始が大幅に遅れた。"


def _likely(G, concept, score):
    return LikelyCause(
        concept=ref(G, concept),
        score=score,
        text_score=score,
        neighbour_score=0.0,
        from_text=[],
        from_cases=[],
    )


def test_cause_ranking_weights_rare_causes_more(concept_graph):
    holders = {}
    for case_id, cause, _ in edges_of_type(concept_graph, HAS_CAUSE):
        holders.setdefault(cause, set()).add(case_id)
    n = len({c for cases in holders.values() for c in cases})
    a, b = "cause.operator_error", "cause.cert_expiry"
    ranking = cause_ranking(
        concept_graph, [_likely(concept_graph, a, 0.8), _likely(concept_graph, b, 0.5)]
    )
    assert set(ranking) == holders[a] | holders[b]
    for case_id, score in ranking.items():
        expected = sum(
            s * math.log(1 + n / len(holders[c]))
            for c, s in ((a, 0.8), (b, 0.5))
            if case_id in holders[c]
        )
        assert score == pytest.approx(expected)
    assert cause_ranking(concept_graph, []) == {}


@pytest.fixture(scope="module")
def ranker(seed_graph, seed_searcher, extractor):
    return CauseAwareSearcher(seed_searcher, seed_graph, extractor)


def test_same_contract_as_the_searcher(ranker, seed_searcher):
    base = seed_searcher.search(INCIDENT, k=10)
    response = ranker.search(INCIDENT, k=10)
    assert type(response) is type(base)
    ids = [r.case_id for r in response.results]
    assert len(ids) == 10 == len(set(ids))
    assert [r.rank for r in response.results] == list(range(1, 11))
    assert response.no_good_match == base.no_good_match
    assert len(ranker.search(INCIDENT, k=3).results) == 3
    sector = base.results[0].sectors[0]
    filtered = ranker.search(INCIDENT, k=5, sectors=[sector])
    assert all(sector in r.sectors for r in filtered.results)


def test_the_cause_list_reaches_the_fusion(seed_graph, seed_searcher, extractor):
    # With an overwhelming weight, the order is the cause list's order.
    heavy = CauseAwareSearcher(seed_searcher, seed_graph, extractor, weight=1000.0)
    first = seed_searcher.search(INCIDENT, k=10)
    ranking = cause_ranking(seed_graph, heavy.likely_causes(INCIDENT, first))
    assert ranking
    best = max(ranking.values())
    top = heavy.search(INCIDENT, k=1).results[0].case_id
    assert ranking[top] == pytest.approx(best, abs=1e-6)


@pytest.mark.skipif(not DEV.exists(), reason="needs ../shared/eval/dev_queries.jsonl")
def test_cause_aware_ranking_does_not_lose_on_the_dev_set(ranker, seed_searcher):
    from search.evaluation import load_queries

    queries = load_queries(DEV)
    out = compare_rankings(queries, {"base": seed_searcher, "causes": ranker})
    assert out["causes"]["ndcg@10"] >= out["base"]["ndcg@10"]
    assert out["causes"]["none_accuracy"] == out["base"]["none_accuracy"]
