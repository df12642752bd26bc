"""Measuring tools: stages in their own process, percentiles, tables, the HTTP load client."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from bench import harness
from bench.http_load import check_local, run_load
from bench.quality import evaluate, score


def allocate(mib: int) -> dict:
    """A stage for the test: holds ``mib`` MiB for a moment."""
    block = np.ones(mib * 2**20 // 8)
    return {"sum": float(block.sum())}


def fail() -> dict:
    raise RuntimeError("boom")


def test_stage_runs_in_its_own_process_and_reports_its_peak():
    small = harness.run_stage("small", "tests.bench.test_harness:allocate", {"mib": 1})
    big = harness.run_stage("big", "tests.bench.test_harness:allocate", {"mib": 200})
    assert small.ok and big.ok
    assert big.metrics["sum"] == 200 * 2**20 // 8
    # Its own high-water mark, not this (test) process's: 200 MiB more than the small one.
    assert big.peak_rss_mib - small.peak_rss_mib > 150


def test_failing_stage_is_reported_not_raised():
    r = harness.run_stage("bad", "tests.bench.test_harness:fail")
    assert not r.ok and "boom" in r.error


def test_percentiles_and_table():
    p = harness.percentiles(list(range(1, 101)))
    assert p["n"] == 100 and p["p50_ms"] == pytest.approx(50.5) and p["max_ms"] == 100
    assert harness.percentiles([]) == {"n": 0}
    text = harness.table(["name", "ms"], [["ビルド", 1.5], ["query", 12345.0]], title="T")
    lines = text.splitlines()
    assert lines[0] == "T"
    # Numbers right-aligned in one column even next to double-width text.
    assert lines[-1].endswith("12,345") and lines[-2].endswith("1.5")
    # "ビルド" is 3 characters but 6 columns wide: both rows end in the same column.
    assert harness._width(lines[-1]) == harness._width(lines[-2]) == len(lines[-1])
    assert len(lines[-2]) == len(lines[-1]) - 3


def test_ndcg_matches_the_dev_set_definition():
    rel = {"a": 2, "b": 1}
    ndcg, r5, rr = score(["a", "b", "c"], rel)
    assert ndcg == pytest.approx(1.0) and r5 == 1.0 and rr == 1.0
    ndcg, _, rr = score(["c", "b", "a"], rel)
    assert 0 < ndcg < 1 and rr == 0.5
    out = evaluate([{"id": "q", "relevant": rel}, {"id": "none", "relevant": {}}], {"q": ["a"]})
    assert out["n"] == 1  # "none" queries are not averaged in


class _Handler(BaseHTTPRequestHandler):
    delay = 0.0

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.path == "/search" and body["k"] == 10 and body["text"]
        time.sleep(self.delay)
        data = json.dumps({"results": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.delay = 0.0
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_http_load_stops_at_its_request_count(server):
    url = f"http://127.0.0.1:{server.server_port}/search"
    r = run_load(url, ["ATM が使えない"], concurrency=3, max_requests=40, max_seconds=30)
    assert r["requests"] == r["ok"] == 40 and r["stopped_by"] == "count"
    assert r["latency"]["n"] == 40 and r["throughput_rps"] > 0 and r["still_running"] == 0


def test_http_load_stops_at_its_time_limit(server):
    _Handler.delay = 0.05
    url = f"http://127.0.0.1:{server.server_port}/search"
    start = time.perf_counter()
    r = run_load(url, ["x"], concurrency=2, max_requests=100_000, max_seconds=0.5, warmup=0)
    assert time.perf_counter() - start < 3
    assert r["stopped_by"] == "time" and 0 < r["requests"] < 100
    assert r["still_running"] == 0


def test_http_load_only_targets_this_machine():
    for url in ("http://example.com/search", "https://127.0.0.1/search", "http://10.0.0.1/"):
        with pytest.raises(ValueError):
            check_local(url)
    assert check_local("http://127.0.0.1:8000/search") == ("127.0.0.1", 8000, "/search")
