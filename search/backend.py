"""What an index backend must answer, so the index can move to an engine built for
millions of cases (OpenSearch with the Sudachi plugin and its k-NN index, or Qdrant) while
Kizuki keeps ranking on top of it.

The ranking (``search.features``) asks an index for candidates only; everything after that
runs on the candidates (a few thousand cases at most), whatever holds the index:

1. *lexical lists*: for each BM25 index of ``IndexConfig.lexical`` (``case``: the case's own
   fields; ``outside``: its outside views), the best ``depth`` cases for the query's
   analysed terms with their BM25 scores; and a term's idf (the explanations' weights);
2. *dense lists*: for each dense view group (``features.DENSE_GROUPS``: the case as one
   vector, its sentences, its outside views), the best ``depth`` cases by their best row's
   cosine to the query vector; and, for the cases shown, which group matched best;
3. *filters* (sector, theme) applied inside each list, so ``depth`` allowed cases come back;
4. *writes*: cases added (their analysed terms and vectors) and removed, returning the
   backend that serves the new state (the old one keeps serving searches in flight).

Kizuki computes the rest on the candidates: the feature matrix, the learned scorer, the
mechanism facets, the no-match model, the graph's cause source and the explanations (these
read the shown cases' analysed tokens, by position, from ``SearchIndex.tokens``).
``LocalBackend`` is today's backend: bm25s and faiss in the process. The README's "Scale"
section says which parts each engine could compute natively.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence

from kizuki.corpus.schema import Case
from kizuki.search.analysis import Analyzer
from kizuki.search.embeddings import Embedder, EmbeddingCache
from kizuki.search.features import PreparedQuery, dense_lists, lexical_lists
from kizuki.search.index import Outside, SearchIndex
from kizuki.search.lists import RankedList

__all__ = ["IndexBackend", "LocalBackend"]


class IndexBackend(ABC):
    """The candidate side of the ranking. Document positions are the case's row in the
    case table; list names are ``bm25:<index>`` and ``cos:<group>``."""

    @property
    @abstractmethod
    def n_docs(self) -> int:
        """How many cases the backend serves."""

    @abstractmethod
    def lexical_lists(self, query: PreparedQuery, depth: int) -> dict[str, RankedList]:
        """``bm25:<index>``: each BM25 index's best ``depth`` cases with a score above 0,
        only among ``query.allowed``."""

    @abstractmethod
    def dense_lists(
        self, query: PreparedQuery, depth: int
    ) -> tuple[dict[str, RankedList], Mapping[int, str]]:
        """``cos:<group>``: each view group's best ``depth`` cases by their best row, and
        each listed case's best group (asked only for the cases shown)."""

    @abstractmethod
    def idf(self, index: str, term: str) -> float:
        """A term's BM25 idf in one lexical index (0 when it is unknown)."""

    @abstractmethod
    def add_cases(
        self,
        cases: Sequence[Case],
        embedder: Embedder,
        analyzer: Analyzer,
        cache: EmbeddingCache | None = None,
        outside: Outside | None = None,
    ) -> IndexBackend:
        """The backend with ``cases`` added (a case with a known id replaces it)."""

    @abstractmethod
    def remove_cases(self, case_ids: Iterable[str]) -> IndexBackend:
        """The backend without these cases."""


class LocalBackend(IndexBackend):
    """bm25s and faiss in this process, over a ``SearchIndex`` snapshot."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    @property
    def n_docs(self) -> int:
        return len(self.index.cases)

    def lexical_lists(self, query: PreparedQuery, depth: int) -> dict[str, RankedList]:
        return lexical_lists(self.index, query, depth)

    def dense_lists(
        self, query: PreparedQuery, depth: int
    ) -> tuple[dict[str, RankedList], Mapping[int, str]]:
        return dense_lists(self.index, query, depth)

    def idf(self, index: str, term: str) -> float:
        return float(self.index.lexicals[index].idf(term))

    def add_cases(self, cases, embedder, analyzer, cache=None, outside=None) -> LocalBackend:
        return LocalBackend(self.index.add_cases(cases, embedder, analyzer, cache, outside))

    def remove_cases(self, case_ids: Iterable[str]) -> LocalBackend:
        return LocalBackend(self.index.remove_cases(case_ids))
