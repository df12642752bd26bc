"""BM25 over analysed terms, with bm25s.

The analyzer does the language work; bm25s only scores. Documents are given as term lists,
so whatever the analyzer emits (Sudachi normalised forms, English stems, ``≈concept``
terms) is matched as is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np


class LexicalIndex:
    """Okapi BM25 (Lucene variant) over pre-analysed documents."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n_docs = len(docs)
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        if docs:
            self._bm25.index([list(d) for d in docs], show_progress=False)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document (zeros where nothing is shared)."""
        if not self.n_docs or not query_terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        ids = self._bm25.get_tokens_ids(list(query_terms))
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)

    def idf(self, term: str) -> float:
        """The BM25 idf of a term in this collection (0 when absent)."""
        vocab = getattr(self._bm25, "vocab_dict", None) or {}
        if term not in vocab:
            return 0.0
        tid = vocab[term]
        indptr = self._bm25.scores["indptr"]
        df = int(indptr[tid + 1] - indptr[tid])
        return float(np.log(1 + (self.n_docs - df + 0.5) / (df + 0.5)))

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "lexical.json").write_text(
            json.dumps({"k1": self.k1, "b": self.b, "n_docs": self.n_docs})
        )
        if self.n_docs:
            self._bm25.save(str(directory / "bm25"), show_progress=False)

    @classmethod
    def load(cls, directory: str | Path) -> LexicalIndex:
        directory = Path(directory)
        meta = json.loads((directory / "lexical.json").read_text())
        self = cls.__new__(cls)
        self.k1, self.b, self.n_docs = meta["k1"], meta["b"], meta["n_docs"]
        if self.n_docs:
            self._bm25 = bm25s.BM25.load(str(directory / "bm25"), show_progress=False)
        else:
            self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        return self
