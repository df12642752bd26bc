"""Likely causes and recommended countermeasures for a new incident, with their evidence."""

from __future__ import annotations

import pytest
from kizuki.graph.build import HAS_CAUSE, MITIGATES
from kizuki.graph.recommend import likely_causes, recommend, sign_evidence

# Invented for this test (not a dev query): symptoms plus the suspected cause.
CERT_INCIDENT = (
    "今朝から取引先とのファイル伝送がすべてエラーになっている。"
    "調べたところ、中継サーバに入れていたSSL証明書の有効期限が昨夜で切れていた。"
    "証明書の更新は保守を委託している会社に任せきりで、当社では期限を管理していなかった。"
)
SYMPTOMS_ONLY = "夜間バッチが途中で異常終了し、翌朝のオンライン開始が遅れた。"


@pytest.fixture(scope="module")
def cert(seed_graph, ranker):
    response, tags = ranker.analyse(CERT_INCIDENT, k=10)
    return recommend(seed_graph, CERT_INCIDENT, tags, response, k=5)


def _case(seed, case_id):
    return next(c for c in seed if c.id == case_id)


def test_the_certificate_incident_points_at_certificate_expiry(cert):
    causes = [c.concept.id for c in cert.likely_causes]
    assert "cause.cert_expiry" in causes[:3]
    cms = [m.concept.id for m in cert.countermeasures]
    assert "cm.cert_inventory" in cms
    top = next(c for c in cert.likely_causes if c.concept.id == "cause.cert_expiry")
    assert top.text_score > 0 and top.neighbour_score > 0  # both sources agree


def test_likely_causes_carry_their_evidence(cert, seed_graph, seed):
    similar = {s.case.id: s for s in cert.similar}
    assert cert.likely_causes
    for cause in cert.likely_causes:
        assert cause.score == pytest.approx(0.5 * cause.text_score + 0.5 * cause.neighbour_score)
        assert cause.from_text or cause.from_cases
        assert bool(cause.from_text) == (cause.text_score > 0)
        assert bool(cause.from_cases) == (cause.neighbour_score > 0)
        for ev in cause.from_text:
            assert ev.sentence in CERT_INCIDENT and 0 < ev.confidence <= 1
        for ev in cause.from_cases:
            assert ev.case_id in similar
            assert seed_graph.has_edge(ev.case_id, cause.concept.id, key=HAS_CAUSE)
            assert set(ev.sentences) <= set(_case(seed, ev.case_id).causes)
    scores = [c.score for c in cert.likely_causes]
    assert scores == sorted(scores, reverse=True)


def test_countermeasures_are_backed_by_cases_that_answered_those_causes(cert, seed_graph, seed):
    likely = {c.concept.id: c.score for c in cert.likely_causes}
    assert cert.countermeasures
    for rec in cert.countermeasures:
        assert rec.addresses and rec.cases
        expected = 0.0
        supporting = set()
        for a in rec.addresses:
            assert a.cause.id in likely
            edge = seed_graph.edges[rec.concept.id, a.cause.id, MITIGATES]
            assert a.support_count == edge["support_count"]
            assert a.strength == pytest.approx(edge["strength"])
            expected += likely[a.cause.id] * edge["strength"]
            supporting |= set(edge["support"])
        assert rec.score == pytest.approx(expected)
        for ev in rec.cases:
            assert ev.case_id in supporting
            case = _case(seed, ev.case_id)
            assert ev.countermeasure in case.countermeasures
            assert ev.cause in case.causes
    scores = [m.score for m in cert.countermeasures]
    assert scores == sorted(scores, reverse=True)


def test_the_similar_cases_come_first_in_the_evidence(cert):
    similar = [s.case.id for s in cert.similar]
    for rec in cert.countermeasures:
        ranks = [
            similar.index(e.case_id) if e.case_id in similar else len(similar) for e in rec.cases
        ]
        assert ranks == sorted(ranks)


def test_without_a_good_match_only_the_text_counts(seed_graph, ranker):
    response, tags = ranker.analyse(SYMPTOMS_ONLY, k=10)
    forced = response.model_copy(update={"no_good_match": True})
    causes = likely_causes(seed_graph, tags, forced)
    assert all(c.neighbour_score == 0 and not c.from_cases for c in causes)
    with_neighbours = likely_causes(
        seed_graph, tags, response.model_copy(update={"no_good_match": False})
    )
    assert any(c.neighbour_score > 0 for c in with_neighbours)


def test_text_evidence_quotes_the_sentence_that_matched_the_sign(seed_graph, ranker, signs):
    query = ranker.prepare(CERT_INCIDENT)
    matches = signs.match(query.terms)
    tags = sign_evidence(seed_graph, query, matches)
    assert "cause.cert_expiry" in tags
    ev = tags["cause.cert_expiry"][0]
    assert ev.sentence in CERT_INCIDENT and "証明書" in ev.sentence
    assert ev.why.startswith("sign: ") and 0 < ev.confidence <= 1
    assert max(e[0].confidence for e in tags.values()) == 1.0
    assert sign_evidence(seed_graph, query, []) == {}


def test_analyse_embeds_the_text_once(seed_graph, seed_searcher, signs):
    """The search and the likely causes share one analysis and one query embedding."""
    from kizuki.graph.ranking import CauseAwareSearcher
    from kizuki.search.engine import Searcher

    class Counter:
        def __init__(self, inner):
            self.inner, self.calls = inner, 0
            self.model_id, self.dim = inner.model_id, inner.dim
            self.query_prompt, self.passage_prompt = inner.query_prompt, inner.passage_prompt

        def embed_queries(self, texts):
            self.calls += len(texts)
            return self.inner.embed_queries(texts)

    embedder = Counter(seed_searcher.embedder)
    plain = Searcher(seed_searcher.index, embedder, seed_searcher.analyzer)
    response, tags = CauseAwareSearcher(plain, seed_graph, signs).analyse(CERT_INCIDENT)
    recommend(seed_graph, CERT_INCIDENT, tags, response)
    assert embedder.calls == 1


@pytest.mark.parametrize(
    "text",
    [
        "作業は担当者1名で実施し、ダブルチェックは行われていなかった",
        "設定変更は一人で行い、別の担当者による確認はしていなかった",
        "手順書どおりに作業したが、もう一人による読み合わせ確認を省略した",
        "No second person reviewed the rate table before it was loaded",
    ],
)
def test_everyday_wording_of_a_missing_second_check_points_at_it(seed_graph, ranker, text):
    """Issue 22 (6): the most common cause in everyday words (no double check, one person
    alone, nobody else checked) is read as missing peer review, first."""
    response, tags = ranker.analyse(text, k=10)
    causes = [c.concept.id for c in recommend(seed_graph, text, tags, response).likely_causes]
    assert causes[0] == "cause.missing_peer_review", causes[:3]
