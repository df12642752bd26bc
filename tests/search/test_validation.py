"""One pass, many rankings; cross-validation that never lets a query judge itself."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from kizuki.search.evaluation import load_queries, report
from kizuki.search.validation import collect, cross_validate, feature_names, outcomes, ranked, train

VALIDATION = Path(__file__).resolve().parents[2] / "eval" / "validation"


@pytest.fixture(scope="module")
def runs(seed_searcher):
    queries = load_queries(VALIDATION / "ja_written.jsonl")
    graded = [q for q in queries if q.relevant][:24]
    none = [q for q in queries if not q.relevant][:4]
    return collect([("ja_written", q) for q in graded + none], seed_searcher)


def test_collect_keeps_every_case_of_the_seed_index_as_a_candidate(runs, seed_searcher):
    assert len(runs) == 28
    for run in runs:
        assert len(run.cands.docs) == len(seed_searcher.index.cases)
        assert run.signals.shape == (len(seed_searcher.no_match.names),)
    assert {"bm25:case", "cos:case", "bm25:outside:rr"} <= set(feature_names(runs))


def test_ranked_matches_the_searcher(runs, seed_searcher):
    run = runs[0]
    expected = [r.case_id for r in seed_searcher.search(run.query.query, k=44).results]
    assert ranked(run, seed_searcher.scorer) == expected


def test_cross_validation_never_ranks_a_query_with_its_own_labels(runs):
    """Relabel one query: its own held-out ranking cannot change (it was ranked by a model
    trained without it), while the in-sample fit does see the change."""
    first, _ = cross_validate(runs, k=4, seed=0)
    target = runs[0]
    wrong = {c: 2 for c in target.case_ids[-3:].tolist()}  # the cases ranked last
    changed = [replace(target, query=replace(target.query, relevant=wrong)), *runs[1:]]
    again, _ = cross_validate(changed, k=4, seed=0)
    assert again[target.query.id].case_ids == first[target.query.id].case_ids
    assert any(again[r.query.id].case_ids != first[r.query.id].case_ids for r in runs[1:])


def test_train_gives_a_model_that_ranks_and_judges(runs):
    model = train(runs, {"note": "test"})
    assert set(model.scorer.weights) == set(feature_names(runs))
    assert model.provenance["graded"] == 24 and model.provenance["note"] == "test"
    from kizuki.search.confidence import NoMatchModel

    no_match = NoMatchModel.from_dict(model.no_match)
    out = report([r.query for r in runs], outcomes(runs, model.scorer, no_match))
    assert out["n"] == 24 and out["false_rejection"] <= 0.1 + 1e-9
    assert out["ndcg@10"] > 0.3
