"""LanceDB's hybrid search, the embedded engine a user would most likely pick instead.

Fed the same data as Kizuki: the vectors go into a vector column; the Sudachi tokens are
stored space-joined (Kizuki's ``Analyzer.terms``) and indexed by LanceDB's native full-text index (Lance's own BM25,
not tantivy) with its ``whitespace`` tokenizer and stemming, stop words, lower-casing
and ASCII folding off, so it ranks over exactly the same terms. A query is LanceDB's
``query_type="hybrid"`` with its default fusion (``RRFReranker``, K=60), as the docs show.

Below :data:`VECTOR_INDEX_MIN_ROWS` rows the vector side is LanceDB's exact scan (the docs
advise no index for small tables); from there on an ``IVF_HNSW_SQ`` index (dot product),
LanceDB's recommended index for this size. Everything is local files: no network.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Lance logs deprecation warnings from Rust on every query unless told otherwise.
os.environ.setdefault("LANCE_LOG", "error")
os.environ.setdefault("RUST_LOG", "error")

import lancedb  # noqa: E402  (imported here, not in build(): import time is not build time)
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from lancedb.index import FTS  # noqa: E402
from lancedb.rerankers import RRFReranker  # noqa: E402

from bench.systems import BuildInput, Query  # noqa: E402

VECTOR_INDEX_MIN_ROWS = 100_000


class LanceDBHybrid:
    name = "lancedb"
    description = (
        "LanceDB hybrid: native FTS (whitespace over the same tokens) + vector "
        f"(exact; IVF_HNSW_SQ from {VECTOR_INDEX_MIN_ROWS:,} rows), RRFReranker(K=60)"
    )

    def build(self, data: BuildInput) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="kizuki-bench-lancedb-")
        workdir = Path(self._tmp.name)
        vectors = np.ascontiguousarray(data.vectors, dtype=np.float32)
        n, dim = vectors.shape
        table = pa.table(
            {
                "id": pa.array(data.ids, type=pa.string()),
                "text": pa.array(data.terms, type=pa.string()),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
            }
        )
        db = lancedb.connect(str(workdir / "lancedb"))
        self.table = db.create_table("cases", table, mode="overwrite")
        del table
        self.table.create_index(
            "text",
            config=FTS(
                base_tokenizer="whitespace",
                lower_case=False,
                stem=False,
                remove_stop_words=False,
                ascii_folding=False,
                with_position=False,
            ),
        )
        self.vector_index = None
        if n >= VECTOR_INDEX_MIN_ROWS:
            self.vector_index = "IVF_HNSW_SQ"
            self.table.create_index(metric="dot", index_type="IVF_HNSW_SQ")
        self.reranker = RRFReranker(K=60)

    def search(self, query: Query, k: int = 10) -> list[str]:
        text = " ".join(query.analyzer.terms(query.text))
        vector = query.vector.astype(np.float32)
        if not text:  # LanceDB's hybrid query needs both sides
            rows = (
                self.table.search(vector, query_type="vector")
                .distance_type("dot")
                .limit(k)
                .select(["id"])
                .to_list()
            )
        else:
            rows = (
                self.table.search(query_type="hybrid")
                .vector(vector)
                .text(text)
                .distance_type("dot")
                .rerank(self.reranker)
                .limit(k)
                .select(["id"])
                .to_list()
            )
        return [r["id"] for r in rows]
