"""tantivy BM25 + faiss + RRF: the hybrid search a user would assemble from libraries.

The same Sudachi terms as Kizuki (``search.analysis.Analyzer.terms``), space-joined into a
tantivy field with the ``whitespace`` tokenizer; the same vectors in a faiss
``IndexFlatIP``; reciprocal-rank fusion (K=60) of each side's top ``depth``. No
explanations, no features, no learned scorer.
"""

from __future__ import annotations

import tempfile

import faiss
import numpy as np
import tantivy

from bench.systems import BuildInput, Query

RRF_K = 60


class TantivyFaiss:
    name = "tantivy+faiss"
    description = "tantivy BM25 (whitespace over the same Sudachi terms) + faiss flat + RRF(60)"

    def __init__(self, depth: int = 100) -> None:
        self.depth = depth

    def build(self, data: BuildInput) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("row", stored=True)
        builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
        self.schema = builder.build()
        self._dir = tempfile.TemporaryDirectory(prefix="kizuki-bench-tantivy-")
        index = tantivy.Index(self.schema, path=self._dir.name)
        writer = index.writer(heap_size=512_000_000, num_threads=1)
        for row, terms in enumerate(data.terms):
            writer.add_document(tantivy.Document(row=row, body=terms))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        self.searcher = index.searcher()
        self.ids = list(data.ids)
        self.dense = faiss.IndexFlatIP(data.vectors.shape[1])
        self.dense.add(np.ascontiguousarray(data.vectors, dtype=np.float32))

    def search(self, query: Query, k: int = 10) -> list[str]:
        scores: dict[int, float] = {}
        terms = list(dict.fromkeys(query.analyzer.terms(query.text)))
        if terms:
            should = tantivy.Occur.Should
            q = tantivy.Query.boolean_query(
                [(should, tantivy.Query.term_query(self.schema, "body", t)) for t in terms]
            )
            for rank, (_, address) in enumerate(self.searcher.search(q, self.depth).hits):
                row = self.searcher.doc(address)["row"][0]
                scores[row] = scores.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
        _, rows = self.dense.search(query.vector.reshape(1, -1).astype(np.float32), self.depth)
        for rank, row in enumerate(rows[0]):
            if row >= 0:
                scores[int(row)] = scores.get(int(row), 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(scores, key=scores.__getitem__, reverse=True)[:k]
        return [self.ids[row] for row in best]
