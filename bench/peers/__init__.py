"""What a user would pick instead of Kizuki, fed the same cases, terms and vectors.

- :mod:`bench.peers.tantivy_faiss`: tantivy BM25 + faiss + RRF, assembled from libraries.
- :mod:`bench.peers.lancedb_hybrid`: an off-the-shelf embedded engine's hybrid search.
- :mod:`bench.peers.kizuki`: Kizuki itself, as one more system.
"""
