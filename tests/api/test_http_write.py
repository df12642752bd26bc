"""Writes over real HTTP: auth, validation, ingest visible to the next search, delete,
consistency of searches that run during an ingest, and writes from another process."""

from __future__ import annotations

import threading
import time

import httpx
from kizuki.corpus.schema import Case
from kizuki.corpus.sqlite_store import SqliteCaseStore
from kizuki_http import API_KEY, error_of, make_case


def search_ids(client: httpx.Client, text: str, k: int = 10) -> list[str]:
    r = client.post("/search", json={"text": text, "k": k})
    assert r.status_code == 200, r.text
    return [h["case_id"] for h in r.json()["results"]]


# -- auth ---------------------------------------------------------------------------------


def test_writes_need_the_right_key(client, server):
    body = make_case("auth-1", "ヴェルサモン")
    r = client.post("/cases", json=body)
    assert r.status_code == 401 and error_of(r)["code"] == "missing_api_key"
    assert r.headers.get("www-authenticate") == "Bearer"
    r = client.post("/cases", json=body, headers={"X-API-Key": API_KEY + "x"})
    assert r.status_code == 403 and error_of(r)["code"] == "invalid_api_key"
    r = client.post("/cases", json=body, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403
    r = client.post("/cases", json=body, headers={"X-API-Key": "ключ-ü".encode()})
    assert r.status_code == 403
    r = client.delete("/cases/fsa2019-01")
    assert r.status_code == 401
    r = client.delete("/cases/fsa2019-01", headers={"X-API-Key": "nope"})
    assert r.status_code == 403
    assert client.get("/cases/auth-1").status_code == 404
    assert client.get("/cases/fsa2019-01").status_code == 200

    r = client.post("/cases", json=body, headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 201, r.text
    assert (
        client.delete("/cases/auth-1", headers={"Authorization": f"Bearer {API_KEY}"}).status_code
        == 200
    )


def test_without_a_configured_key_writes_are_refused(spawn):
    srv = spawn(api_key=None)
    with srv.client() as c:
        assert c.get("/health").json()["writes_enabled"] is False
        for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "anything"}):
            r = c.post("/cases", json=make_case("nokey-1", "ノキーア"), headers=headers)
            assert r.status_code == 403, r.text
            assert error_of(r)["code"] == "writes_disabled"
            r = c.delete("/cases/fsa2019-01", headers=headers)
            assert r.status_code == 403
        assert c.get("/cases/nokey-1").status_code == 404
        assert c.get("/cases/fsa2019-01").status_code == 200


# -- ingest and delete ----------------------------------------------------------------------


def test_ingest_is_visible_to_the_next_search_and_linked_into_the_graph(client, writer):
    marker = "ゾルテクス"
    before = client.get("/health").json()
    r = writer.post("/cases", json=make_case("ingest-1", marker))
    assert r.status_code == 201, r.text
    ack = r.json()
    assert ack["added"] == ["ingest-1"]
    assert ack["total_cases"] == before["cases"] + 1
    assert ack["store_version"] > before["store_version"]

    got = client.get("/cases/ingest-1").json()
    assert got["origin"] == "api" and got["case"]["title"].startswith(marker)
    assert got["graph"]["case"]["id"] == "ingest-1"
    assert "ingest-1" in search_ids(client, f"{marker}の更新作業で設定を誤りシステムが停止した")[:3]
    hood = client.get("/graph/neighbourhood/ingest-1").json()
    assert any(n["type"] == "sector" for n in hood["nodes"])
    listed = client.get("/cases", params={"origin": "api", "limit": 200}).json()
    assert "ingest-1" in {c["id"] for c in listed["items"]}

    r = writer.delete("/cases/ingest-1")
    assert r.status_code == 200 and r.json()["deleted"] == "ingest-1"
    assert r.json()["total_cases"] == before["cases"]
    assert client.get("/cases/ingest-1").status_code == 404
    assert "ingest-1" not in search_ids(
        client, f"{marker}の更新作業で設定を誤りシステムが停止した", 50
    )
    assert client.get("/graph/neighbourhood/ingest-1").status_code == 404
    r = writer.delete("/cases/ingest-1")
    assert r.status_code == 404 and error_of(r)["code"] == "case_not_found"


