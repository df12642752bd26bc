"""Analysts' judgements beside the cases, in SQLite and PostgreSQL alike: replacement of an
analyst's earlier judgement, caps enforced in the write, what the ranking reads, and the
export in the eval sets' format."""

from __future__ import annotations

import pytest
from kizuki.corpus.feedback import FeedbackLimit, eval_rows, open_feedback_store
from kizuki.corpus.settings import Settings
from kizuki.corpus.store import open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    cases = open_store(settings)
    yield settings, cases, open_feedback_store(settings, cases)
    cases.close()


def test_latest_judgement_of_an_analyst_replaces_the_earlier_one(stores):
    settings, cases, fb = stores
    first, replaced = fb.add("ATMが止まった", "fsa2019-05", 2, "同じ原因", "sato", now=1000.0)
    assert not replaced and first.grade == 2 and first.analyst == "sato"
    again, replaced = fb.add("ATMが止まった", "fsa2019-05", 0, "", "sato", now=1001.0)
    assert replaced and again.id == first.id and again.grade == 0
    fb.add("ATMが止まった", "fsa2019-05", 2, "", "suzuki", now=1002.0)
    fb.add("ATMが止まった", "fsa2019-07", 1, "", None, now=1003.0)
    assert fb.count() == 3
    assert fb.state() == (3, 1003.0)
    assert [j.analyst for j in fb.all()] == ["sato", "suzuki", None]
    assert [j.case_id for j in fb.for_query("ATMが止まった")] == [
        "fsa2019-05",
        "fsa2019-05",
        "fsa2019-07",
    ]
    # A second handle over the same database sees the same judgements.
    reopened = open_feedback_store(settings, cases)
    assert [j.id for j in reopened.all()] == [j.id for j in fb.all()]


def test_caps_are_enforced_inside_the_write(stores):
    _, _, fb = stores
    for i in range(3):
        fb.add("q", f"case-{i}", 2, analyst="a", per_hour=10, per_query=3, now=100.0 + i)
    with pytest.raises(FeedbackLimit, match="per analyst and query"):
        fb.add("q", "case-9", 2, analyst="a", per_hour=10, per_query=3, now=110.0)
    fb.add("q", "case-0", 0, analyst="a", per_hour=10, per_query=3, now=111.0)  # a replacement
    with pytest.raises(FeedbackLimit) as exc:
        fb.add("other", "case-1", 2, analyst="a", per_hour=3, now=112.0)
    assert exc.value.retry_after and exc.value.retry_after > 0
    assert fb.count() == 3  # nothing stored by the refused writes
    with pytest.raises(ValueError):
        fb.add("q", "case-1", 3, analyst="b")


def test_export_rows_load_as_an_eval_set(stores):
    _, _, fb = stores
    fb.add("証明書の期限切れで接続できない", "fsa2019-27", 2, analyst="a", now=1.0)
    fb.add("証明書の期限切れで接続できない", "fsa2019-05", 0, analyst="a", now=2.0)
    fb.add("only rejected", "fsa2019-01", 0, analyst="a", now=3.0)
    rows = eval_rows(fb.all())
    assert [r["query"] for r in rows] == ["証明書の期限切れで接続できない"]
    assert rows[0]["relevant"] == {"fsa2019-27": 2}
    assert rows[0]["not_relevant"] == ["fsa2019-05"]
