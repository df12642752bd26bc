"""Nothing a client sends can break the store or the server (issue 11), over real HTTP.

Each test names the point of the issue it checks: poisoned ids (1), errors that dropped
keep-alive connections (2), bounded work per request (3), corrupt snapshot files (4),
crash debris (5), the API contract (7) and the store's own integrity (8).
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import string
import subprocess
import sys
import threading

import httpx
import pytest
from kizuki_http import API_KEY, ServerExited, error_of, make_case

ISSUE_IDS = ["cause.missing_peer_review", "cm.peer_review", "sector.major_banks"]


def raw_post(conn: http.client.HTTPConnection, path: str, body: bytes, headers=None):
    conn.request(
        "POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    response = conn.getresponse()
    return response.status, response.read()


# -- 1. poisoned ids ----------------------------------------------------------------------


def test_ids_in_graph_namespaces_or_with_spaces_are_refused_and_nothing_is_stored(writer, client):
    before = client.get("/health").json()
    for case_id in [*ISSUE_IDS, "Theme.third_party", " fsa-space", "fsa-space ", "a/b"]:
        r = writer.post("/cases", json={"id": case_id, "event": "テスト"})
        assert r.status_code == 422, (case_id, r.text)
        assert "id" in error_of(r)["message"]
    after = client.get("/health").json()
    assert after["store_version"] == before["store_version"]
    assert after["status"] == "ok" and after["cases"] == before["cases"]
    # The sector node is still a sector node, and writes still work.
    r = client.get("/graph/neighbourhood/sector.major_banks")
    assert r.status_code == 200 and r.json()["nodes"][0]["type"] == "sector"
    assert writer.post("/cases", json=make_case("after-poison-1", "ポイズノン")).status_code == 201
    assert writer.delete("/cases/after-poison-1").status_code == 200


def _insert_raw(data_dir, case_id: str, doc: str) -> None:
    with sqlite3.connect(data_dir / "cases.sqlite3") as conn:
        conn.execute(
            "INSERT INTO cases(id, doc, origin, added_at) VALUES (?, ?, 'api', 0)", (case_id, doc)
        )
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")


def test_a_store_with_bad_rows_still_starts_and_reports_them(spawn, client):
    srv = spawn(start=False)
    bad = {
        "cause.missing_peer_review": {"id": "cause.missing_peer_review", "event": "テスト"},
        "sector.major_banks": {"id": "sector.major_banks", "event": "テスト"},
        "ctrl-1": {"id": "ctrl-1", "event": "制御\u0000文字"},
    }
    for case_id, doc in bad.items():
        _insert_raw(srv.data_dir, case_id, json.dumps(doc))
    _insert_raw(srv.data_dir, "broken-1", '{"id": "broken-1", "event": ')
    srv.start()
    with srv.client(headers={"X-API-Key": API_KEY}) as c:
        health = c.get("/health").json()
        assert health["status"] == "degraded"
        skipped = {row["id"]: row["reason"] for row in health["skipped_cases"]}
        assert set(skipped) == {*bad, "broken-1"}
        assert all(skipped.values())
        assert health["cases"] == client.get("/health").json()["cases"]
        assert c.get("/cases/cause.missing_peer_review").status_code == 404
        r = c.get("/graph/neighbourhood/cause.missing_peer_review")
        assert r.status_code == 200 and r.json()["nodes"][0]["type"] == "cause"
        assert c.post("/search", json={"text": "再鑑が不十分でATMが停止した"}).status_code == 200
        # A skipped row's id is still taken in the store; another write goes through.
        r = c.post("/cases", json=make_case("ctrl-1", "コントロラ"))
        assert r.status_code == 409
        assert c.post("/cases", json=make_case("good-1", "グッドワン")).status_code == 201
        assert c.delete("/cases/ctrl-1").status_code == 200
        assert "ctrl-1" not in {r["id"] for r in c.get("/health").json()["skipped_cases"]}
    srv.stop()
    srv.start()  # restarts cleanly with the same rows
    with srv.client() as c:
        assert c.get("/cases/good-1").status_code == 200


def test_fuzzed_ids_including_every_graph_node_id(spawn):
    srv = spawn()
    rng = random.Random(11)
    alphabet = string.ascii_letters + string.digits + "_.-/ :%\u00e9\u30a2"
    with srv.client(headers={"X-API-Key": API_KEY}) as c:
        nodes = c.get("/export/json").json()["nodes"]
        node_ids = [n["id"] for n in nodes]
        assert len(node_ids) > 100
        accepted: list[str] = []
        for round_ in range(2):
            ids = node_ids if round_ == 0 else []
            ids += [
                "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 70))) for _ in range(25)
            ]
            ids += [
                rng.choice(["cause.", "cm.", "sector.", "theme.", "CASE.", "x."]) + "r" + str(i)
                for i in range(5)
            ]
            for case_id in ids:
                r = c.post("/cases", json={"id": case_id, "event": "ランダムな識別子の障害"})
                assert r.status_code in (201, 409, 422), (case_id, r.status_code, r.text)
                if r.status_code == 201:
                    accepted.append(case_id)
                    assert r.json()["added"] == [case_id]
                else:
                    assert error_of(r)["message"]
            # Writes keep being accepted, and the server restarts cleanly.
            probe = f"fuzz-probe-{round_}"
            assert c.post("/cases", json=make_case(probe, "ファズプローブ")).status_code == 201
            accepted.append(probe)
            srv.stop()
            srv.start()
            health = c.get("/health").json()
            assert health["status"] == "ok" and not health["skipped_cases"]
            for case_id in accepted:
                assert c.get(f"/cases/{case_id}").status_code == 200, case_id
    for node in ("cause.missing_peer_review", "cm.peer_review", "sector.major_banks"):
        assert node not in accepted


# -- 2. errors keep the connection ----------------------------------------------------------


def test_bad_text_and_deep_json_answer_4xx_on_a_kept_alive_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    key = {"X-API-Key": API_KEY}
    deep = b"[" * 100_000 + b"]" * 100_000
    cases = [
        ("/search", b'{"text": "\\ud800 abc"}', {}, 422, "invalid_text"),
        ("/search", json.dumps({"text": "ATM\u0000停止"}).encode(), {}, 422, None),
        ("/search", json.dumps({"text": "ATM\u0007停止"}).encode(), {}, 422, None),
        ("/search", deep, {}, 400, "json_too_deep"),
        ("/cases", deep, key, 400, "json_too_deep"),
        ("/cases", b'{"id": "x-1", "event": "\\udfff"}', key, 422, "invalid_text"),
        ("/cases", json.dumps({"id": "x-1", "event": "a\u001bb"}).encode(), key, 422, None),
        ("/search", b"\xff\xfe{}", {}, 400, "invalid_json"),
        ("/search", b'{"text": ', {}, 400, "invalid_json"),
    ]
    conn.connect()
    sock = conn.sock
    for path, body, headers, status, code in cases:
        got, raw = raw_post(conn, path, body, headers)
        assert got == status, (path, body[:40], raw[:200])
        error = json.loads(raw)["error"]
        assert error["message"]
        if code:
            assert error["code"] == code
        # The same socket answers the next request.
        conn.request("GET", "/health")
        ok = conn.getresponse()
        assert ok.status == 200 and json.loads(ok.read())["status"] == "ok"
        assert conn.sock is sock
    conn.close()


def test_an_unexpected_error_is_json_and_keeps_the_connection():
    """The catch-all middleware, on a real uvicorn: a route that raises answers a JSON 500
    and the same keep-alive connection serves the next request."""
    import socket
    import time

    import uvicorn
    from fastapi import FastAPI
    from kizuki.api.http.middlewares import CatchAllMiddleware

    app = FastAPI()
    app.add_middleware(CatchAllMiddleware)

    @app.get("/boom")
    def boom():
        raise RuntimeError("bug")

    @app.get("/fine")
    def fine():
        return {"ok": True}

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(3):
            conn.request("GET", "/boom")
            r = conn.getresponse()
            body = json.loads(r.read())
            assert r.status == 500 and body["error"]["code"] == "internal_error"
            sock = conn.sock
            conn.request("GET", "/fine")
            r = conn.getresponse()
            assert r.status == 200 and json.loads(r.read()) == {"ok": True}
            assert conn.sock is sock is not None
        conn.close()
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# -- 3. bounded work ------------------------------------------------------------------------


def _long_text(seed: int, n: int = 4_990) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("アイウエオカキクケコ漢字障害発生停止銀行系統") for _ in range(n))


def test_a_maximum_size_query_is_analysed_within_bounds(client):
    r = client.post("/search", json={"text": _long_text(1), "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    limits = client.get("/health").json()["limits"]
    assert body["truncated"] is True
    assert 0 < len(body["query"]) <= limits["max_query_work_chars"]
    many = "ATMが停止した。" * 100
    body = client.post("/search", json={"text": many}).json()
    assert body["truncated"] and body["query"].count("。") == limits["max_query_sentences"]
    short = client.post("/search", json={"text": "ATMが停止した"}).json()
    assert short["truncated"] is False and short["query"] == "ATMが停止した"


def test_busy_pool_timeouts_and_rate_limit_answer_503_and_429(spawn):
    srv = spawn(
        env={
            "KIZUKI_SEARCH_WORKERS": "1",
            "KIZUKI_SEARCH_QUEUE": "0",
            "KIZUKI_SEARCH_TIMEOUT_S": "0.001",
            "KIZUKI_RATE_LIMIT_PER_MINUTE": "60",
            "KIZUKI_RATE_LIMIT_BURST": "4",
        }
    )
    with srv.client() as c:
        # Over its time limit: 503; its worker stays busy with it, so the next one is refused.
        r = c.post("/search", json={"text": _long_text(2), "k": 5})
        assert r.status_code == 503 and error_of(r)["code"] == "search_timeout"
        assert int(r.headers["retry-after"]) >= 1
        r = c.post("/search", json={"text": _long_text(3), "k": 5})
        assert r.status_code == 503 and error_of(r)["code"] in ("busy", "search_timeout")
        assert int(r.headers["retry-after"]) >= 1
        # Two requests are left in the burst of 4; then 429, but /health is never limited.
        assert c.get("/cases?limit=1").status_code == 200
        assert c.get("/cases?limit=1").status_code == 200
        r = c.get("/cases?limit=1")
        assert r.status_code == 429 and error_of(r)["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1
        assert c.get("/health").status_code == 200
    # Clients with the API key are not limited.
    with srv.client(headers={"X-API-Key": API_KEY}) as c:
        for _ in range(6):
            assert c.get("/cases?limit=1").status_code == 200


# -- 4 and 5. corrupt snapshot files, crash debris ------------------------------------------


def test_corrupt_snapshot_files_and_debris_are_rebuilt_and_reported(spawn, client):
    srv = spawn(start=False)
    index = srv.data_dir / "index"
    vectors = index / "dense" / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[: vectors.stat().st_size // 2])
    bm25 = next((index / "lexical" / "case" / "bm25").glob("data.csc.index.npy"))
    data = bytearray(bm25.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8] = b"\x7f" * 8
    bm25.write_bytes(bytes(data))
    graph = srv.data_dir / "graph" / "graph.json"
    graph.write_bytes(graph.read_bytes()[:-100])
    debris = [
        srv.data_dir / ".index.tmp-999999-1",
        srv.data_dir / ".index.old-999999-2",
        srv.data_dir / ".index.v-3-999999",
    ]
    for path in debris:
        (path / "dense").mkdir(parents=True)
    (srv.data_dir / "graph" / ".graph.json.tmp-999999").write_text("{}")
    srv.start()
    query = {"text": "システム更新後にATMが停止し、手順書の確認が漏れていた", "k": 10}
    with srv.client() as c:
        health = c.get("/health").json()
        assert health["status"] == "degraded" and health["index_verified"] is True
        events = " | ".join(health["events"])
        assert "dense/vectors.npy" in events and "rebuilding" in events
        assert "saved graph" in events
        assert ".index.tmp-999999-1" in events
        expected = client.post("/search", json=query).json()["results"]
        got = c.post("/search", json=query).json()["results"]
        assert [(h["case_id"], h["score"]) for h in got] == [
            (h["case_id"], h["score"]) for h in expected
        ]
    assert not any(p.exists() for p in debris)
    assert not (srv.data_dir / "graph" / ".graph.json.tmp-999999").exists()
    assert index.is_symlink()


# -- 7. the API contract --------------------------------------------------------------------


def test_openapi_declares_the_limits_and_503(client):
    schema = client.get("/openapi.json").json()
    search = schema["components"]["schemas"]["SearchRequest"]["properties"]
    assert search["text"]["maxLength"] == 5_000 and search["text"]["minLength"] == 1
    assert search["k"]["type"] == "integer"
    assert (search["k"]["minimum"], search["k"]["maximum"]) == (1, 100)
    case_id = schema["components"]["schemas"]["Case"]["properties"]["id"]
    assert case_id["pattern"] and case_id["maxLength"] == 64
    assert "cause." in case_id["description"]
    params = {
        p["name"]: p["schema"]
        for op in schema["paths"].values()
        for o in op.values()
        for p in o.get("parameters", [])
    }
    assert params["limit"]["maximum"] == 200 and params["depth"]["maximum"] == 3
    assert params["offset"]["maximum"] == 1_000_000
    for path in ("/search", "/cases"):
        responses = schema["paths"][path]["post"]["responses"]
        assert {"400", "422", "429", "503"} <= set(responses)
    assert "nests" in schema["info"]["description"] or "depth" in schema["info"]["description"]


def test_options_allow_and_strict_fields(client, writer):
    r = client.options("/cases")
    assert r.status_code == 204 and r.headers["allow"] == "GET, OPTIONS, POST"
    assert client.options("/cases/fsa2019-01").headers["allow"] == "DELETE, GET, OPTIONS"
    assert client.options("/search").headers["allow"] == "OPTIONS, POST"
    r = client.put("/cases")
    assert r.status_code == 405 and r.headers["allow"] == "GET, OPTIONS, POST"
    assert client.options("/no-such-path").status_code == 404
    for k in ("5", True, 2.5, None, [5]):
        r = client.post("/search", json={"text": "ATMが停止", "k": k})
        assert r.status_code == 422, (k, r.text)
    for k in (5, 5.0):  # the same integer in JSON
        assert client.post("/search", json={"text": "ATMが停止", "k": k}).json()["k"] == 5
    r = writer.post("/cases", json=make_case(" fsa2019-01", "スペース"))
    assert r.status_code == 422 and "id" in error_of(r)["message"]
    assert client.get("/cases?offset=1000001").status_code == 422


# -- 8. the store's own integrity -----------------------------------------------------------


def _kizuki(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from kizuki.api.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_a_lost_write_ahead_log_stops_the_start_with_one_error_line(spawn, tmp_path):
    srv = spawn(start=False)
    store = srv.data_dir / "cases.sqlite3"
    # A process holding the store keeps its log from being checkpointed away.
    holder = sqlite3.connect(store)
    holder.execute("SELECT COUNT(*) FROM cases").fetchall()
    writer = sqlite3.connect(store)
    writer.execute(
        "INSERT INTO cases(id, doc, origin, added_at) VALUES "
        '(\'wal-1\', \'{"id": "wal-1", "event": "x"}\', \'api\', 0)'
    )
    writer.commit()
    writer.close()
    (srv.data_dir / "cases.sqlite3-wal").unlink()
    try:
        with pytest.raises(ServerExited) as exc:
            srv.start()
        result = _kizuki("store", "check", "--data-dir", str(srv.data_dir))
    finally:
        holder.close()
    assert exc.value.returncode == 1
    errors = [line for line in exc.value.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cases.sqlite3-wal is missing" in errors[0]
    assert result.returncode == 1 and result.stderr.startswith("error:")


def test_store_backup_and_check(server, tmp_path):
    dest = tmp_path / "backup.sqlite3"
    result = _kizuki("store", "backup", str(dest), "--data-dir", str(server.data_dir))
    assert result.returncode == 0, result.stderr
    count = httpx.get(server.url + "/health").json()["cases"]
    with sqlite3.connect(dest) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] >= count
    again = _kizuki("store", "backup", str(dest), "--data-dir", str(server.data_dir))
    assert again.returncode == 1 and again.stderr.count("error:") == 1
    assert "already exists" in again.stderr
    # A damaged file fails the check with one line.
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    data = bytearray(dest.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for start in range(page, len(data), page):  # every b-tree page header but the first
        data[start : start + 8] = b"\xff" * 8
    (damaged / "cases.sqlite3").write_bytes(bytes(data))
    result = _kizuki("store", "check", "--data-dir", str(damaged))
    assert result.returncode == 1 and result.stderr.startswith("error:"), result
    assert _kizuki("store", "check", "--data-dir", str(tmp_path / "none")).returncode == 1