def test_batches_are_all_or_nothing(client, writer):
    batch = [make_case("batch-1", "バッチアルファ"), make_case("batch-2", "バッチベータ")]
    r = writer.post("/cases", json=batch)
    assert r.status_code == 201 and r.json()["added"] == ["batch-1", "batch-2"]
    # A clash with a stored id rejects the whole batch: batch-3 must not appear.
    r = writer.post(
        "/cases", json=[make_case("batch-3", "バッチガンマ"), make_case("batch-1", "x")]
    )
    assert r.status_code == 409 and "batch-1" in error_of(r)["message"]
    assert client.get("/cases/batch-3").status_code == 404
    r = writer.post("/cases", json=[make_case("batch-4", "a"), make_case("batch-4", "b")])
    assert r.status_code == 409 and client.get("/cases/batch-4").status_code == 404
    # One invalid case rejects the batch too, and the message names it.
    r = writer.post("/cases", json=[make_case("batch-5", "a"), {"id": "batch-6"}])
    assert r.status_code == 422
    err = error_of(r)
    assert "cases[1].event" in err["message"] and err["details"]
    assert client.get("/cases/batch-5").status_code == 404
    for cid in ("batch-1", "batch-2"):
        assert writer.delete(f"/cases/{cid}").status_code == 200


def test_ingest_validation_messages(writer):
    cases = [
        ({"id": "bad id!", "event": "x"}, "id"),
        ({"id": "v-1"}, "event"),
        ({"id": "v-1", "event": "x", "extra": 1}, "extra"),
        ({"id": "v-1", "event": "x", "causes": "not a list"}, "causes"),
        ({"id": "v-1", "event": "x" * 20_001}, "event"),
        ({"id": "v-1", "event": "x", "sectors": [""]}, "sectors"),
        ([], "empty"),
        ("just a string", "case object"),
        (42, "case object"),
    ]
    for body, needle in cases:
        r = writer.post("/cases", json=body)
        assert r.status_code == 422, (
            body if not isinstance(body, dict) else body.get("id"),
            r.text,
        )
        assert needle in error_of(r)["message"], (needle, r.text)
    r = writer.post("/cases", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_json"
    r = writer.post("/cases", content=b"\xff\xfe\x00", headers={"content-type": "application/json"})
    assert r.status_code == 400
    many = [{"id": f"m-{i}", "event": "x"} for i in range(1001)]
    r = writer.post("/cases", json=many)
    assert r.status_code == 422 and "1000" in error_of(r)["message"]
    r = writer.delete("/cases/" + "x" * 65)
    assert r.status_code in (404, 422)
    error_of(r)


def test_searches_during_an_ingest_see_the_old_or_the_new_state(client, writer, server):
    marker = "クォンタリス"
    query = f"{marker}の更新作業で設定を誤り勘定系が停止した"
    version_before = client.get("/health").json()["store_version"]
    seen: list[tuple[int, list[str]]] = []
    errors: list[str] = []
    stop = threading.Event()

    def search_loop():
        with server.client() as c:
            while not stop.is_set():
                r = c.post("/search", json={"text": query, "k": 10})
                if r.status_code != 200:
                    errors.append(r.text)
                    continue
                body = r.json()
                seen.append((body["store_version"], [h["case_id"] for h in body["results"]]))

    threads = [threading.Thread(target=search_loop) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    r = writer.post("/cases", json=make_case("during-1", marker))
    acked_version = r.json()["store_version"]
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    assert r.status_code == 201 and not errors
    assert seen
    for version, ids in seen:
        assert version in (version_before, acked_version)
        assert len(ids) == 10
        if version == version_before:
            assert "during-1" not in ids
    # After the acknowledgement every search sees the new case.
    assert "during-1" in search_ids(client, query)
    assert writer.delete("/cases/during-1").status_code == 200


def test_writes_by_another_process_are_picked_up(client, server):
    store = SqliteCaseStore(server.data_dir / "cases.sqlite3")
    store.add_cases([Case.model_validate(make_case("outside-1", "エクスターナ"))], origin="import")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if client.get("/cases/outside-1").status_code == 200:
            break
        time.sleep(0.5)
    body = client.get("/cases/outside-1").json()
    assert body["origin"] == "import"
    assert "outside-1" in search_ids(client, "エクスターナの更新作業で設定を誤った")
    store.delete_case("outside-1")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and client.get("/cases/outside-1").status_code == 200:
        time.sleep(0.5)
    assert client.get("/cases/outside-1").status_code == 404
