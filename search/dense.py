"""Vectors in faiss, several per case allowed, scored per case by their best vector.

Index type by size. Below ``HNSW_MIN_VECTORS`` vectors an exact ``IndexFlatIP`` is used:
a single query scans 100k vectors in ~6.5 ms on these machines (one thread), which is below
the ~11 ms the e5 query embedding itself costs, and exact search needs no build time, no
tuning and supports removal. Above it the scan grows linearly (~53 ms at 1M) and dominates a
query, so ``IndexHNSWFlat`` (M=32, efSearch=128; ~0.25 ms at 1M) is worth its build time
and its approximate recall. The 44-case seed index is exact.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

HNSW_MIN_VECTORS = 200_000
HNSW_M = 32
HNSW_EF_SEARCH = 128

# Single queries are about twice as fast on one thread than on two (measured.md).
faiss.omp_set_num_threads(1)


class DenseIndex:
    """Rows of L2-normalised vectors; ``owners[i]`` is the document (case) row ``i`` belongs to.

    ``views[i]`` names what text row ``i`` embeds (e.g. ``event+causes``), for explanations.
    """

    def __init__(self, vectors: np.ndarray, owners: Sequence[int], views: Sequence[str]) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(owners) or len(owners) != len(views):
            raise ValueError("vectors, owners and views must have matching lengths")
        self.vectors = vectors
        self.owners = np.asarray(owners, dtype=np.int64)
        self.views = list(views)
        self.dim = vectors.shape[1]
        self.kind = "hnsw" if len(vectors) >= HNSW_MIN_VECTORS else "flat"
        self._index = self._build()

    def _build(self) -> faiss.Index:
        if self.kind == "hnsw":
            index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(self.dim)
        if len(self.vectors):
            index.add(self.vectors)
        return index

    def row_scores(self, queries: np.ndarray, n_rows: int | None = None):
        """Inner products of each query with its nearest rows: (scores, row ids), -1 = none."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        total = self._index.ntotal
        n = total if n_rows is None else min(n_rows, total)
        if n == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        return self._index.search(queries, n)

    def with_rows(self, vectors: np.ndarray, owners, views) -> DenseIndex:
        """A new index with rows appended (exact indexes are cheap to rebuild)."""
        return DenseIndex(
            np.vstack([self.vectors, np.asarray(vectors, np.float32).reshape(-1, self.dim)]),
            list(self.owners) + list(owners),
            self.views + list(views),
        )

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "vectors.npy", self.vectors)
        np.save(directory / "owners.npy", self.owners)
        (directory / "dense.json").write_text(
            json.dumps({"views": self.views, "kind": self.kind}, ensure_ascii=False)
        )
        faiss.write_index(self._index, str(directory / "faiss.index"))

    @classmethod
    def load(cls, directory: str | Path) -> DenseIndex:
        directory = Path(directory)
        self = cls.__new__(cls)
        self.vectors = np.load(directory / "vectors.npy")
        self.owners = np.load(directory / "owners.npy")
        meta = json.loads((directory / "dense.json").read_text())
        self.views = meta["views"]
        self.kind = meta["kind"]
        self.dim = self.vectors.shape[1] if self.vectors.ndim == 2 else 0
        self._index = faiss.read_index(str(directory / "faiss.index"))
        if self.kind == "hnsw":
            faiss.downcast_index(self._index).hnsw.efSearch = HNSW_EF_SEARCH
        return self
