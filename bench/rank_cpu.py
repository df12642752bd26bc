"""Ranking's CPU time per query, in one process: Kizuki and the peers on the ranking stage's
corpus and queries (``bench.ranking``), measured in process time (user + system of this
process), not wall time, so that it means something on a machine that other work shares.

``python -m bench.rank_cpu --sizes 10k --profile 25`` also prints Kizuki's cProfile (top
functions by cumulative time); ``--rankings FILE`` writes each query's top 10 ids for
Kizuki (to check that a change leaves every ranking as it was: ``--compare FILE``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import time

import numpy as np

from bench.__main__ import parse_size
from bench.ranking import corpus
from bench.search_path import incident_texts
from bench.systems import Query, load_system
from bench.vectors import EmbeddingCache


def cpu_ms(fn, n: int, warmup: int = 2) -> np.ndarray:
    """Process time of each ``fn(i)``, ms (after ``warmup`` unmeasured calls)."""
    for i in range(warmup):
        fn(i)
    out = np.empty(n)
    for i in range(n):
        start = time.process_time()
        fn(i)
        out[i] = (time.process_time() - start) * 1000
    return out


def _response(system, query: Query) -> dict:
    """Kizuki's whole answer (ranks, scores, explanations) as JSON."""
    system.embedder.queries = {query.text: query.vector}
    return system.searcher.search(query.text, k=10).model_dump(mode="json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10k")
    parser.add_argument("--systems", default="kizuki,tantivy+faiss,lancedb")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the queries")
    parser.add_argument("--profile", type=int, default=0, help="cProfile rows to print")
    parser.add_argument("--rankings", help="write Kizuki's top 10 per query (JSON)")
    parser.add_argument("--compare", help="compare Kizuki's top 10 with this file")
    args = parser.parse_args(argv)
    from kizuki.search.analysis import Analyzer
    from kizuki.search.index import IndexConfig

    analyzer = Analyzer(IndexConfig().analyzer)
    cache = EmbeddingCache()
    texts = incident_texts()[: args.queries]
    qvecs = cache.embed(texts, kind="query")
    qs = [Query(t, v, analyzer) for t, v in zip(texts, qvecs, strict=True)]
    systems = args.systems.split(",")
    out: dict = {}
    for size in args.sizes.split(","):
        n = parse_size(size)
        data, _ = corpus(n, cache, terms=any(s != "kizuki" for s in systems))
        for name in systems:
            gc.collect()
            system = load_system(name)
            system.build(data)
            runs = [
                cpu_ms(lambda i, s=system: s.search(qs[i], k=10), len(qs))
                for _ in range(args.repeat)
            ]
            ms = np.concatenate(runs)
            print(
                f"{n:>9,} {name:<14} CPU ms/query p50 {np.percentile(ms, 50):6.2f}"
                f"  mean {ms.mean():6.2f}  p99 {np.percentile(ms, 99):6.2f}",
                flush=True,
            )
            if name == "kizuki":
                dense = system.dense_recall(qvecs)
                print(
                    f"{'':>9} kizuki dense index: {dense['kind']} over {dense['rows']:,} rows, "
                    f"recall@10 against exact search {dense['recall']:.3f}",
                    flush=True,
                )
                out[str(n)] = [_response(system, q) for q in qs]
                if args.profile:
                    prof = cProfile.Profile()
                    prof.enable()
                    for q in qs:
                        system.search(q, k=10)
                    prof.disable()
                    buf = io.StringIO()
                    stats = pstats.Stats(prof, stream=buf).sort_stats("cumulative")
                    stats.print_stats(args.profile)
                    print(buf.getvalue())
            del system
    if args.rankings:
        with open(args.rankings, "w", encoding="utf-8") as f:
            json.dump(out, f)
    if args.compare:
        with open(args.compare, encoding="utf-8") as f:
            before = json.load(f)
        for n, lists in out.items():
            same = sum(a == b for a, b in zip(before.get(n, []), lists, strict=False))
            print(f"{int(n):,} cases: {same} of {len(lists)} rankings identical to {args.compare}")


if __name__ == "__main__":
    main()
