"""The interface a backend must implement, and today's backend behind it."""

from __future__ import annotations

import numpy as np
import pytest
from kizuki.search.backend import IndexBackend, LocalBackend
from kizuki.search.engine import RankConfig, Searcher
from kizuki.search.features import candidates


def test_a_backend_must_implement_every_method():
    class Partial(IndexBackend):
        def lexical_lists(self, query, depth):
            return {}

    with pytest.raises(TypeError, match="dense_lists"):
        Partial()


def test_the_local_backend_gives_the_lists_the_ranking_uses(
    seed_index, seed_embedder, seed_analyzer
):
    searcher = Searcher(seed_index, seed_embedder, seed_analyzer, RankConfig())
    query = searcher.prepare("ATMが停止し、再鑑が不足していた", sectors=["地域銀行"])
    backend = LocalBackend(seed_index)
    lists = {**backend.lexical_lists(query, 50), **backend.dense_lists(query, 50)[0]}
    expected = candidates(seed_index, query, 50).lists
    assert set(lists) == set(expected) and {"bm25:case", "cos:sentences"} <= set(lists)
    for name, ranked in expected.items():
        assert np.array_equal(lists[name].docs, ranked.docs), name
        assert query.allowed[lists[name].docs].all(), name  # the filter is inside each list
    assert backend.n_docs == 44
    idf = [backend.idf("case", t) for t in query.terms]
    assert max(idf) > 0 and idf == [seed_index.lexical.idf(t) for t in query.terms]
    smaller = backend.remove_cases(["fsa2019-01"])
    assert smaller.n_docs == 43 and backend.n_docs == 44
