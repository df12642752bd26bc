"""Editions as a first-class field over HTTP and on the page: the bundled 2019 cases and
two imported editions (the 2020 and 2024 fixtures), filtered by year in search and
analytics, and each case's edition, page and link to the original on its page."""

from __future__ import annotations

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
        for year, n in ((2019, 44), (2020, 4), (2024, 4), (2031, 0)):
            table = client.get("/analytics/recurring", params={"year": year}).json()
            assert table["n_cases"] == n and table["filters"]["year"] == year
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
    """``kizuki search --year`` and ``kizuki coverage --year`` call the same use cases."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZUKI_")}
    env.update(KIZUKI_DATA_DIR=str(editions_server.data_dir), KIZUKI_CACHE_DIR=str(cache_dir))

    def kizuki(*args):
        return subprocess.run(
            [sys.executable, "-c", "from kizuki.api.cli import main; main()", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    found = kizuki("search", INCIDENT, "--year", "2024", "--k", "10", "--json")
    assert found.returncode == 0, found.stderr
    ids = [hit["case_id"] for hit in json.loads(found.stdout)["results"]]
    assert ids and all(i.startswith("fsa2024-") for i in ids)
    table = kizuki("coverage", "--year", "2020", "--json")
    assert table.returncode == 0 and json.loads(table.stdout)["n_cases"] == 4
    unknown = kizuki("search", INCIDENT, "--year", "2031")
    assert unknown.returncode == 2 and "no case of the 2031 edition" in unknown.stderr
