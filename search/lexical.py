"""BM25 over analysed terms, with bm25s, plus a small in-memory tail for cases added later.

The analyzer does the language work; bm25s only scores. Documents are given as term lists,
so whatever the analyzer emits (Sudachi normalised forms, English stems, ``≈concept``
terms) is matched as is.

bm25s precomputes every (document, term) score, so it cannot take one more document without
re-indexing all of them (15 s at 100k cases). ``extended`` therefore keeps the bm25s index
as it is and scores the added documents apart, with the same Lucene BM25 formula, the
collection's average length and document frequencies counted over both parts. The bulk's
scores keep the statistics it was built with until the owner re-indexes (see
``SearchIndex.add_cases``): a few hundred new cases barely move any idf.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import bm25s
import numpy as np

#: At most this many terms' idf are remembered (a vocabulary's worth; bounded memory).
IDF_MEMO = 1_000_000


class LexicalIndex:
    """Okapi BM25 (Lucene variant) over pre-analysed documents: bm25s bulk + added tail."""

    def __init__(
        self,
        docs: Sequence[Sequence[str]] | Sequence[list[int]],
        k1: float = 1.2,
        b: float = 0.75,
        vocab: Mapping[str, int] | None = None,
    ) -> None:
        """``docs`` are term lists, or with ``vocab`` (term -> id, ids 0..n-1) term-id
        lists, which spares bm25s a pass over every token (same scores)."""
        self.k1, self.b = k1, b
        self.n_base = len(docs)
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        self._avgdl = float(np.mean([len(d) for d in docs])) if docs else 1.0
        if docs and vocab is not None:
            self._bm25.index((list(docs), dict(vocab)), show_progress=False)
        elif docs:
            self._bm25.index([list(d) for d in docs], show_progress=False)
        self._tail: list[tuple[Counter, int]] = []  # (term counts, length) per added document
        self._tail_df: Counter = Counter()
        self._idf: dict[str, float] = {}

    @property
    def n_docs(self) -> int:
        return self.n_base + len(self._tail)

    @property
    def n_tail(self) -> int:
        """Documents added since bm25s last indexed (scored apart)."""
        return len(self._tail)

    def extended(self, docs: Sequence[Sequence[str]]) -> LexicalIndex:
        """An index with ``docs`` appended; bm25s's arrays are shared, not re-indexed."""
        new = LexicalIndex.__new__(LexicalIndex)
        new.__dict__.update(self.__dict__)
        new._tail = self._tail + [(Counter(d), len(d)) for d in docs]
        new._tail_df = self._tail_df.copy()
        new._idf = {}  # the collection changed: every idf may have
        for d in docs:
            new._tail_df.update(set(d))
        return new

    def _base_df(self, term: str) -> int:
        vocab = getattr(self._bm25, "vocab_dict", None) or {}
        tid = vocab.get(term)
        if tid is None or not self.n_base:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid])

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document (zeros where nothing is shared)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        if not self.n_docs or not query_terms:
            return out
        if self.n_base:
            ids = self._bm25.get_tokens_ids(list(query_terms))
            if ids:
                out[: self.n_base] = self._bm25.get_scores_from_ids(ids)
        if self._tail:
            out[self.n_base :] = self._tail_scores(query_terms)
        return out

    def hits(self, query_terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding a query term, ascending, and their BM25 scores: the values
        ``scores`` gives them (added in the same order, in float32, as bm25s does), read
        from the query terms' postings only, with no array the size of the collection."""
        docs, values = np.zeros(0, np.int64), np.zeros(0, np.float32)
        if not self.n_docs or not query_terms:
            return docs, values
        if self.n_base:
            if getattr(self._bm25, "nonoccurrence_array", None) is not None:
                every = self.scores(query_terms)  # a variant scoring every document
                docs = np.flatnonzero(every)
                return docs, every[docs]
            ids = self._bm25.get_tokens_ids(list(query_terms))
            if ids:
                post = self._bm25.scores
                indptr, indices, data = post["indptr"], post["indices"], post["data"]
                at = [(int(indptr[t]), int(indptr[t + 1])) for t in ids]
                if sum(hi - lo for lo, hi in at) * DENSE_POSTINGS_SHARE >= self.n_base:
                    docs, values = _summed_in_place(
                        at, indices, data, self.n_base, self._bm25.dtype
                    )
                else:
                    rows = np.concatenate([indices[lo:hi] for lo, hi in at]).astype(np.int64)
                    docs, where = np.unique(rows, return_inverse=True)
                    values = np.zeros(len(docs), np.dtype(self._bm25.dtype))
                    np.add.at(values, where, np.concatenate([data[lo:hi] for lo, hi in at]))
        if self._tail:
            tail = self._tail_scores(query_terms)
            more = np.flatnonzero(tail)
            docs = np.concatenate([docs, more + self.n_base])
            values = np.concatenate([values, tail[more]]).astype(np.float32)
        return docs, values

    def _collection_avgdl(self) -> float:
        """Average document length over the bulk and the tail."""
        return (self._avgdl * self.n_base + sum(n for _, n in self._tail)) / max(1, self.n_docs)

    def scores_from_counts(
        self,
        terms: Sequence[str],
        weights: Sequence[float],
        counts: np.ndarray,
        lengths: np.ndarray,
    ) -> np.ndarray:
        """BM25 of a weighted query for documents given by their term counts and lengths
        (``counts[d, j]``: occurrences of ``terms[j]`` in document d): the same Lucene
        formula and collection statistics as ``scores``, for a few chosen documents."""
        if not len(lengths):
            return np.zeros(0)
        avgdl = self._collection_avgdl()
        norm = self.k1 * ((1 - self.b) + self.b * np.asarray(lengths, np.float64) / avgdl)
        idf = np.array([self.idf(t) for t in terms]) * np.asarray(weights, np.float64)
        tf = np.asarray(counts, np.float64)
        return (tf / (tf + norm[:, None]) * idf[None, :]).sum(axis=1)

    def _tail_scores(self, query_terms: Sequence[str]) -> np.ndarray:
        scores = np.zeros(len(self._tail), dtype=np.float64)
        avgdl = self._collection_avgdl()
        idf = {t: self.idf(t) for t in set(query_terms)}
        for j, (counts, length) in enumerate(self._tail):
            norm = self.k1 * ((1 - self.b) + self.b * length / avgdl)
            for term in query_terms:  # repeated query terms count again, as in bm25s
                tf = counts.get(term)
                if tf:
                    scores[j] += idf[term] * tf / (norm + tf)
        return scores.astype(np.float32)

    def idf(self, term: str) -> float:
        """The BM25 idf of a term in this collection (0 when absent), remembered: a query
        asks for each of its terms' idf a few hundred times (features, confidence signals,
        explanations), and an index never changes (``extended`` makes a new one)."""
        idf = self._idf.get(term)
        if idf is None:
            df = self._base_df(term) + self._tail_df.get(term, 0)
            idf = float(math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))) if df else 0.0
            if len(self._idf) < IDF_MEMO:
                self._idf[term] = idf
        return idf

    def save(self, directory: str | Path) -> None:
        """The bm25s index plus the tail's documents (re-counted on load)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tail = [sorted(c.elements()) for c, _ in self._tail]
        (directory / "lexical.json").write_text(
            json.dumps(
                {
                    "k1": self.k1,
                    "b": self.b,
                    "n_docs": self.n_base,
                    "avgdl": self._avgdl,
                    "tail": tail,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        if self.n_base:
            self._bm25.save(str(directory / "bm25"), show_progress=False)

    @classmethod
    def load(cls, directory: str | Path, mmap: bool = True) -> LexicalIndex:
        """``mmap``: bm25s's arrays stay on disk, paged in as queries touch them."""
        directory = Path(directory)
        meta = json.loads((directory / "lexical.json").read_text(encoding="utf-8"))
        self = cls.__new__(cls)
        self.k1, self.b, self.n_base = meta["k1"], meta["b"], meta["n_docs"]
        self._avgdl = meta.get("avgdl", 1.0)
        self._tail, self._tail_df, self._idf = [], Counter(), {}
        if self.n_base:
            self._bm25 = bm25s.BM25.load(str(directory / "bm25"), mmap=mmap, show_progress=False)
        else:
            self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        tail = meta.get("tail") or []
        return self.extended(tail) if tail else self


#: Postings of at least 1/this of the collection are summed in an array the collection's
#: size: sorting them to find their distinct documents cost 20 of a query's 28 ms at 10^5
#: cases (``python -m bench.rank_cpu --sizes 100k --profile 25``).
DENSE_POSTINGS_SHARE = 64


def _summed_in_place(at, indices, data, n_docs: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """The documents the postings ``at`` (start, end) name, ascending, with their summed
    scores: one term after another, in float32, as bm25s adds them (a term's postings name
    each document once, so a scattered add is exact)."""
    acc = np.zeros(n_docs, np.dtype(dtype))
    held = np.zeros(n_docs, bool)
    for lo, hi in at:
        acc[indices[lo:hi]] += data[lo:hi]
        held[indices[lo:hi]] = True
    docs = np.flatnonzero(held)
    return docs.astype(np.int64), acc[docs]
