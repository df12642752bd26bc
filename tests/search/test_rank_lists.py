"""The ranking's lists computed from what a query reaches equal the old whole-corpus arrays.

``dense_lists`` once kept a (groups × cases) array per query, ``lexical_lists`` a BM25
score for every case, and ``TokenTable.spans`` used ``np.isin``; they now work on the
query's own rows, postings and terms only. The references below are
the earlier code, kept here to compare against on the bundled corpus and on thousands of
synthetic cases (rows that tie, a filter, lists cut at a depth)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from kizuki.search import lexical as lexical_mod
from kizuki.search.dense import DenseIndex
from kizuki.search.features import (
    DENSE_GROUPS,
    FULL_SCAN_ROWS,
    PreparedQuery,
    dense_lists,
    lexical_lists,
)
from kizuki.search.lexical import LexicalIndex
from kizuki.search.lists import top

TEXTS = (
    "夜間バッチが異常終了し、口座振替の処理が翌朝まで遅延した",
    "サーバ証明書の期限切れにより、取引先との接続ができなくなった",
    "The core banking system stopped after a storage controller failed over.",
)


def reference_dense_lists(index, query, depth):
    """The earlier ``dense_lists``: every case's best row per group in a dense array."""
    dense, n = index.dense, len(index.cases)
    view_names, codes = dense.view_codes
    group_of = np.full(len(view_names), -1)
    groups = [g for g, views in DENSE_GROUPS.items() if set(views) & set(view_names)]
    for j, g in enumerate(groups):
        for v in DENSE_GROUPS[g]:
            if v in view_names:
                group_of[view_names.index(v)] = j
    if dense.n_rows <= FULL_SCAN_ROWS:
        sims, rows = dense.row_scores(query.vector[None, :])
    else:
        rows_per_case = max(1, round(dense.n_rows / n))
        allowed_rows = query.allowed[dense.owners] if query.allowed is not None else None
        sims, rows = dense.row_scores(query.vector[None, :], depth * rows_per_case, allowed_rows)
    sims, rows = sims[0], rows[0]
    valid = rows >= 0
    sims, rows = sims[valid].astype(np.float64), rows[valid]
    owners, group = dense.owners[rows], group_of[codes[rows]]
    keep = group >= 0
    if query.allowed is not None:
        keep &= query.allowed[owners]
    sims, owners, group = sims[keep], owners[keep], group[keep]
    best = np.full((len(groups), n), -np.inf)
    np.maximum.at(best, (group, owners), sims)
    out = {}
    for j, g in enumerate(groups):
        docs = np.flatnonzero(np.isfinite(best[j]))
        out[f"cos:{g}"] = top(docs, best[j, docs], index.id_keys, depth)
    views = {
        int(d): groups[int(np.argmax(best[:, d]))]
        for d in np.flatnonzero(np.isfinite(best).any(axis=0))
    }
    return out, views


def assert_same(index, query, depth):
    got, best = dense_lists(index, query, depth)
    want, want_best = reference_dense_lists(index, query, depth)
    assert got.keys() == want.keys()
    for name in want:
        assert np.array_equal(got[name].docs, want[name].docs), name
        assert np.array_equal(got[name].scores, want[name].scores), name
    assert dict(best.items()) == want_best
    assert len(best) == len(want_best) and list(best) == sorted(want_best)
    with pytest.raises(KeyError):
        best[len(index.cases) + 1]


def test_dense_lists_equal_the_whole_array_computation_on_the_bundled_corpus(seed_searcher):
    sector = seed_searcher.sectors()[0]
    for text in TEXTS:
        for sectors in (None, [sector]):
            query = seed_searcher.prepare(text, sectors=sectors)
            for depth in (1000, 5):
                assert_same(seed_searcher.index, query, depth)


