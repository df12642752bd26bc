"""Every read endpoint over real HTTP, with the limits and errors a client can hit."""

from __future__ import annotations

import io
import json
import os
import zipfile

import networkx as nx
import pytest
from kizuki.corpus import seed_cases
from kizuki.search.index import case_fields
from kizuki_http import error_of

SEED = {c.id: c for c in seed_cases()}


# -- health and docs ----------------------------------------------------------------------


def test_health_reports_corpus_graph_and_limits(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["cases"] >= len(SEED)
    assert body["graph"]["nodes"] > body["cases"] and body["graph"]["edges"] > 0
    assert body["writes_enabled"] is True
    assert body["store"] == "sqlite" and body["judgements"] >= 0
    assert body["limits"] == {
        "max_request_bytes": 2_000_000,
        "max_json_depth": 32,
        "max_query_chars": 5_000,
        "max_query_work_chars": 1_500,
        "max_query_sentences": 16,
        "max_k": 100,
        "max_cases_per_request": 1_000,
        "max_page_size": 200,
        "max_offset": 1_000_000,
        "max_depth": 3,
        "search_workers": (os.cpu_count() or 1) + 2,  # the pool's, not the setting's 0
        "search_queue": 8,
        "search_timeout_s": 30.0,
        "rate_limit_per_minute": 0,  # on by default (600); the test servers turn it off
        "rate_limit_burst": 60,
    }


def test_openapi_documents_every_endpoint(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        "/search": {"post"},
        "/cases": {"get", "post"},
        "/cases/{case_id}": {"get", "delete"},
        "/causes": {"get"},
        "/causes/{cause_id}": {"get"},
        "/countermeasures": {"get"},
        "/countermeasures/{countermeasure_id}": {"get"},
        "/graph/neighbourhood/{node_id}": {"get"},
        "/analytics/recurring": {"get"},
        "/analytics/cooccurrence": {"get"},
        "/export/{format}": {"get"},
        "/health": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, paths[path].keys())
    assert not any(p.startswith("/ui") for p in paths), "web pages stay out of the API docs"


def test_api_docs_pages_load_only_local_assets(client):
    """/docs and /redoc name no other host: their scripts and styles are served here."""
    import re

    for path, assets in (
        ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")),
        ("/redoc", ("redoc.standalone.js",)),
    ):
        page = client.get(path)
        assert page.status_code == 200
        html = page.text
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", html), html
        assert "fonts.googleapis" not in html and "cdn." not in html
        assert "'self'" in page.headers["content-security-policy"]
        for name in assets:
            assert f"/static/docs/{name}" in html
            asset = client.get(f"/static/docs/{name}")
            assert asset.status_code == 200 and len(asset.content) > 100_000, name
    assert '"validatorUrl": null' in client.get("/docs").text


# -- search -------------------------------------------------------------------------------


def test_search_finds_a_case_from_its_own_text_and_explains_it(client):
    case = SEED["fsa2019-24"]
    r = client.post("/search", json={"text": case.event + "\n" + "\n".join(case.causes), "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["k"] == 5 and len(body["results"]) == 5
    assert body["no_good_match"] is False
    assert body["match_strength"] in ("strong", "partial", "weak")
    assert body["confidence"] >= body["threshold"] > 0
    assert [h["rank"] for h in body["results"]] == [1, 2, 3, 4, 5]
    ids = [h["case_id"] for h in body["results"]]
    assert case.id in ids[:3], ids
    top = body["results"][ids.index(case.id)]
    assert top["causes"] == case.causes and top["countermeasures"] == case.countermeasures
    assert top["matched_fields"] and top["shared_terms"]
    assert top["cause_nodes"], "the case's cause concepts come from the graph"
    # Every highlight span points at real text in the named field of that case.
    fields = {**case_fields(case), "outside": top["outside_match"] or ""}
    for term in top["shared_terms"]:
        for span in term["spans"]:
            text = fields[span["field"]]
            assert 0 <= span["start"] < span["end"] <= len(text)
    scores = [h["score"] for h in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_gives_likely_causes_and_countermeasures_with_evidence(client):
    text = (
        "夜間バッチが予定時刻までに終わらず、翌朝のオンライン開始が遅れてATMが使えなかった。"
        "前日のプログラム変更でテストが不十分だった。"
    )
    body = client.post("/search", json={"text": text}).json()
    assert len(body["results"]) == 10  # default k
    causes = body["likely_causes"]
    assert causes and all(c["concept"]["type"] == "cause" for c in causes)
    assert all(c["from_text"] or c["from_cases"] for c in causes), "every cause has evidence"
    result_ids = {h["case_id"] for h in body["results"]}
    for c in causes:
        assert {e["case_id"] for e in c["from_cases"]} <= result_ids
    cms = body["recommended_countermeasures"]
    assert cms and all(m["concept"]["type"] == "countermeasure" for m in cms)
    assert all(m["addresses"] and m["cases"] for m in cms)
    likely = {c["concept"]["id"] for c in causes}
    for m in cms:
        assert {a["cause"]["id"] for a in m["addresses"]} <= likely


def test_search_filters_by_sector_and_theme(client):
    sector = "地域銀行"
    body = client.post("/search", json={"text": "ATMが停止した", "k": 50, "sectors": [sector]})
    hits = body.json()["results"]
    assert hits and all(sector in h["sectors"] for h in hits)
    expected = sum(1 for c in SEED.values() if sector in c.sectors)
    assert len(hits) >= expected  # every seed case of the sector can be returned

    theme = SEED["fsa2019-01"].theme.id
    hits = client.post("/search", json={"text": "障害", "k": 50, "themes": [theme]}).json()
    assert hits["results"] and all(h["theme"]["id"] == theme for h in hits["results"])


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"text": "あ" * 5001}, 422, "5000"),
        ({"text": "障害", "k": 0}, 422, "k"),
        ({"text": "障害", "k": 101}, 422, "100"),
        ({"text": "障害", "k": "many"}, 422, "k"),
        ({"text": "   "}, 422, "empty"),
        ({"k": 3}, 422, "text"),
        ({"text": 42}, 422, "text"),
        ({"text": "障害", "unknown": 1}, 422, "unknown"),
        ({"text": "障害", "sectors": "地域銀行"}, 422, "sectors"),
        ({"text": "障害", "sectors": ["x" * 201]}, 422, "sectors"),
        ([1, 2, 3], 422, ""),
    ],
)
def test_search_rejects_bad_input_with_a_message(client, body, status, needle):
    r = client.post("/search", json=body)
    assert r.status_code == status, r.text
    err = error_of(r)
    assert needle in err["message"]


