"""One function per user action (issue 23): the CLI, the JSON API and the web page answer a
search, a plan review and a recommendation with the same use case
(``api.runtime.actions``), so for the same text and the same store they give the same
answer, likely causes included.

The server and the CLI each read their own copy of one freshly seeded data dir (no
judgements in either); the CLI runs in this process.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from kizuki.api.cli import app
from kizuki.corpus.settings import get_settings
from kizuki_http import API_KEY, clone_data_dir
from typer.testing import CliRunner

INCIDENT = (
    "夜間バッチが異常終了し、復旧手順を誤ってオンライン開始が遅れた。手順書の記載が不十分だった。"
)
ENGLISH = "The SSL certificate of the internet banking site expired and customers could not log in."
PLAN = (
    "来月、ATM監視サーバを新機種に入れ替える。データ移行は夜間に委託先が行い、"
    "移行後の確認は担当者本人のみで行う。委託先の作業内容は把握していない。"
)

runner = CliRunner()


@pytest.fixture
def both(server, spawn, cache_dir, tmp_path, monkeypatch):
    """A server and the CLI, each on its own copy of the same seeded data dir."""
    srv = spawn()
    data_dir = clone_data_dir(server.template, tmp_path / "cli-data")
    monkeypatch.setenv("KIZUKI_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KIZUKI_CACHE_DIR", str(cache_dir))
    for name in ("KIZUKI_RANKER_FILE", "KIZUKI_DATABASE_URL", "KIZUKI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    with srv.client(headers={"X-API-Key": API_KEY}) as client:
        yield client
    get_settings.cache_clear()


def cli_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


@pytest.mark.parametrize("text", [INCIDENT, ENGLISH])
def test_a_search_is_the_same_answer_from_the_cli_and_the_api(both, text):
    api = both.post("/search", json={"text": text, "k": 5})
    assert api.status_code == 200, api.text
    cli = cli_json("search", text, "--k", "5")
    assert cli == api.json()  # the cases, their explanations, the likely causes: all of it
    assert cli["likely_causes"] and cli["recommended_countermeasures"]


def test_the_page_shows_the_api_s_ranking(both):
    api = both.post("/search", json={"text": INCIDENT, "k": 5}).json()
    page = both.get("/?" + urlencode({"q": INCIDENT, "k": 5})).text
    shown = re.findall(r'<article class="result card" data-case-id="([^"]+)"', page)
    assert shown == [hit["case_id"] for hit in api["results"]]


def test_graph_recommend_gives_the_likely_causes_of_a_search(both):
    api = both.post("/search", json={"text": INCIDENT, "k": 10}).json()
    cli = cli_json("graph", "recommend", INCIDENT)  # --k 5: the cases a search reads
    assert cli["likely_causes"] == api["likely_causes"]
    assert cli["countermeasures"] == api["recommended_countermeasures"]


def test_a_plan_review_is_the_same_answer_from_the_cli_and_the_api(both):
    api = both.post("/review", json={"plan": PLAN, "k": 5})
    assert api.status_code == 200, api.text
    assert cli_json("review", PLAN, "--k", "5") == api.json()
