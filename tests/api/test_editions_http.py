"""Editions as a first-class field over HTTP and on the page: the bundled 2019 cases and
two imported editions (the 2020 and 2024 fixtures), filtered by year in search and
analytics, and each case's edition, page and link to the original on its page."""

from __future__ import annotations

import json
import re

INCIDENT = "勘定系システムの更改でデータ移行の際に外字が変換されず、口座振替が不能となった。"


def _years(client, hits) -> set[int]:
    return {client.get(f"/cases/{h['case_id']}").json()["case"]["source"]["year"] for h in hits}


def test_search_filters_by_edition_year(editions_server):
    with editions_server.client() as client:
        every = client.post("/search", json={"text": INCIDENT, "k": 20}).json()["results"]
        assert {2019, 2024} <= _years(client, every)
        only = client.post("/search", json={"text": INCIDENT, "k": 20, "years": [2024]})
        assert only.status_code == 200
        hits = only.json()["results"]
        assert hits and _years(client, hits) == {2024}
        assert hits[0]["case_id"] == "fsa2024-01"
        both = client.post("/search", json={"text": INCIDENT, "k": 50, "years": [2020, 2024]})
        assert _years(client, both.json()["results"]) == {2020, 2024}
        for bad in (["2024"], [1200], "2024", [2024.5]):
            r = client.post("/search", json={"text": INCIDENT, "years": bad})
            assert r.status_code == 422 and "years" in r.text, r.text


def test_analytics_filter_by_year(editions_server):
    with editions_server.client() as client:
        every = client.get("/analytics/recurring").json()
        assert every["n_cases"] == 44 + 8
        for year, n in ((2019, 44), (2020, 4), (2024, 4)):
            table = client.get("/analytics/recurring", params={"year": year}).json()
            assert table["n_cases"] == n and table["filters"]["year"] == year
        unknown = client.get("/analytics/recurring", params={"year": 2031})
        assert unknown.status_code == 422 and "no case of the 2031 edition" in unknown.text
        r = client.post("/search", json={"text": INCIDENT, "years": [2031]})
        assert r.status_code == 422 and "editions: 2019, 2020, 2024" in r.text
        assert client.get("/analytics/coverage", params={"year": 2024}).json()["n_cases"] == 4
        assert client.get("/analytics/recurring", params={"year": "x"}).status_code == 422


def test_the_case_page_shows_edition_page_and_the_original(editions_server):
    with editions_server.client() as client:
        page = client.get("/ui/cases/fsa2024-02").text
        assert "2024年6月版" in page and "32ページ" in page
        assert 'href="https://www.fsa.go.jp/news/r5/sonota/20240626/01.pdf"' in page
        assert "システム統合・更改に伴い発生したシステム障害" in page
        seed = client.get("/ui/cases/fsa2019-14").text
        assert "case-original" not in seed and "(2019年)" in seed


def test_the_search_page_and_analytics_page_filter_by_year(editions_server):
    with editions_server.client() as client:
        page = client.get("/", params={"q": INCIDENT, "year": "2020", "k": 20}).text
        assert '<option value="2020" selected' in page
        shown = re.findall(r'class="result card" data-case-id="([^"]+)"', page)
        assert shown and {case_id[:7] for case_id in shown} == {"fsa2020"}, shown
        bad = client.get("/", params={"q": INCIDENT, "year": "20x"})
        assert bad.status_code == 422
        analytics = client.get("/ui/analytics", params={"year": 2024}).text
        assert '<option value="2024" selected' in analytics


def test_the_cli_filters_by_year_too(editions_server, cache_dir):
    """``kizuki search --year``, ``kizuki coverage --year`` and ``kizuki trends`` call the
    same use cases as the HTTP API (run through the console script's ``main`` in-process,
    ``kizuki_cli``, on the server's data dir)."""
    import os

    from kizuki_cli import kizuki_here

    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KIZUKI_")}
    env.update(KIZUKI_DATA_DIR=str(editions_server.data_dir), KIZUKI_CACHE_DIR=str(cache_dir))

    def kizuki(*args):
        return kizuki_here(*args, env=env)

    found = kizuki("search", INCIDENT, "--year", "2024", "--k", "10", "--json")
    assert found.returncode == 0, found.stderr
    ids = [hit["case_id"] for hit in json.loads(found.stdout)["results"]]
    assert ids and all(i.startswith("fsa2024-") for i in ids)
    table = kizuki("coverage", "--year", "2020", "--json")
    assert table.returncode == 0 and json.loads(table.stdout)["n_cases"] == 4
    trends = kizuki("trends", "--json")
    assert trends.returncode == 0, trends.stderr
    with editions_server.client() as client:
        assert json.loads(trends.stdout) == client.get("/analytics/trends").json()
    text = kizuki("trends", "--limit", "5")
    assert "editions: 2019 (44 cases), 2020 (4 cases), 2024 (4 cases)" in text.stdout
    unknown = kizuki("search", INCIDENT, "--year", "2031")
    assert unknown.returncode == 2 and "no case of the 2031 edition" in unknown.stderr


def test_trends_count_each_editions_cases(editions_server):
    """GET /analytics/trends: each cause's cases per edition, checked against the causes
    the graph gives each imported case (GET /cases/{id})."""
    with editions_server.client() as client:
        trends = client.get("/analytics/trends").json()
        assert trends["years"] == [2019, 2020, 2024]
        assert trends["n_cases_by_year"] == [44, 4, 4]
        rows = {row["cause_id"]: row for row in trends["rows"]}
        expected: dict[str, list[int]] = {}
        for year in (2020, 2024):
            for n in range(1, 5):
                graph = client.get(f"/cases/fsa{year}-0{n}").json()["graph"]
                for cause in {c["concept"]["id"] for c in graph["causes"]}:
                    expected.setdefault(cause, [0, 0])[year == 2024] += 1
        assert expected
        for cause, (n2020, n2024) in expected.items():
            assert rows[cause]["counts"][1:] == [n2020, n2024], cause
        for row in trends["rows"]:
            assert sum(row["counts"]) == row["n_cases"]
            every = all(row["counts"])
            assert (
                row["every_edition"] == every
                and (row["cause_id"] in trends["every_edition"]) == every
            )
            if row["rising"]:
                assert row["slope"] > 0 and row["shares"][-1] > row["shares"][0]
        assert trends["rising"] and trends["every_edition"]
        one = client.get("/analytics/trends", params={"theme": "integration_renewal"}).json()
        # 2019's theme of integration failures and 2024's 第2節 are one theme id.
        assert one["years"] == [2019, 2024] and one["n_cases_by_year"][1] == 4
        assert client.get("/analytics/trends", params={"level": "x"}).status_code == 422

        page = client.get("/ui/analytics").text
        block = re.search(r'<script type="application/json" id="trends-data">(.*?)</script>', page)
        chart = json.loads(block.group(1))
        assert 'id="trends-canvas"' in page and chart["labels"] == [
            "2019年版",
            "2020年版",
            "2024年版",
        ]
        drawn = {s["cause_id"] for s in chart["series"]}
        assert set(trends["every_edition"]) <= drawn
        assert "/static/vendor/chartjs/chart.umd.min.js" in page
        assert client.get("/static/vendor/chartjs/chart.umd.min.js").status_code == 200
        assert client.get("/static/trends.js").status_code == 200
