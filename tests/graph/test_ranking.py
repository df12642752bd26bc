"""Cause-aware ranking: same contract as the searcher, one more source, no-match kinds."""

from __future__ import annotations

import math

import pytest
from kizuki.graph.build import HAS_CAUSE, edges_of_type
from kizuki.graph.ranking import SOURCE, cause_ranking

INCIDENT = "夜間バッチ処理の復旧作業で手順を誤り、翌朝のオンライン開始が大幅に遅れた。"


def test_cause_ranking_weights_rare_causes_more(concept_graph):
    holders = {}
    for case_id, cause, _ in edges_of_type(concept_graph, HAS_CAUSE):
        holders.setdefault(cause, set()).add(case_id)
    n = len({c for cases in holders.values() for c in cases})
    a, b = "cause.operator_error", "cause.cert_expiry"
    ranking = cause_ranking(concept_graph, {a: 0.8, b: 0.5})
    assert set(ranking) == holders[a] | holders[b]
    for case_id, score in ranking.items():
        expected = sum(
            s * math.log(1 + n / len(holders[c]))
            for c, s in ((a, 0.8), (b, 0.5))
            if case_id in holders[c]
        )
        assert score == pytest.approx(expected)
    assert cause_ranking(concept_graph, {}) == {}
    assert cause_ranking(concept_graph, {a: 0.0}) == {}


def test_same_contract_as_the_searcher(ranker, seed_searcher):
    base = seed_searcher.search(INCIDENT, k=10)
    response = ranker.search(INCIDENT, k=10)
    assert type(response) is type(base)
    ids = [r.case_id for r in response.results]
    assert len(ids) == 10 == len(set(ids))
    assert [r.rank for r in response.results] == list(range(1, 11))
    assert len(ranker.search(INCIDENT, k=3).results) == 3
    sector = base.results[0].sectors[0]
    filtered = ranker.search(INCIDENT, k=5, sectors=[sector])
    assert all(sector in r.sectors for r in filtered.results)
    with pytest.raises(ValueError):
        ranker.search(INCIDENT, k=0)
    assert ranker.with_scorer("lexical").searcher.scorer_name == "lexical"


def test_the_cause_source_becomes_features(ranker, seed_graph):
    query = ranker.prepare(INCIDENT)
    extras = ranker.extras(query)
    causes = extras.sources[SOURCE]
    assert causes and set(causes) <= {n for n, d in seed_graph.nodes(data=True)}
    cands = ranker.candidates(query, extras)
    column = cands.column(f"extra:{SOURCE}")
    assert column.max() == pytest.approx(1.0)  # scaled by the list's best
    best = max(causes, key=causes.get)
    assert column[list(cands.docs).index(ranker.index.position[best])] == column.max()


@pytest.mark.parametrize(
    "text",
    [
        "台風の影響で本店ビルの地下が浸水し、受電設備が停止した。非常用発電機の燃料も"
        "半日しかもたなかった。",
        "ランサムウェアに感染し、ファイルサーバーのデータが暗号化された。犯行グループから"
        "身代金を要求する脅迫文が届いた。",
    ],
)
def test_incidents_of_another_kind_have_no_good_match(ranker, text):
    response = ranker.search(text, k=5)
    assert response.no_good_match and response.match_strength == "none"
    oos = ranker.extras(ranker.prepare(text)).signals["out_of_scope"]
    assert oos > ranker.extras(ranker.prepare(INCIDENT)).signals["out_of_scope"]
    assert len(response.results) == 5  # the closest cases are still returned


def test_a_real_system_failure_is_a_strong_analogue(ranker):
    text = "朝から個人・法人ともネットバンキングにログインできない。ワンタイムパスワードの認証でエラーになる。"
    response = ranker.search(text, k=5)
    assert response.match_strength == "strong" and response.results[0].case_id == "fsa2019-01"
    assert ranker.extras(ranker.prepare(text)).signals["out_of_scope"] < 0.5
