"""The store is the source of truth: restarts keep ingested cases, a SIGKILL in the middle
of a stream of writes loses no acknowledged case, and stale indexes are rebuilt."""

from __future__ import annotations

import threading
import time

import httpx
from kizuki_http import API_KEY, make_case

from corpus.schema import Case
from corpus.sqlite_store import SqliteCaseStore

KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノ"


def marker_for(n: int) -> str:
    """A made-up katakana word per case, so each case can be found by a search."""
    word = "ゾ"
    for digit in f"{n:03d}":
        word += KANA[int(digit) * 2] + KANA[int(digit) * 2 + 1]
    return word


def query_for(marker: str) -> str:
    return f"{marker}の更新作業で設定を誤り勘定系が停止した"


def found(client: httpx.Client, case_id: str, marker: str) -> bool:
    r = client.post("/search", json={"text": query_for(marker), "k": 10})
    assert r.status_code == 200, r.text
    return case_id in [h["case_id"] for h in r.json()["results"]]


def test_restart_keeps_ingested_cases_and_deletions(spawn):
    first = spawn()
    with first.client(headers={"X-API-Key": API_KEY}) as c:
        assert c.post("/cases", json=make_case("keep-1", marker_for(1))).status_code == 201
        assert c.post("/cases", json=[make_case("keep-2", marker_for(2))]).status_code == 201
        assert c.delete("/cases/fsa2019-44").status_code == 200
        total = c.get("/health").json()["cases"]
    first.stop()

    second = spawn(data_dir=first.data_dir)
    with second.client() as c:
        assert c.get("/health").json()["cases"] == total
        for n in (1, 2):
            body = c.get(f"/cases/keep-{n}").json()
            assert body["origin"] == "api"
            assert (
                body["case"]
                == Case.model_validate(make_case(f"keep-{n}", marker_for(n))).to_json_dict()
            )
            assert found(c, f"keep-{n}", marker_for(n))
        # The seed is loaded once, on first start: a deleted seed case stays deleted.
        assert c.get("/cases/fsa2019-44").status_code == 404


def test_sigkill_mid_stream_loses_no_acknowledged_case(spawn):
    srv = spawn()
    sent: dict[str, dict] = {}
    acked: list[str] = []
    in_flight: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def write_stream(worker: int) -> None:
        n = worker * 100
        with srv.client(headers={"X-API-Key": API_KEY}, timeout=120) as c:
            while not stop.is_set():
                n += 1
                cid = f"crash-{n:03d}"
                body = make_case(cid, marker_for(n))
                with lock:
                    sent[cid] = body
                    in_flight.add(cid)
                try:
                    r = c.post("/cases", json=body)
                except httpx.HTTPError:
                    return  # the server died during this request: it was never acknowledged
                with lock:
                    in_flight.discard(cid)
                    if r.status_code == 201:
                        acked.append(cid)
                    else:
                        raise AssertionError(r.text)

    writers = [threading.Thread(target=write_stream, args=(w,), daemon=True) for w in (1, 2)]
    for t in writers:
        t.start()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 6 and in_flight:
                break
        time.sleep(0.01)
    with lock:
        pending = set(in_flight)
        acknowledged = list(acked)
    srv.kill()  # SIGKILL while at least one write is in flight
    stop.set()
    for t in writers:
        t.join(timeout=120)
    assert len(acknowledged) >= 6 and pending, "the kill must land in a stream of writes"

    restarted = spawn(data_dir=srv.data_dir)
    with restarted.client() as c:
        for cid in acknowledged:
            r = c.get(f"/cases/{cid}")
            assert r.status_code == 200, f"acknowledged case {cid} lost"
            assert r.json()["case"] == Case.model_validate(sent[cid]).to_json_dict()
            n = int(cid.split("-")[1])
            assert found(c, cid, marker_for(n)), f"acknowledged case {cid} not searchable"
        # A write cut off by the kill is either wholly there or wholly absent.
        for cid in pending:
            r = c.get(f"/cases/{cid}")
            assert r.status_code in (200, 404)
            if r.status_code == 200:
                assert r.json()["case"] == Case.model_validate(sent[cid]).to_json_dict()
                assert found(c, cid, marker_for(int(cid.split("-")[1])))


def test_a_commit_the_index_never_saw_is_served_after_restart(spawn):
    """A crash between the store commit and the index update leaves the saved index stale;
    the next start must notice and rebuild from the store."""
    srv = spawn()
    srv.stop()
    store = SqliteCaseStore(srv.data_dir / "cases.sqlite3")
    store.add_cases([Case.model_validate(make_case("late-1", marker_for(900)))], origin="api")
    store.delete_case("fsa2019-43")

    restarted = spawn(data_dir=srv.data_dir)
    with restarted.client() as c:
        assert c.get("/cases/late-1").status_code == 200
        assert found(c, "late-1", marker_for(900))
        assert c.get("/cases/fsa2019-43").status_code == 404
        r = c.post("/search", json={"text": "障害", "k": 100}).json()
        assert "fsa2019-43" not in {h["case_id"] for h in r["results"]}
        assert c.get("/graph/neighbourhood/late-1").status_code == 200
        assert c.get("/graph/neighbourhood/fsa2019-43").status_code == 404
