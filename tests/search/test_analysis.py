"""Tokenization: spelling variants meet, synonyms expand, English passes through, spans hold."""

from __future__ import annotations

import pytest
from kizuki.search.analysis import Analyzer, AnalyzerConfig
from kizuki.search.synonyms import SynonymTable


def _terms(analyzer: Analyzer, text: str) -> set[str]:
    return set(analyzer.terms(text))


def test_spelling_variants_share_a_term(seed_analyzer):
    assert "サーバー" in _terms(seed_analyzer, "中継サーバが停止した")
    assert "サーバー" in _terms(seed_analyzer, "中継サーバーが停止した")
    assert _terms(seed_analyzer, "ＡＴＭ") == _terms(seed_analyzer, "ATM")


def test_domain_synonyms_meet(seed_analyzer):
    report = _terms(seed_analyzer, "再鑑が不十分であり、再鑑者が作業順序相違を看過した。")
    paste = _terms(seed_analyzer, "作業はダブルチェックしていたが誰も気付かなかった。")
    other = _terms(seed_analyzer, "二重確認の手順がなかった")
    assert "≈再鑑" in report & paste & other
    assert "≈インターネットバンキング" in _terms(seed_analyzer, "個人IBにログインできない")
    assert "≈インターネットバンキング" in _terms(seed_analyzer, "ネットバンキングが使えない")


def test_synonyms_can_be_turned_off():
    plain = Analyzer(AnalyzerConfig(domain_synonyms=False))
    assert not any(t.startswith("≈") for t in plain.terms("ダブルチェックをしていなかった"))


def test_english_passes_through_and_meets_japanese(seed_analyzer):
    terms = _terms(seed_analyzer, "The SSL certificate on our server expired overnight.")
    assert "≈証明書" in terms and "≈有効期限切れ" in terms
    assert "サーバー" in terms  # Sudachi reads "server" as サーバー
    assert not {"the", "on", "our"} & terms  # English grammar words are dropped
    assert "≈証明書" in _terms(seed_analyzer, "SSL証明書の有効期限切れ")


def test_spans_point_into_the_original_text(seed_analyzer):
    text = "朝9時から ＩＢ のOTP認証でエラー。Customers can't log in to online banking."
    tokens = seed_analyzer.analyze(text)
    assert tokens
    surfaces = {text[t.start : t.end] for t in tokens}
    assert "ＩＢ" in surfaces and "エラー" in surfaces and "log in" in surfaces
    for t in tokens:
        assert 0 <= t.start < t.end <= len(text)


def test_long_text_is_chunked_with_correct_offsets(seed_analyzer):
    sentence = "夜間バッチが異常終了し、オンラインの開始が遅延した。"
    text = sentence * 400 + "最後にサーバーが停止した。"  # above Sudachi's input limit in one piece
    tokens = seed_analyzer.analyze(text)
    last = [t for t in tokens if t.term == "サーバー"][-1]
    assert text[last.start : last.end] == "サーバー"
    assert last.start > len(sentence) * 399


def test_empty_and_symbol_only_text(seed_analyzer):
    assert seed_analyzer.analyze("") == []
    assert seed_analyzer.terms("。、！？") == []


def test_synonym_file_format():
    table = SynonymTable.from_text("# comment\n再鑑\tダブルチェック\t二重確認\n\n")
    assert [g.variants for g in table.groups] == [("再鑑", "ダブルチェック", "二重確認")]
    with pytest.raises(ValueError, match="line 1"):
        SynonymTable.from_text("ひとつだけ\n")


def test_bad_split_mode():
    with pytest.raises(ValueError):
        AnalyzerConfig(split_mode="D")
