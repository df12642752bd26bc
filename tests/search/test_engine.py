"""Ranking behaviour: quality sanity, filters, explanations, confidence, extra sources."""

from __future__ import annotations

import pytest
from kizuki.search.engine import Searcher
from kizuki.search.index import case_fields

OTP = (
    "朝から個人・法人ともネットバンキングにログインできない。ワンタイムパスワードの認証で"
    "エラーになる。"
)


def test_finds_the_obvious_analogue(seed_searcher):
    response = seed_searcher.search(OTP, k=10)
    assert [r.rank for r in response.results] == list(range(1, 11))
    assert response.results[0].case_id == "fsa2019-01"
    scores = [r.score for r in response.results]
    assert scores == sorted(scores, reverse=True)
    assert not response.no_good_match


def test_english_query_finds_japanese_case(seed_searcher):
    response = seed_searcher.search(
        "Our internet banking login failed for all retail and corporate customers because "
        "the one-time password authentication service returned errors.",
        k=5,
    )
    assert "fsa2019-01" in [r.case_id for r in response.results[:3]]


def test_explanations(seed_searcher, seed_index):
    response = seed_searcher.search(OTP, k=3)
    top = response.results[0]
    case = seed_index.cases[seed_index.position[top.case_id]]
    assert top.causes == case.causes and top.countermeasures == case.countermeasures
    fields = case_fields(case, seed_index.outside.get(case.id, ()))
    assert top.matched_fields and set(top.matched_fields) <= set(fields)
    assert top.outside_match in seed_index.outside[case.id]
    fields["outside"] = top.outside_match  # outside spans point into the matched view
    assert top.shared_terms
    normalized = {t.normalized for t in top.shared_terms}
    assert "ワンタイムパスワード" in normalized  # via the synonym group: OTP in the case
    for term in top.shared_terms:
        for start, end in term.query_spans:
            assert OTP[start:end]
        assert term.term == OTP[term.query_spans[0][0] : term.query_spans[0][1]]
        for name, spans in term.case_spans.items():
            for start, end in spans:
                assert 0 <= start < end <= len(fields[name])
    otp = next(
        t for t in top.shared_terms if t.normalized == "ワンタイムパスワード" and t.via_synonym
    )
    assert any("OTP" in case.event[s:e] for s, e in otp.case_spans.get("event", []))


def test_sector_and_theme_filters(seed_searcher, seed_index):
    sector = "資金移動業者"
    response = seed_searcher.search(OTP, k=44, sectors=[sector])
    expected = {c.id for c in seed_index.cases if sector in c.sectors}
    assert {r.case_id for r in response.results} == expected
    themed = seed_searcher.search(OTP, k=44, themes=["outsourcing"])
    assert themed.results and all(r.theme == "outsourcing" for r in themed.results)
    both = seed_searcher.search(OTP, k=44, sectors=[sector], themes=["outsourcing"])
    assert {r.case_id for r in both.results} <= expected
    assert "資金移動業者" in seed_searcher.sectors() and "outsourcing" in seed_searcher.themes()


def test_confidence_is_graded_and_flags_no_good_match(seed_searcher):
    """The response's probability, threshold, strength and flag agree with each other; a
    real incident is a strong analogue; a report reading like an out-of-scope kind (the
    graph layer's signal, given here by hand) lowers the probability."""
    from kizuki.search.features import Extras

    real = seed_searcher.search(OTP, k=5)
    text = "営業車が駐車場で接触事故を起こした。"
    plain = seed_searcher.search(text, k=5)
    flagged = seed_searcher.search(text, k=5, extras=Extras(signals={"out_of_scope": 1.0}))
    for r in (real, plain, flagged):
        assert r.no_good_match == (r.match_strength == "none")
        assert r.no_good_match == (r.confidence < r.threshold)
        assert 0.0 <= r.confidence <= 1.0
    assert real.match_strength == "strong"
    assert flagged.confidence < plain.confidence < real.confidence
    assert flagged.no_good_match and len(flagged.results) == 5  # closest cases still shown


