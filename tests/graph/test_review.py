"""Plan review: statements, similar failures, risks and a checklist that cites its cases."""

from __future__ import annotations

import csv
import io

import pytest
from kizuki.graph.build import HAS_CAUSE, MITIGATES
from kizuki.graph.review import checklist_csv, checklist_markdown, plan_steps, review

# Invented for this test (not from the plan set).
PLAN = (
    "件名：インターネットバンキングのSSLサーバ証明書の更新\n"
    "・証明書の更新作業は、サーバの保守を委託しているベンダーに一任する。\n"
    "・有効期限は当社では管理しておらず、ベンダーからの連絡を待つ。\n"
    "・更新後の確認は担当者本人のみで行う。"
)


@pytest.fixture(scope="module")
def result(ranker):
    return review(ranker, PLAN, k=10)


def test_plan_steps_are_its_statements():
    steps = plan_steps(PLAN)
    assert len(steps) == 4 and steps[1].startswith("証明書の更新作業は")
    assert plan_steps("1. 夜間に移行する。\n2) 翌朝に確認する。") == [
        "夜間に移行する。",
        "翌朝に確認する。",
    ]
    assert len(plan_steps("作業を行う。" * 40)) == 16


def test_similar_failures_rank_the_certificate_case_and_name_their_steps(result):
    ids = [f.case_id for f in result.similar_failures]
    assert len(ids) == 10 and "fsa2019-27" in ids[:3]
    cert = result.similar_failures[ids.index("fsa2019-27")]
    assert cert.matched_steps and set(cert.matched_steps) <= {s.index for s in result.steps}
    assert cert.causes and cert.countermeasures


def test_risks_quote_the_plan_and_the_cases(result, seed_graph):
    assert result.risks and len(result.risks) <= 8
    assert "cause.cert_expiry" in [r.concept.id for r in result.risks]
    for risk in result.risks:
        assert risk.plan_sentence in PLAN and risk.sign and 0 < risk.score <= 1
        for case in risk.cases:
            assert seed_graph.has_edge(case.case_id, risk.concept.id, key=HAS_CAUSE)
    scores = [r.score for r in result.risks]
    assert scores == sorted(scores, reverse=True)


def test_every_checklist_item_cites_cases_and_their_sentences(result, seed_graph, seed):
    risks = {r.concept.id for r in result.risks}
    by_id = {c.id: c for c in seed}
    assert result.checklist
    for item in result.checklist:
        assert item.item.startswith("「") and item.support_count >= 1 and item.cases
        assert {a.id for a in item.addresses} <= risks
        for a in item.addresses:
            assert seed_graph.has_edge(item.countermeasure.id, a.id, key=MITIGATES)
        for c in item.cases:
            assert c.countermeasure in by_id[c.case_id].countermeasures
            assert c.cause in by_id[c.case_id].causes
    supports = [i.support_count for i in result.checklist]
    assert supports == sorted(supports, reverse=True)


def test_checklist_exports(result):
    md = checklist_markdown(result)
    assert md.startswith("# 変更レビュー") and md.count("- [ ] ") == len(result.checklist)
    rows = list(csv.reader(io.StringIO(checklist_csv(result))))
    assert rows[0][:3] == ["item", "countermeasure", "support_count"]
    assert len(rows) == len(result.checklist) + 1
    assert all(row[4] for row in rows[1:])  # every item names its cases


def test_bad_input(ranker):
    with pytest.raises(ValueError):
        review(ranker, "   ")
    with pytest.raises(ValueError):
        review(ranker, PLAN, k=0)


def test_the_markdown_checklist_escapes_the_plan_and_quotes_it_whole_or_marked():
    """Issue 20 (20) and 22: the Markdown checklist embedded raw HTML, cut the plan
    mid-word without 「…」, and repeated the same countermeasure sentence."""
    from kizuki.graph.review import _md, quote_cut

    assert _md("<img src=x onerror=alert(1)> **bold** [link](x)") == (
        "&lt;img src=x onerror=alert(1)&gt; \\*\\*bold\\*\\* \\[link\\](x)"
    )
    long = "作業手順を確認する。" * 40
    cut = quote_cut(long, 200)
    assert cut.endswith("…") and len(cut) <= 201 and cut[:-1].endswith("。")
    assert quote_cut("短い計画。") == "短い計画。"