def test_search_accepts_exactly_the_limits(client):
    assert client.post("/search", json={"text": "障" * 5000, "k": 100}).status_code == 200
    assert client.post("/search", json={"text": "x", "k": 1}).status_code == 200


def test_malformed_json_is_400(client):
    r = client.post(
        "/search", content=b'{"text": "abc"', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert "JSON" in error_of(r)["message"]


def test_huge_body_is_413_with_and_without_content_length(client):
    big = b'{"text": "' + b"a" * 2_100_000 + b'"}'
    r = client.post("/search", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "2000000" in error_of(r)["message"]

    def chunks():
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    r = client.post("/search", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    error_of(r)


def test_hostile_input_never_gives_a_500(client):
    hostile = [
        "\x00\x01\x02 NUL と制御文字",
        "'; DROP TABLE cases; --",
        "<script>alert(1)</script>",
        "\ud7ff\ufffd\U0001f4a5" * 50,
        "𠮷野家" * 1000,
        "\n" * 4000,
        "ｱｲｳ" + "\u200b" * 3000,
    ]
    for text in hostile:
        r = client.post("/search", json={"text": text, "k": 3})
        assert r.status_code in (200, 422), (text[:20], r.status_code, r.text[:200])
    for path in (
        "/cases/..%2F..%2Fetc%2Fpasswd",
        "/cases/%00",
        "/causes/%3Cscript%3E",
        "/countermeasures/" + "x" * 5000,
        "/graph/neighbourhood/%E2%80%AE",
        "/export/..%2Fetc",
        "/cases?limit=abc",
        "/cases?offset=-1",
        "/cases?q=" + "あ" * 1000,
        "/analytics/recurring?by=%27%20OR%201%3D1",
    ):
        r = client.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code)
        error_of(r)
    r = client.post("/search", content="text=abc", headers={"content-type": "text/plain"})
    assert 400 <= r.status_code < 500
    error_of(r)


def test_unknown_paths_and_methods_get_json_errors(client):
    r = client.get("/no/such/thing")
    assert r.status_code == 404 and "/no/such/thing" in error_of(r)["message"]
    r = client.put("/cases")
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"


# -- cases --------------------------------------------------------------------------------


def test_cases_are_paged(client):
    first = client.get("/cases", params={"limit": 10}).json()
    assert first["total"] >= len(SEED) and first["limit"] == 10 and len(first["items"]) == 10
    second = client.get("/cases", params={"limit": 10, "offset": 10}).json()
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert len(set(ids)) == 20
    assert ids[:2] == ["fsa2019-01", "fsa2019-02"]  # store order
    everything = client.get("/cases", params={"limit": 200}).json()
    assert len(everything["items"]) == everything["total"]
    r = client.get("/cases", params={"limit": 201})
    assert r.status_code == 422 and "200" in error_of(r)["message"]


def test_cases_are_filterable(client):
    sector = "主要行等"
    body = client.get("/cases", params={"sector": sector, "limit": 200}).json()
    assert body["total"] == len(body["items"])
    assert body["total"] >= sum(1 for c in SEED.values() if sector in c.sectors)
    assert all(sector in c["sectors"] for c in body["items"])
    theme = SEED["fsa2019-10"].theme.id
    body = client.get("/cases", params={"theme": theme, "limit": 200}).json()
    assert body["items"] and all(c["theme"]["id"] == theme for c in body["items"])
    body = client.get("/cases", params={"q": "OTP"}).json()
    assert "fsa2019-01" in {c["id"] for c in body["items"]}
    seeds = client.get("/cases", params={"origin": "seed", "limit": 200}).json()
    assert seeds["total"] == len(SEED)


def test_one_case_with_its_graph_concepts(client):
    body = client.get("/cases/fsa2019-07").json()
    assert body["case"] == SEED["fsa2019-07"].to_json_dict()
    assert body["origin"] == "seed"
    graph = body["graph"]
    assert graph["causes"] and graph["countermeasures"]
    sentences = {s for c in graph["causes"] for s in c["sentences"]}
    assert sentences <= set(SEED["fsa2019-07"].causes)
    r = client.get("/cases/fsa2019-99")
    assert r.status_code == 404 and error_of(r)["code"] == "case_not_found"


# -- causes and countermeasures -----------------------------------------------------------


def test_causes_and_countermeasures_link_to_each_other(client):
    causes = client.get("/causes").json()
    assert causes and all(c["concept"]["type"] == "cause" for c in causes)
    busiest = max((c for c in causes if not c["is_group"]), key=lambda c: c["n_cases"])
    view = client.get(f"/causes/{busiest['concept']['id']}").json()
    assert len(view["cases"]) == busiest["n_cases"]
    assert all(e["sentences"] for e in view["cases"])
    assert view["countermeasures"], "a recurring cause has countermeasures against it"
    supports = [link["support_count"] for link in view["countermeasures"]]
    assert supports == sorted(supports, reverse=True)

    cm_id = view["countermeasures"][0]["concept"]["id"]
    cm = client.get(f"/countermeasures/{cm_id}").json()
    assert cm["concept"]["type"] == "countermeasure"
    assert busiest["concept"]["id"] in {link["concept"]["id"] for link in cm["causes"]}
    listed = {c["concept"]["id"] for c in client.get("/countermeasures").json()}
    assert cm_id in listed

    for path in ("/causes/cause.nope", "/countermeasures/cm.nope", f"/causes/{cm_id}"):
        r = client.get(path)
        assert r.status_code == 404, path
        error_of(r)


# -- graph --------------------------------------------------------------------------------


@pytest.mark.parametrize("node", ["fsa2019-07", "cause.procedure_doc_defect"])
def test_neighbourhood_is_a_drawable_graph(client, node):
    one = client.get(f"/graph/neighbourhood/{node}").json()
    two = client.get(f"/graph/neighbourhood/{node}", params={"depth": 2}).json()
    for body in (one, two):
        ids = {n["id"] for n in body["nodes"]}
        assert body["center"] == node and node in ids
        assert all({"id", "type", "label_ja", "label_en"} <= set(n) for n in body["nodes"])
        assert body["edges"] and all(
            e["source"] in ids and e["target"] in ids for e in body["edges"]
        )
        assert len({e["id"] for e in body["edges"]}) == len(body["edges"])
    assert len(two["nodes"]) > len(one["nodes"])
    assert max(n["depth"] for n in one["nodes"]) == 1


def test_neighbourhood_limits(client):
    r = client.get("/graph/neighbourhood/fsa2019-07", params={"depth": 4})
    assert r.status_code == 422 and "3" in error_of(r)["message"]
    r = client.get("/graph/neighbourhood/fsa2019-07", params={"depth": 0})
    assert r.status_code == 422
    r = client.get("/graph/neighbourhood/nope")
    assert r.status_code == 404 and error_of(r)["code"] == "node_not_found"


# -- analytics ----------------------------------------------------------------------------


def test_recurring_causes_overall_and_by_sector_and_theme(client):
    overall = client.get("/analytics/recurring").json()
    rows = overall["rows"]
    assert rows and overall["by"] == "all"
    counts = [r["n_cases"] for r in rows]
    assert counts == sorted(counts, reverse=True)
    by_sector = client.get("/analytics/recurring", params={"by": "sector"}).json()["rows"]
    assert by_sector and all(r["sector"].startswith("sector.") for r in by_sector)
    by_theme = client.get("/analytics/recurring", params={"by": "theme"}).json()["rows"]
    assert by_theme and all(r["theme"].startswith("theme.") for r in by_theme)
    groups = client.get("/analytics/recurring", params={"level": "group"}).json()["rows"]
    assert groups and all(".grp." in r["cause_id"] for r in groups)


def test_recurring_causes_filtered_to_a_sector(client):
    sector = "地域銀行"
    scoped = client.get("/analytics/recurring", params={"sector": sector}).json()
    in_sector = client.get("/cases", params={"sector": sector, "limit": 200}).json()
    assert scoped["n_cases"] == in_sector["total"]
    expected = {c["id"] for c in in_sector["items"]}
    assert scoped["rows"]
    for row in scoped["rows"]:
        assert set(row["case_ids"]) <= expected
    by_id = client.get("/analytics/recurring", params={"sector": "sector.regional_banks"}).json()
    assert by_id["rows"] == scoped["rows"]
    r = client.get("/analytics/recurring", params={"by": "planet"})
    assert r.status_code == 422 and "by" in error_of(r)["message"]


def test_cooccurrence_and_coverage(client):
    rows = client.get("/analytics/cooccurrence", params={"min_count": 2}).json()["rows"]
    assert rows and all(r["n_ab"] >= 2 and r["cause_a"] < r["cause_b"] for r in rows)
    gaps = client.get("/analytics/coverage").json()["rows"]
    assert gaps and all(0 <= r["coverage"] <= 1 for r in gaps)


# -- export -------------------------------------------------------------------------------


def test_exports_round_trip(client):
    nodes = client.get("/health").json()["graph"]["nodes"]
    r = client.get("/export/json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    G = nx.node_link_graph(json.loads(r.content), edges="edges")
    assert G.number_of_nodes() == nodes

    r = client.get("/export/graphml")
    assert r.status_code == 200
    H = nx.read_graphml(io.BytesIO(r.content))
    assert H.number_of_nodes() == nodes

    r = client.get("/export/neo4j")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert "kizuki-neo4j/nodes_case.csv" in names and "kizuki-neo4j/import.sh" in names

    r = client.get("/export/pdf")
    assert r.status_code == 422
    error_of(r)
