"""Metrics on a hand-computed example, and the none / false-rejection bookkeeping."""

from __future__ import annotations

import json
import math

import pytest
from kizuki.search.evaluation import Query, Ranked, load_queries, report, score


def test_score_matches_hand_computation():
    rel = {"a": 2, "b": 1, "c": 1}
    ranked = ["x", "a", "a", "y", "b"]  # the repeated "a" counts once
    ndcg, recall5, rr = score(ranked, rel)
    # ranked after de-duplication: x, a, y, b -> gains 0, 3, 0, 1 at ranks 1..4
    dcg = 3 / math.log2(3) + 1 / math.log2(5)
    idcg = 3 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg == pytest.approx(dcg / idcg)
    assert ndcg == pytest.approx(0.5625, abs=1e-4)
    assert recall5 == pytest.approx(2 / 3)
    assert rr == pytest.approx(1 / 2)


def test_perfect_and_empty_rankings():
    assert score(["a", "b"], {"a": 2, "b": 1}) == pytest.approx((1.0, 1.0, 1.0))
    assert score([], {"a": 1}) == (0.0, 0.0, 0.0)


def test_report_separates_none_queries_and_breaks_down():
    queries = [
        Query("q1", "t1", {"a": 2}, kind="incident", lang="ja"),
        Query("q2", "t2", {"b": 1}, kind="cause", lang="en"),
        Query("q3", "t3", {}, kind="none", lang="ja"),
    ]
    runs = {
        "q1": Ranked(["a", "b"], False),
        "q2": Ranked(["a", "c"], True),  # misses, and flagged: a false rejection
        "q3": Ranked(["a"], True),
    }
    out = report(queries, runs)
    assert out["n"] == 2 and out["n_none"] == 1
    assert out["ndcg@10"] == pytest.approx(0.5)
    assert out["mrr"] == pytest.approx(0.5)
    assert out["none_accuracy"] == 1.0
    assert out["false_rejection"] == 0.5
    assert out["by_kind"]["incident"]["ndcg@10"] == 1.0
    assert out["by_lang"]["en"]["recall@5"] == 0.0
    assert out["by_kind"]["none"]["n"] == 0


def test_load_queries(tmp_path):
    path = tmp_path / "q.jsonl"
    rows = [{"id": "x", "query": "q", "relevant": {"c": 2}}, {"id": "y", "query": "r"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert [q.relevant for q in load_queries(path)] == [{"c": 2}, {}]
    path.write_text("{not json}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        load_queries(path)
