"""Ranking behaviour: quality sanity, filters, explanations, no-good-match, extra rankings."""

from __future__ import annotations

import pytest

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
    assert top.matched_fields and set(top.matched_fields) <= {
        "title",
        "event",
        "causes",
        "countermeasures",
        "sectors",
        "theme",
    }
    assert top.shared_terms
    fields = {
        **case.text_fields(),
        "sectors": "、".join(case.sectors),
        "theme": case.theme.label if case.theme else "",
    }
    normalized = {t.normalized for t in top.shared_terms}
    assert "ワンタイムパスワード" in normalized  # via the synonym group: OTP in the case
    for term in top.shared_terms:
        for start, end in term.query_spans:
            assert OTP[start:end]
        assert term.term == OTP[term.query_spans[0][0] : term.query_spans[0][1]]
        for name, spans in term.case_spans.items():
            for start, end in spans:
                assert 0 <= start < end <= len(fields[name])
    otp = next(t for t in top.shared_terms if t.normalized == "ワンタイムパスワード")
    assert otp.via_synonym
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


@pytest.mark.parametrize(
    "text",
    [
        "台風の影響で本店ビルの地下が浸水し、受電設備が停止した。非常用発電機の燃料も"
        "半日しかもたなかった。",
        "営業車が駐車場で接触事故を起こした。",
        "The quarterly earnings call was moved to Thursday.",
    ],
)
def test_no_good_match_for_an_incident_without_analogue(seed_searcher, text):
    response = seed_searcher.search(text, k=5)
    assert response.no_good_match
    assert response.confidence < response.threshold
    assert len(response.results) == 5  # the closest cases are still returned


def test_extra_rankings_are_fused(seed_searcher):
    base = [r.case_id for r in seed_searcher.search(OTP, k=44).results]
    last = base[-1]
    boosted = seed_searcher.search(OTP, k=44, extra_rankings=[{last: 1.0}], extra_weights=[5.0])
    order = [r.case_id for r in boosted.results]
    assert order.index(last) < base.index(last)


def test_modes_rank_differently(seed_searcher):
    lexical = seed_searcher.with_config(mode="lexical", neighbour_weight=0.0).search(OTP, k=5)
    dense = seed_searcher.with_config(mode="dense", neighbour_weight=0.0).search(OTP, k=5)
    assert lexical.results[0].score == pytest.approx(lexical.results[0].lexical_score, rel=1e-3)
    assert dense.results[0].score == pytest.approx(dense.results[0].dense_score, rel=1e-3)


def test_bad_input(seed_searcher):
    with pytest.raises(ValueError):
        seed_searcher.search("   ")
    with pytest.raises(ValueError):
        seed_searcher.search("障害", k=0)


def test_large_index_path_ranks_the_cut_lists(seed_searcher, monkeypatch):
    """Above FULL_SCAN_ROWS the dense list comes from faiss's nearest rows and every list is
    cut to ``depth`` cases. Uncut, that path gives exactly the small-index ranking; cut to
    30 of 44 cases, the same top 5; filters still hold."""
    import search.engine as engine_mod

    exact = seed_searcher.search(OTP, k=5)
    monkeypatch.setattr(engine_mod, "FULL_SCAN_ROWS", 8)
    uncut = seed_searcher.with_config(depth=44).search(OTP, k=5)
    assert uncut.model_dump() == exact.model_dump()
    cut = seed_searcher.with_config(depth=30)
    response = cut.search(OTP, k=5)
    assert [r.case_id for r in response.results] == [r.case_id for r in exact.results]
    assert response.confidence == exact.confidence
    sector = exact.results[0].sectors[0]
    filtered = cut.search(OTP, k=20, sectors=[sector])
    assert filtered.results and all(sector in r.sectors for r in filtered.results)
    assert not cut.search(OTP, k=5, sectors=["no such sector"]).results