def synthetic(n_cases: int, seed: int):
    """Cases with 1 + 1..4 + 0..2 rows (case, sentences, outside), some rows tied."""
    rng = np.random.default_rng(seed)
    vectors, owners, views = [], [], []
    for case in range(n_cases):
        own = rng.standard_normal(32)
        for view, count in (
            ("title+event+causes", 1),
            ("sentences[]", int(rng.integers(1, 5))),
            ("outside[]", int(rng.integers(0, 3))),
        ):
            for _ in range(count):
                # A third of the rows repeat the case's vector: equal scores to break.
                v = own if rng.random() < 0.33 else own + rng.standard_normal(32)
                vectors.append(v / np.linalg.norm(v))
                owners.append(case)
                views.append(view)
    dense = DenseIndex(np.array(vectors, np.float32), owners, views)
    ids = np.array([f"syn-{i:05d}" for i in rng.permutation(n_cases)])
    return SimpleNamespace(dense=dense, cases=range(n_cases), id_keys=ids), rng


def test_dense_lists_equal_the_whole_array_computation_on_thousands_of_cases():
    index, rng = synthetic(3000, seed=5)
    assert index.dense.n_rows > FULL_SCAN_ROWS  # the nearest-rows path, not the full scan
    for _ in range(5):
        v = rng.standard_normal(32).astype(np.float32)
        v /= np.linalg.norm(v)
        allowed = rng.random(3000) < 0.4
        for mask in (None, allowed):
            query = PreparedQuery("q", [], v, mask)
            for depth in (1000, 50):
                assert_same(index, query, depth)


def test_spans_of_chosen_terms_are_those_of_all_terms(seed_index):
    tokens = seed_index.tokens
    rng = np.random.default_rng(3)
    for i in range(len(tokens)):
        every = tokens.spans(i)
        ids = tokens.vocab.ids
        chosen = [t for t in every if rng.random() < 0.3] + ["語彙にない語"]
        wanted = [ids[t] for t in chosen if t in ids] + [len(ids) + 5]
        assert tokens.spans(i, wanted) == {t: every[t] for t in chosen if t in every}
        assert tokens.spans(i, []) == {}


def reference_lexical_lists(index, query, depth):
    """The earlier ``lexical_lists``: every case's BM25 score, then the best ``depth``."""
    out = {}
    for name, lexical in index.lexicals.items():
        scores = lexical.scores(query.terms)
        hits = scores > 0
        if query.allowed is not None:
            hits &= query.allowed
        docs = np.flatnonzero(hits)
        out[f"bm25:{name}"] = top(docs, scores[docs], index.id_keys, depth)
    return out


def test_lexical_lists_equal_the_whole_array_computation_on_the_bundled_corpus(seed_searcher):
    sector = seed_searcher.sectors()[0]
    for text in TEXTS:
        for sectors in (None, [sector]):
            query = seed_searcher.prepare(text, sectors=sectors)
            for depth in (1000, 5):
                got = lexical_lists(seed_searcher.index, query, depth)
                want = reference_lexical_lists(seed_searcher.index, query, depth)
                assert got.keys() == want.keys()
                for name in want:
                    assert np.array_equal(got[name].docs, want[name].docs)
                    assert np.array_equal(got[name].scores, want[name].scores)


@pytest.mark.parametrize("share", [0, 10**9], ids=["sorted-postings", "summed-in-place"])
def test_bm25_hits_are_the_nonzero_scores_bit_for_bit_on_thousands_of_documents(share, monkeypatch):
    """Both ways of reading postings (few postings: sorted; many: summed in an array the
    collection's size) give bm25s's scores bit for bit."""
    monkeypatch.setattr(lexical_mod, "DENSE_POSTINGS_SHARE", share)
    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(400)]
    docs = [list(rng.choice(words, int(rng.integers(3, 40)))) for _ in range(4_000)]
    index = LexicalIndex(docs[:3_800]).extended(docs[3_800:])  # a bulk and an added tail
    for _ in range(20):
        query = list(rng.choice(words + ["未知語"], int(rng.integers(1, 12))))  # repeats too
        every = index.scores(query)
        got_docs, got_scores = index.hits(query)
        assert np.array_equal(got_docs, np.flatnonzero(every))
        assert np.array_equal(got_scores, every[got_docs])  # same float32 sums, same order
    assert len(index.hits([])[0]) == 0 and len(index.hits(["未知語"])[0]) == 0
