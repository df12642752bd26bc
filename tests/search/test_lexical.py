"""BM25: bm25s for the bulk, the same formula for documents added after it."""

from __future__ import annotations

import numpy as np
import pytest
from kizuki.search.lexical import LexicalIndex

DOCS = [
    ["証明書", "期限", "切れ", "通信", "障害"],
    ["再鑑", "不足", "設定", "誤り"],
    ["容量", "不足", "アクセス", "集中"],
    ["証明書", "更新", "漏れ"],
    ["設定", "変更", "テスト", "不足"],
]


def test_added_documents_score_as_if_indexed_with_the_rest():
    full = LexicalIndex(DOCS)
    grown = LexicalIndex(DOCS[:-1]).extended([DOCS[-1]])
    assert grown.n_docs == 5 and grown.n_tail == 1
    query = ["設定", "不足", "不足"]  # repeated terms count again, as in bm25s
    # The tail document uses the whole collection's statistics: the score a full index gives.
    assert grown.scores(query)[-1] == pytest.approx(full.scores(query)[-1], rel=1e-5)
    assert grown.idf("設定") == pytest.approx(full.idf("設定"))
    # The bulk keeps the statistics it was built with until it is re-indexed.
    assert np.array_equal(grown.scores(query)[:4], LexicalIndex(DOCS[:-1]).scores(query))


def test_tail_survives_save_and_load(tmp_path):
    grown = LexicalIndex(DOCS[:3]).extended(DOCS[3:])
    grown.save(tmp_path / "lex")
    loaded = LexicalIndex.load(tmp_path / "lex")
    assert loaded.n_tail == 2
    for query in (["証明書"], ["不足", "テスト"], ["無関係"]):
        assert np.allclose(loaded.scores(query), grown.scores(query))


def test_empty_and_unknown_queries_score_zero():
    index = LexicalIndex(DOCS)
    assert not index.scores([]).any() and not index.scores(["未知語"]).any()
    assert index.idf("未知語") == 0.0


def test_scores_from_counts_is_bm25_of_those_documents():
    grown = LexicalIndex(DOCS[:4]).extended(DOCS[4:])
    terms, weights = ["不足", "設定"], [2, 1]
    counts = np.array([[d.count(t) for t in terms] for d in DOCS])
    lengths = np.array([len(d) for d in DOCS])
    got = grown.scores_from_counts(terms, weights, counts, lengths)
    # The tail document is scored with the collection's statistics by both paths.
    assert got[4] == pytest.approx(grown.scores(["不足", "不足", "設定"])[4], rel=1e-5)
    assert got[2] > 0 and got[0] == 0


def test_remembered_idf_is_forgotten_when_documents_are_added():
    base = LexicalIndex(DOCS[:-1])
    before = base.idf("設定")  # remembered by ``base``
    grown = base.extended([DOCS[-1]])
    assert grown.idf("設定") == pytest.approx(LexicalIndex(DOCS).idf("設定"))
    assert grown.idf("設定") != pytest.approx(before)
    assert base.idf("設定") == before  # the older index keeps its own statistics
