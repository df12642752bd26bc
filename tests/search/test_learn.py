"""Learning feature weights: pairwise examples, folds, nDCG, and that learning learns."""

from __future__ import annotations

import numpy as np
import pytest
from kizuki.search.learn import Judged, choose_c, fit_weights, folds, ndcg10, pairwise_examples


def _query(qid: str, group: str, rng, informative: int = 0) -> Judged:
    """20 candidates, 3 features; feature ``informative`` carries the grade, others noise."""
    grades = np.zeros(20, int)
    grades[:2], grades[2:5] = 2, 1
    x = rng.normal(size=(20, 3))
    x[:, informative] += grades * 1.5
    return Judged(qid, group, x, grades)


def test_pairwise_examples_cover_every_differently_graded_pair():
    item = Judged("q", "g", np.array([[1.0], [0.0], [0.5]]), np.array([2, 0, 1]))
    x, y, w = pairwise_examples([item])
    # pairs (0>1, gap 2), (0>2, gap 1), (2>1, gap 1), each also mirrored
    assert len(x) == 6 and y.sum() == 3
    assert sorted(w.tolist()) == [1, 1, 1, 1, 2, 2]
    with pytest.raises(ValueError):
        pairwise_examples([Judged("q", "g", np.zeros((2, 1)), np.zeros(2, int))])


def test_fit_finds_the_informative_feature():
    rng = np.random.default_rng(1)
    items = [_query(f"q{i}", "a", rng, informative=1) for i in range(30)]
    w = fit_weights(items)
    assert np.argmax(w) == 1 and np.linalg.norm(w) == pytest.approx(1.0)
    held = [_query(f"h{i}", "a", rng, informative=1) for i in range(10)]
    learned = np.mean([ndcg10(h.features @ w, h.grades) for h in held])
    noise = np.mean([ndcg10(h.features[:, 0], h.grades) for h in held])
    assert learned > noise + 0.2
    assert choose_c(items) in (0.03, 0.1, 0.3, 1.0, 3.0)


def test_folds_partition_and_spread_each_group():
    items = [Judged(f"a{i}", "dev", np.zeros((1, 1)), np.zeros(1, int)) for i in range(10)]
    items += [Judged(f"b{i}", "val", np.zeros((1, 1)), np.zeros(1, int)) for i in range(5)]
    parts = folds(items, 5, seed=3)
    ids = sorted(x.query_id for p in parts for x in p)
    assert ids == sorted(x.query_id for x in items)  # a partition
    for p in parts:
        assert sum(x.group == "dev" for x in p) == 2 and sum(x.group == "val" for x in p) == 1


def test_ndcg10_matches_the_reference_definition():
    grades = np.array([0, 2, 0, 1])
    scores = np.array([4.0, 3.0, 2.0, 1.0])  # ranked: 0, 2(g=2), 0, 1
    dcg = 3 / np.log2(3) + 1 / np.log2(5)
    idcg = 3 / np.log2(2) + 1 / np.log2(3)
    assert ndcg10(scores, grades) == pytest.approx(dcg / idcg)
    # a graded case outside the candidates still counts in the ideal list
    assert ndcg10(scores, grades, ideal=[2, 2, 1]) < ndcg10(scores, grades)
