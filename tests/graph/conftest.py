"""Shared, session-scoped fixtures for the graph tests: real seed cases, taxonomy,
annotations and extractor; the search index is the session one from ``tests/conftest.py``."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def seed():
    from kizuki.corpus import seed_cases

    return list(seed_cases())


@pytest.fixture(scope="session")
def taxonomy():
    from kizuki.graph.taxonomy import load_taxonomy

    return load_taxonomy()


@pytest.fixture(scope="session")
def annotations(seed, taxonomy):
    from kizuki.graph.annotations import load_annotations

    return load_annotations(cases=seed, taxonomy=taxonomy)


@pytest.fixture(scope="session")
def chains(seed, taxonomy):
    from kizuki.graph.chains import load_chains

    return load_chains(cases=seed, taxonomy=taxonomy)


@pytest.fixture(scope="session")
def extractor(taxonomy, seed_embedder):
    from kizuki.graph.extract import ConceptExtractor

    return ConceptExtractor(taxonomy, embedder=seed_embedder)


@pytest.fixture(scope="session")
def concept_graph(seed, taxonomy, annotations):
    """The seed graph without ``similar_to`` edges (no search index needed)."""
    from kizuki.graph.build import build_graph

    return build_graph(seed, taxonomy, annotations)


@pytest.fixture(scope="session")
def seed_graph(seed, taxonomy, annotations, extractor, seed_searcher, chains):
    """The full seed graph, ``similar_to`` edges from the shared session index and the
    cause chains' ``leads_to`` edges included (as the product builds it)."""
    from kizuki.graph.build import build_graph

    return build_graph(
        seed, taxonomy, annotations, extractor=extractor, searcher=seed_searcher, chains=chains
    )


@pytest.fixture(scope="session")
def signs(taxonomy, seed_analyzer):
    from kizuki.graph.signs import CauseSigns

    return CauseSigns.load(taxonomy, seed_analyzer)


@pytest.fixture(scope="session")
def ranker(seed_graph, seed_index, seed_embedder, seed_analyzer, signs):
    """The product's ranking over the seed index: the searcher with the shipped mechanism
    facets (as the service loads them) plus the graph's source."""
    from kizuki.graph.ranking import CauseAwareSearcher
    from kizuki.search.engine import Searcher
    from kizuki.search.facets import FacetModel

    facets = FacetModel.load_file()
    assert facets is not None and facets.model_id == seed_embedder.model_id
    searcher = Searcher(seed_index, seed_embedder, seed_analyzer, facets=facets)
    return CauseAwareSearcher(searcher, seed_graph, signs)
