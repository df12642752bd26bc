"""``POST /feedback`` and ``GET /feedback`` on real servers: who may judge, the caps, bad
input, durability, the ranking they move, and the export that ``kizuki eval`` loads."""

from __future__ import annotations

import json

import httpx
import pytest
from kizuki.api.cli import CliError, app
from kizuki.corpus.settings import get_settings
from kizuki_http import API_KEY, clone_data_dir, error_of
from typer.testing import CliRunner

QUERY = "夜間バッチが予定時刻までに終わらず、翌朝のオンライン開始が遅れてATMや窓口が使えなかった。"
KEY = {"X-API-Key": API_KEY}


def judge(client: httpx.Client, case_id: str, grade=2, query=QUERY, headers=None, **more):
    body = {"query": query, "case_id": case_id, "grade": grade, **more}
    return client.post("/feedback", json=body, headers={**KEY, **(headers or {})})


def ranked(client: httpx.Client, text: str = QUERY, k: int = 10) -> list[dict]:
    response = client.post("/search", json={"text": text, "k": k})
    assert response.status_code == 200, response.text
    return response.json()["results"]


@pytest.fixture
def srv(spawn):
    return spawn()


def test_writing_needs_the_key_unless_anonymous_feedback_is_on(srv, spawn):
    with srv.client() as c:
        case = ranked(c)[0]["case_id"]
        body = {"query": QUERY, "case_id": case, "grade": 2}
        assert error_of(c.post("/feedback", json=body))["code"] == "missing_api_key"
        wrong = c.post("/feedback", json=body, headers={"X-API-Key": "nope"})
        assert wrong.status_code == 403 and error_of(wrong)["code"] == "invalid_api_key"
        assert c.post("/feedback", json=body, headers=KEY).status_code == 201
        # Reading them needs the key too.
        assert c.get("/feedback").status_code == 401
        assert c.get("/feedback", headers=KEY).json()["total"] == 1
    closed = spawn(api_key=None)
    with closed.client() as c:
        refused = c.post("/feedback", json=body)
        assert refused.status_code == 403 and error_of(refused)["code"] == "writes_disabled"
    open_ = spawn(api_key=API_KEY, env={"KIZUKI_ANONYMOUS_FEEDBACK": "true"})
    with open_.client() as c:
        written = c.post("/feedback", json=body)
        assert written.status_code == 201, written.text
        assert written.json()["analyst"] is None
        # A wrong key is still refused: anonymous means "no key", not "any key".
        assert c.post("/feedback", json=body, headers={"X-API-Key": "nope"}).status_code == 403
        assert c.get("/feedback").status_code == 401


#: Bad bodies: (change to a good body, status, the field the message names).
BAD = [
    ({"grade": 3}, 422, "grade"),
    ({"grade": -1}, 422, "grade"),
    ({"grade": "2"}, 422, "grade"),
    ({"grade": 1.5}, 422, "grade"),
    ({"grade": True}, 422, "grade"),
    ({"query": ""}, 422, "query"),
    ({"query": " \n "}, 422, "query"),
    ({"query": "x" * 5001}, 422, "query"),
    ({"query": "ATMが\x07停止"}, 422, "query"),
    ({"query": "ATM\ud800"}, 422, "query"),
    ({"note": "メモ\x00"}, 422, "note"),
    ({"note": "あ" * 2001}, 422, "note"),
    ({"case_id": "fsa2019-99"}, 404, None),
    ({"case_id": "../etc"}, 404, None),
    ({"case_id": "x" * 65}, 422, "case_id"),
    ({"extra": 1}, 422, "extra"),
]


def test_bad_input_is_refused_with_4xx_and_nothing_is_stored(srv):
    with srv.client(headers=KEY) as c:
        for change, status, field in BAD:
            body = {"query": QUERY, "case_id": "fsa2019-01", "grade": 2, **change}
            raw = json.dumps(body).encode()  # \u escapes: lone surrogates reach the server
            response = c.post(
                "/feedback", content=raw, headers={"content-type": "application/json"}
            )
            assert response.status_code == status, (change, response.text)
            error = error_of(response)
            if field:
                assert field in error["message"], (change, error)
        raw = c.post(
            "/feedback", content=b'{"query": ', headers={"content-type": "application/json"}
        )
        assert raw.status_code == 400 and error_of(raw)
        for name in ("a" * 301, "caf\xe9".encode("latin-1"), "tab\there"):
            response = judge(c, "fsa2019-01", headers={"X-Kizuki-Analyst": name})
            assert response.status_code == 422, (name, response.text)
            assert "X-Kizuki-Analyst" in error_of(response)["message"]
        assert c.get("/feedback").json()["total"] == 0
        # Printable ASCII is never refused: what does not decode to clean text is kept as sent.
        for name, kept in (("%07bell", "%07bell"), ("%ZZ%ff", "%ZZ%ff"), ("%E7%94%B0", "田")):
            response = judge(c, "fsa2019-01", headers={"X-Kizuki-Analyst": name})
            assert response.status_code == 201 and response.json()["analyst"] == kept
        assert error_of(c.get("/feedback", params={"limit": 10_000}))["code"] == "validation_error"
        assert c.get("/feedback", params={"format": "xml"}).status_code == 422


