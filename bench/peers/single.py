"""One-ranker reference points for the quality table: what each half of a hybrid scores.

Not peers a user would pick, but without them a fused score cannot be read: plain RRF of
BM25 and a dense model can score *below* the dense model alone (measured.md).
"""

from __future__ import annotations

import bm25s
import faiss
import numpy as np

from bench.systems import BuildInput, Query


class BM25sOnly:
    name = "bm25s-only"
    description = "bm25s (k1=1.2, b=0.75) over the same tokens, lexical only"

    def build(self, data: BuildInput) -> None:
        self.ids = list(data.ids)
        self.retriever = bm25s.BM25(k1=1.2, b=0.75)
        self.retriever.index(data.tokens, show_progress=False)
        self.vocab = self.retriever.vocab_dict

    def search(self, query: Query, k: int = 10) -> list[str]:
        toks = [t for t in query.tokens if t in self.vocab]
        if not toks:
            return []
        scores = self.retriever.get_scores(toks)
        nz = np.flatnonzero(scores)
        best = nz[np.argsort(-scores[nz], kind="stable")][:k]
        return [self.ids[i] for i in best]


class DenseOnly:
    name = "dense-only"
    description = "faiss IndexFlatIP over the same vectors, dense only"

    def build(self, data: BuildInput) -> None:
        self.ids = list(data.ids)
        self.index = faiss.IndexFlatIP(data.vectors.shape[1])
        self.index.add(np.ascontiguousarray(data.vectors, dtype=np.float32))

    def search(self, query: Query, k: int = 10) -> list[str]:
        _, idx = self.index.search(query.vector.reshape(1, -1).astype(np.float32), k)
        return [self.ids[i] for i in idx[0] if i >= 0]
