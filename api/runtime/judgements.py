"""The service's analyst judgements: the durable store, the judged queries' vectors, and the
``search.feedback.FeedbackIndex`` that searches consult.

A judged query is embedded once, when its first judgement is stored (before the write, so
a query that cannot be embedded stores nothing), through the embedding cache on disk; a
restart reads the vectors back from the cache. The index is rebuilt after every write
and swapped in one reference assignment, so a search sees the judgements before or after
a write, never half of one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from kizuki.api.runtime.actions import work_text
from kizuki.api.runtime.loader import DiskCachedQueries, load_models
from kizuki.corpus.feedback import FeedbackStore, Judgement, query_key
from kizuki.corpus.settings import Settings
from kizuki.search.embeddings import open_embedding_cache
from kizuki.search.feedback import FeedbackIndex, Judged

__all__ = ["JudgementBook", "judged", "query_text", "query_vectors"]


def query_text(query: str, settings: Settings) -> str:
    """The part of a query a search embeds (``api.runtime.actions.work_text``), so a judged
    query's vector is the one its search had."""
    return work_text(query.strip(), settings.max_query_work_chars, settings.max_query_sentences)[0]


def query_vectors(texts: Sequence[str], settings: Settings) -> dict[str, np.ndarray]:
    """Query vectors of judged queries, from the embedding cache or embedded (and cached)."""
    texts = list(dict.fromkeys(texts))
    if not texts:
        return {}
    cache = open_embedding_cache(settings)
    try:
        embedder = DiskCachedQueries(load_models(settings).embedder, cache)
        vectors = embedder.embed_queries([query_text(t, settings) for t in texts])
    finally:
        cache.close()
    return dict(zip(texts, vectors, strict=True))


def judged(judgements: Sequence[Judgement]) -> list[Judged]:
    """Stored judgements as the ranking takes them."""
    return [Judged(j.query, j.case_id, j.grade, j.analyst or "", j.created_at) for j in judgements]


class JudgementBook:
    """The judgements of one store, and the index built from them."""

    def __init__(self, settings: Settings, store: FeedbackStore) -> None:
        self.settings = settings
        self.store = store
        self._state: tuple[int, float] | None = None
        self._vectors: dict[str, np.ndarray] = {}
        self._index: FeedbackIndex | None = None
        #: The judgements the index was built from, by query key (the web page reads them
        #: here, so a search page never waits on the database).
        self._by_query: dict[str, list[Judgement]] = {}
        self._lock = threading.Lock()

    @property
    def judgement_count(self) -> int:
        """Judgements in the store when the index was last built (no store round trip)."""
        return self._state[0] if self._state else 0

    @property
    def index(self) -> FeedbackIndex | None:
        """What searches consult (None before ``load``)."""
        return self._index

    def load(self) -> FeedbackIndex:
        """Read every judgement and its query's vector (at start)."""
        with self._lock:
            state = self.store.state()
            rows = self.store.all()
            self._vectors = query_vectors([j.query for j in rows], self.settings)
            self._index = self._build(rows)
            self._state = state
            return self._index

    def refresh_if_stale(self) -> bool:
        """Take in judgements another server stored (several servers over one PostgreSQL)."""
        if self._index is None or self.store.state() == self._state:
            return False
        with self._lock:
            state = self.store.state()
            if state == self._state:
                return False
            rows = self.store.all()
            self._vectors.update(
                query_vectors(
                    [j.query for j in rows if j.query not in self._vectors], self.settings
                )
            )
            self._index = self._build(rows)
            self._state = state
            return True

    def add(
        self, query: str, case_id: str, grade: int, note: str, analyst: str | None
    ) -> tuple[Judgement, bool]:
        """Store one judgement durably (caps enforced), then serve it to searches."""
        with self._lock:
            if query not in self._vectors:
                self._vectors.update(query_vectors([query], self.settings))
            row, replaced = self.store.add(
                query,
                case_id,
                grade,
                note,
                analyst,
                per_hour=self.settings.feedback_per_hour,
                per_query=self.settings.feedback_per_query,
            )
            self._state = self.store.state()
            self._index = self._build(self.store.all())
            return row, replaced

    def _build(self, rows: Sequence[Judgement]) -> FeedbackIndex:
        by_query: dict[str, list[Judgement]] = {}
        for row in rows:
            by_query.setdefault(query_key(row.query), []).append(row)
        self._by_query = by_query
        return FeedbackIndex(judged(rows), self._vectors, self.settings.feedback_min_similarity)

    def for_query(self, query: str) -> list[Judgement]:
        """The judgements of exactly this query, from the store."""
        return self.store.for_query(query.strip())

    def held_for_query(self, query: str) -> list[Judgement]:
        """The judgements of exactly this query as last loaded (memory; no store round
        trip, so it answers while the store is unreachable)."""
        return list(self._by_query.get(query_key(query.strip()), ()))

    def page(self, limit: int, offset: int = 0) -> tuple[int, list[Judgement]]:
        """The total and one page of judgements, oldest first (from the store)."""
        return self.store.page(limit, offset)

    def all(self) -> list[Judgement]:
        """Every judgement in time order (from the store)."""
        return self.store.all()

    def count(self) -> int:
        return self.store.count()