def test_an_extra_source_is_a_feature_weighed_by_name(seed_searcher):
    """Another layer's source becomes ``extra:<name>`` features; only a scorer that weighs
    that name lets it move the ranking."""
    from dataclasses import replace

    from kizuki.search.features import Extras
    from kizuki.search.scorer import LinearScorer

    base = [r.case_id for r in seed_searcher.search(OTP, k=44).results]
    last = base[-1]
    extras = Extras(sources={"hint": {last: 1.0}})
    ignored = [r.case_id for r in seed_searcher.search(OTP, k=44, extras=extras).results]
    assert ignored == base
    weights = {**seed_searcher.scorer.weights, "extra:hint:rr": 50.0}
    model = replace(seed_searcher.model, scorer=LinearScorer("default", weights))
    heavy = Searcher(
        seed_searcher.index, seed_searcher.embedder, seed_searcher.analyzer, model=model
    )
    boosted = [r.case_id for r in heavy.search(OTP, k=44, extras=extras).results]
    assert boosted[0] == last


def test_comparison_scorers_rank_by_one_source(seed_searcher):
    lexical = seed_searcher.with_scorer("lexical").search(OTP, k=5)
    dense = seed_searcher.with_scorer("dense").search(OTP, k=5)
    assert lexical.results[0].score == pytest.approx(1.0)  # BM25 / the list's best
    lex = [r.lexical_score for r in lexical.results]
    assert lex == sorted(lex, reverse=True)
    assert dense.results[0].score == pytest.approx(dense.results[0].dense_score, abs=1e-3)
    rrf = seed_searcher.with_scorer("rrf").search(OTP, k=5)
    assert rrf.results[0].case_id == "fsa2019-01"
    with pytest.raises(ValueError):
        seed_searcher.with_scorer("nope")


def test_one_embedding_per_search(seed_searcher, counting):
    """A pasted text is embedded once on its way through the ranking."""

    class Counter:
        def __init__(self, inner):
            self.inner, self.calls, self.texts = inner, 0, 0
            self.model_id, self.dim = inner.model_id, inner.dim
            self.query_prompt, self.passage_prompt = inner.query_prompt, inner.passage_prompt

        def embed_queries(self, texts):
            self.calls += 1
            self.texts += len(texts)
            return self.inner.embed_queries(texts)

    embedder = Counter(seed_searcher.embedder)
    searcher = Searcher(seed_searcher.index, embedder, seed_searcher.analyzer)
    searcher.search(OTP + "\n復旧まで二時間かかった。", k=10)
    assert (embedder.calls, embedder.texts) == (1, 1)


def test_bad_input(seed_searcher):
    with pytest.raises(ValueError):
        seed_searcher.search("   ")
    with pytest.raises(ValueError):
        seed_searcher.search("障害", k=0)


def test_large_index_path_ranks_the_cut_lists(seed_searcher, monkeypatch):
    """Above FULL_SCAN_ROWS the dense lists come from faiss's nearest rows and every list is
    cut to ``depth`` cases. Uncut, that path gives exactly the small-index ranking; cut to
    30 of 44 cases, the same top 5; filters still hold."""
    import kizuki.search.features as features_mod

    exact = seed_searcher.search(OTP, k=5)
    monkeypatch.setattr(features_mod, "FULL_SCAN_ROWS", 8)
    uncut = seed_searcher.with_config(depth=44).search(OTP, k=5)
    assert uncut.model_dump() == exact.model_dump()
    cut = seed_searcher.with_config(depth=30)
    response = cut.search(OTP, k=5)
    assert [r.case_id for r in response.results] == [r.case_id for r in exact.results]
    sector = exact.results[0].sectors[0]
    filtered = cut.search(OTP, k=20, sectors=[sector])
    assert filtered.results and all(sector in r.sectors for r in filtered.results)
    assert not cut.search(OTP, k=5, sectors=["no such sector"]).results
