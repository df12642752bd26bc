"""English as a first-class language (issue 21, issue 22 item 4): a bundled case's English
translation (``corpus/data/fsa2019_en.jsonl``) reaches API clients as ``english`` in
``GET /cases/{id}``, and the English page shows it, marked as the team's translation, with
the Japanese record one click away. An imported case has no translation to show."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import httpx
import pytest
from kizuki_http import API_KEY, make_case

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = {
    row["id"]: row
    for row in map(json.loads, (ROOT / "corpus/data/fsa2019_en.jsonl").open(encoding="utf-8"))
}
INCIDENT = "夜間バッチが予定時刻までに終わらず、翌朝のオンライン開始が遅れた"
NOTE = "English translation by the Kizuki team"


@pytest.mark.parametrize("case_id", ["fsa2019-01", "fsa2019-27", "fsa2019-44"])
def test_the_case_endpoint_gives_the_english_translation(client, case_id):
    body = client.get(f"/cases/{case_id}").json()
    row, case = ENGLISH[case_id], body["case"]
    assert body["english"] == {
        "title": row["title"],
        "event": row["event"],
        "causes": row["causes"],
        "countermeasures": row["countermeasures"],
    }
    # sentence for sentence: the i-th English cause translates the i-th Japanese one
    assert len(body["english"]["causes"]) == len(case["causes"])
    assert len(body["english"]["countermeasures"]) == len(case["countermeasures"])
    assert (
        "english"
        in client.get("/openapi.json").json()["components"]["schemas"]["CaseDetail"]["properties"]
    )


def test_an_imported_case_has_no_translation(spawn):
    srv = spawn()
    headers = {"X-API-Key": API_KEY}
    r = httpx.post(srv.url + "/cases", json=make_case("en-none-1", "ゾエン"), headers=headers)
    assert r.status_code in (200, 201), r.text
    assert httpx.get(srv.url + "/cases/en-none-1").json()["english"] is None
    page = httpx.get(srv.url + "/ui/cases/en-none-1", params={"lang": "en"}).text
    assert NOTE not in page and "ゾエンの更新作業ミス" in page


def test_the_english_case_page_shows_the_translation_and_the_original(client):
    row = ENGLISH["fsa2019-05"]
    english = client.get("/ui/cases/fsa2019-05", params={"lang": "en"}).text
    h1 = re.search(r"<h1>(.*?)</h1>", english, re.S).group(1)
    assert h1.strip() == row["title"].replace("'", "&#39;")
    assert NOTE in english and 'id="japanese-original"' in english
    japanese_title = client.get("/cases/fsa2019-05").json()["case"]["title"]
    assert japanese_title in english  # in the folded original
    japanese = client.get("/ui/cases/fsa2019-05", params={"lang": "ja"}).text
    assert NOTE not in japanese and row["title"] not in japanese


def test_english_search_results_show_the_translation_first(client):
    page = client.get("/", params={"q": INCIDENT, "lang": "en"}).text
    links = re.findall(r'class="title-link" href="([^"]*)">(.*?)</a>', page, re.S)
    # The session's server may hold cases other tests imported: they have no translation.
    titles = [html.unescape(t).strip() for href, t in links if "fsa2019-" in href]
    assert titles and all(t in {r["title"] for r in ENGLISH.values()} for t in titles), titles
    assert page.count(NOTE) == len(titles) and "Japanese original" in page
    assert "<mark" in page  # the Japanese record keeps its highlighted shared terms
    japanese = client.get("/", params={"q": INCIDENT, "lang": "ja"}).text
    assert NOTE not in japanese
