"""What a user would pick instead of Kizuki, fed the same tokens and vectors.

- :mod:`bench.peers.handwritten`: the pipeline one writes by hand from tutorials.
- :mod:`bench.peers.lancedb_hybrid`: an off-the-shelf embedded engine's hybrid search.
"""
