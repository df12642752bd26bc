"""Helpers for the search tests (the shared index fixtures live in tests/conftest.py)."""

from __future__ import annotations

import pytest


class CountingEmbedder:
    """Wraps an embedder and counts the passages it is asked to embed."""

    def __init__(self, inner, model_id: str | None = None):
        self.inner = inner
        self.model_id = model_id or inner.model_id
        self.dim = inner.dim
        self.query_prompt, self.passage_prompt = inner.query_prompt, inner.passage_prompt
        self.passages = 0

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts):
        self.passages += len(texts)
        return self.inner.embed_passages(texts)


@pytest.fixture
def counting(seed_embedder):
    """Factory: ``counting()`` or ``counting("other/model-id")``."""
    return lambda model_id=None: CountingEmbedder(seed_embedder, model_id)
