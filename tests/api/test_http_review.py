"""``POST /review`` over real HTTP: the contract, the limits and bad input."""

from __future__ import annotations

import pytest
from kizuki_http import error_of

PLAN = (
    "来月、ATM監視サーバを新機種に入れ替える。データ移行は夜間に委託先が行う。"
    "移行後の確認は担当者本人のみで行う。委託先の作業内容は把握していない。"
)


def test_review_lists_failures_risks_and_a_cited_checklist(client):
    r = client.post("/review", json={"plan": PLAN, "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"similar_failures", "risks", "checklist", "steps", "match_strength"}
    assert len(body["similar_failures"]) == 5
    first = body["similar_failures"][0]
    assert {"case_id", "score", "matched_steps", "causes", "countermeasures"} <= set(first)
    assert [s["index"] for s in body["steps"]] == [1, 2, 3, 4]
    assert body["risks"] and all(r["plan_sentence"] in PLAN for r in body["risks"])
    for item in body["checklist"]:
        assert item["cases"] and all(c["countermeasure"] and c["cause"] for c in item["cases"])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"plan": "あ" * 5001}, "5000"),
        ({"plan": "   "}, "empty"),
        ({"plan": PLAN, "k": 0}, "k"),
        ({"plan": PLAN, "k": "5"}, "k"),
        ('{"plan": "\\ud800 計画"}', "plan"),  # a lone surrogate, as raw JSON
        ({"plan": PLAN, "extra": 1}, "extra"),
        ({"k": 3}, "plan"),
    ],
)
def test_review_rejects_bad_input_with_a_message(client, body, needle):
    if isinstance(body, str):
        r = client.post(
            "/review", content=body.encode(), headers={"content-type": "application/json"}
        )
    else:
        r = client.post("/review", json=body)
    assert r.status_code == 422, r.text
    assert needle in error_of(r)["message"]