def test_caps_per_query_and_per_hour(spawn):
    srv = spawn(env={"KIZUKI_FEEDBACK_PER_QUERY": "2", "KIZUKI_FEEDBACK_PER_HOUR": "3"})
    with srv.client() as c:
        ids = [r["case_id"] for r in ranked(c)]
        tanaka = {"X-Kizuki-Analyst": "tanaka"}
        assert judge(c, ids[0], headers=tanaka).json()["replaced"] is False
        assert judge(c, ids[1], headers=tanaka).status_code == 201
        # A third case for the same query: over the per-query cap.
        third = judge(c, ids[2], headers=tanaka)
        assert third.status_code == 422 and error_of(third)["code"] == "feedback_limit"
        # Judging a case again replaces the earlier judgement (and is not a new case).
        again = judge(c, ids[0], grade=0, note="やはり別", headers=tanaka)
        assert again.status_code == 201 and again.json()["replaced"] is True
        other_query = "別の障害: 口座振替が二重に引き落とされた"
        assert judge(c, ids[3], query=other_query, headers=tanaka).status_code == 201
        # Three judgements stored in the hour (the replacement is still one): the next waits.
        over = judge(c, ids[4], query="ATMが全台停止した", headers=tanaka)
        assert over.status_code == 429, over.text
        assert error_of(over)["code"] == "feedback_limit"
        assert int(over.headers["Retry-After"]) > 0
        # Another analyst is not held back by tanaka's judgements.
        other = judge(
            c, ids[4], query="ATMが全台停止した", headers={"X-Kizuki-Analyst": "%E4%BD%90%E8%97%A4"}
        )
        assert other.status_code == 201 and other.json()["analyst"] == "佐藤"
        page = c.get("/feedback", headers=KEY).json()
        assert page["total"] == 4  # the replacement did not add a row
        mine = [i for i in page["items"] if i["case_id"] == ids[0]]
        assert [(i["grade"], i["note"]) for i in mine] == [(0, "やはり別")]


def test_judgements_are_durable_move_the_ranking_and_export_for_kizuki_eval(
    spawn, tmp_path, monkeypatch
):
    srv = spawn()
    with srv.client() as c:
        ids = [r["case_id"] for r in ranked(c)]
        liked, disliked = ids[3], ids[0]
        tanaka = {"X-Kizuki-Analyst": "tanaka"}
        assert judge(c, liked, note="同じ仕組み", headers=tanaka).status_code == 201
        assert judge(c, disliked, grade=0).status_code == 201
        other = "ネットバンキングのワンタイムパスワード認証ができず、ログインできない。"
        assert judge(c, ranked(c, other)[1]["case_id"], grade=1, query=other).status_code == 201
    srv.kill()  # a crash: the judgements were acknowledged, so they must be there
    srv.start()
    with srv.client() as anonymous:  # without the key: *that* it was judged, nothing more
        why = ranked(anonymous)[0]["feedback"][0]
        assert why["query"] is None and why["analyst"] is None and "夜間" not in why["reason"]
    with srv.client(headers=KEY) as c:
        page = c.get("/feedback", headers=KEY, params={"limit": 2, "offset": 1}).json()
        assert page["total"] == 3 and len(page["items"]) == 2
        first = c.get("/feedback", headers=KEY, params={"limit": 1}).json()["items"][0]
        assert (first["case_id"], first["analyst"], first["note"]) == (
            liked,
            "tanaka",
            "同じ仕組み",
        )
        results = ranked(c)
        assert results[0]["case_id"] == liked
        why = results[0]["feedback"][0]
        assert why["reason"].startswith("an analyst judged this case similar for 「夜間バッチ")
        assert why["analyst"] == "tanaka" and why["similarity"] > 0.99
        assert [r["case_id"] for r in results].index(disliked) > 0
        export = c.get("/feedback", headers=KEY, params={"format": "jsonl"})
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("application/x-ndjson")
        rows = [json.loads(line) for line in export.text.splitlines()]
        assert [r["query"] for r in rows] == [QUERY, other]
        assert rows[0]["relevant"] == {liked: 2} and rows[0]["not_relevant"] == [disliked]
        assert list(rows[1]["relevant"].values()) == [1]
        # A deleted case: its judgement is kept, marked, and ignored by the ranking.
        assert c.delete(f"/cases/{liked}", headers=KEY).status_code == 200
        items = c.get("/feedback", headers=KEY).json()["items"]
        assert [i["case_exists"] for i in items] == [False, True, True]
        assert liked not in [r["case_id"] for r in ranked(c)]
    path = tmp_path / "feedback.jsonl"
    path.write_text(export.text, encoding="utf-8")
    # The export loads in kizuki eval --queries; --feedback scores the store's judgements.
    srv.stop()  # a graceful stop: the newest snapshot is saved before the copy is taken
    data = clone_data_dir(srv.data_dir, tmp_path / "eval-data")
    monkeypatch.setenv("KIZUKI_DATA_DIR", str(data))
    monkeypatch.setenv("KIZUKI_CACHE_DIR", str(srv.cache_dir))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        loaded = runner.invoke(app, ["eval", "--queries", str(path), "--json"])
        assert loaded.exit_code == 0, loaded.output
        assert json.loads(loaded.stdout)["n"] == 2
        stored = runner.invoke(app, ["eval", "--feedback", "--json"])
        assert stored.exit_code == 0, stored.output
        assert json.loads(stored.stdout)["n"] == 1  # the deleted case's row is left out
        replayed = runner.invoke(app, ["eval", "--feedback", "--replay", "--json"])
        assert replayed.exit_code == 0, replayed.output
        out = json.loads(replayed.stdout)
        assert out["queries"] == 2 and out["judgements"] == 2
        bad = runner.invoke(app, ["eval", "--replay"])
        assert bad.exit_code != 0 and isinstance(bad.exception, CliError)
        assert "--feedback" in str(bad.exception)
    finally:
        get_settings.cache_clear()
