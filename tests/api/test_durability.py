"""The store is the source of truth: restarts keep ingested cases, a SIGKILL in the middle
of a stream of writes loses no acknowledged case, and stale indexes are rebuilt."""

from __future__ import annotations

from kizuki.corpus.schema import Case
from kizuki.corpus.sqlite_store import SqliteCaseStore
from kizuki_http import API_KEY, assert_served, found, kill_mid_stream, make_case, marker_for


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
    sent, acknowledged, pending = kill_mid_stream(srv)
    restarted = spawn(data_dir=srv.data_dir)
    with restarted.client() as c:
        assert_served(c, sent, acknowledged, pending)


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
