"""The hybrid pipeline a user would write by hand: rank_bm25 + faiss flat + plain RRF.

Exactly what the tutorials show, with no tuning: ``BM25Okapi`` over the tokens (its
defaults k1=1.5, b=0.75), an exact ``IndexFlatIP`` over the vectors, the top ``depth`` of
each ranking fused by reciprocal rank fusion with k=60.
"""

from __future__ import annotations

import faiss
import numpy as np
from rank_bm25 import BM25Okapi

from bench.systems import BuildInput, Query

RRF_K = 60
DEPTH = 100


class HandwrittenHybrid:
    name = "handwritten"
    description = f"rank_bm25 BM25Okapi + faiss IndexFlatIP + RRF(k={RRF_K}, top {DEPTH} each)"

    def build(self, data: BuildInput) -> None:
        self.ids = list(data.ids)
        # rank_bm25 divides by the corpus size and average length: guard empty documents.
        self.bm25 = BM25Okapi([t if t else [""] for t in data.tokens])
        self.index = faiss.IndexFlatIP(data.vectors.shape[1])
        self.index.add(np.ascontiguousarray(data.vectors, dtype=np.float32))

    def search(self, query: Query, k: int = 10) -> list[str]:
        depth = min(max(k, DEPTH), len(self.ids))
        scores = self.bm25.get_scores(query.tokens)
        lexical = np.argsort(-scores)[:depth]
        _, dense = self.index.search(query.vector.reshape(1, -1).astype(np.float32), depth)
        fused: dict[int, float] = {}
        for ranking in (lexical, dense[0]):
            for rank, i in enumerate(ranking):
                if i >= 0:
                    fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
        return [self.ids[i] for i in best]
