"""Cause signs: validated against the taxonomy, matched from analysed terms, no model."""

from __future__ import annotations

import pytest
from kizuki.graph.signs import OUT_OF_SCOPE, load_signs


def test_every_leaf_cause_has_signs_in_both_languages(taxonomy):
    signs = load_signs(taxonomy)
    leaves = {c.id for c in taxonomy.leaves("cause")}
    causes = {c for c in signs if not c.startswith(OUT_OF_SCOPE)}
    assert causes == leaves
    kinds = {c for c in signs if c.startswith(OUT_OF_SCOPE)}
    assert {f"{OUT_OF_SCOPE}cyber_attack", f"{OUT_OF_SCOPE}natural_disaster"} <= kinds
    for texts in signs.values():
        assert any(t.isascii() for t in texts) and any(not t.isascii() for t in texts)


def test_unknown_concepts_and_empty_signs_are_refused(taxonomy, tmp_path):
    bad = tmp_path / "signs.yaml"
    bad.write_text("signs:\n  cause.nope:\n    ja: [テスト]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown cause"):
        load_signs(taxonomy, bad)
    bad.write_text("signs:\n  cause.cert_expiry:\n    ja: ['  ']\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        load_signs(taxonomy, bad)


@pytest.mark.parametrize(
    "text, concept",
    [
        (
            "同じ決済代行会社を使っている他社でも、同じ時間帯に決済が止まっていると連絡があった",
            "cause.third_party_failure",
        ),
        (
            "Traffic from this morning's campaign hit ten times the usual volume and the app stalled.",
            "cause.capacity_limit",
        ),
        ("ブラウザに証明書の有効期限切れの警告が出て、取引サイトが開けない", "cause.cert_expiry"),
    ],
)
def test_a_report_points_to_its_cause(signs, seed_analyzer, text, concept):
    matches = signs.match(seed_analyzer.terms(text))
    assert concept in [m.concept for m in matches]
    assert all(m.score > 0 and m.sign for m in matches) and len(matches) <= 3
    assert all(not m.concept.startswith(OUT_OF_SCOPE) for m in matches)


def test_out_of_scope_reads_the_kind_of_incident(signs, seed_analyzer):
    attack = "大量の不正な通信が海外のIPアドレスから押し寄せ、DDoS攻撃を受けていると判断した"
    failure = "夜間バッチが異常終了し、翌朝のオンライン開始が遅れた"
    assert signs.out_of_scope(seed_analyzer.terms(attack)) > 0.5
    assert signs.out_of_scope(seed_analyzer.terms(failure)) < 0.5
    assert signs.out_of_scope([]) == 0.0 and signs.match([]) == []
