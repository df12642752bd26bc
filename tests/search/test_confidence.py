"""The no-good-match model: signed coefficients, the operating point, the curve."""

from __future__ import annotations

import numpy as np
import pytest
from kizuki.search.confidence import (
    SIGNALS,
    NoMatchModel,
    fit_no_match,
    operating_curve,
    strength,
)


def _data(rng, n_pos=120, n_neg=20):
    """Analogues have higher similarity/coverage/vocabulary and a low out-of-scope signal."""
    pos = rng.normal(0.6, 0.15, size=(n_pos, len(SIGNALS)))
    neg = rng.normal(0.4, 0.15, size=(n_neg, len(SIGNALS)))
    oos = SIGNALS.index("extra:out_of_scope")
    pos[:, oos], neg[:, oos] = rng.normal(0.2, 0.1, n_pos), rng.normal(0.7, 0.1, n_neg)
    x = np.vstack([pos, neg])
    y = np.array([True] * n_pos + [False] * n_neg)
    return x, y


def test_fit_keeps_each_coefficient_on_its_side_and_meets_the_operating_point():
    rng = np.random.default_rng(0)
    x, y = _data(rng)
    x[:, SIGNALS.index("cos:case")] = rng.normal(size=len(y))  # pure noise
    model = fit_no_match(x, y, max_false_rejection=0.1)
    coef = dict(zip(model.names, model.coef, strict=True))
    assert coef["extra:out_of_scope"] < 0
    assert all(v >= 0 for k, v in coef.items() if k != "extra:out_of_scope")
    p = np.array([model.probability(row) for row in x])
    assert np.mean(p[y] < model.threshold) <= 0.1  # false rejections on its training data
    assert np.mean(p[~y] < model.threshold) > 0.5  # and it does reject most non-analogues


def test_model_round_trip_and_older_models_ignore_newer_signals():
    rng = np.random.default_rng(1)
    model = fit_no_match(*_data(rng))
    again = NoMatchModel.from_dict(model.to_dict())
    row = rng.normal(0.5, 0.1, len(SIGNALS))
    assert again.probability(row) == pytest.approx(model.probability(row))
    older = NoMatchModel(("cos:case",), (0.5,), (0.1,), (2.0,), 0.0, 0.5)
    assert 0.0 < older.probability(row) < 1.0  # picks its one signal by name
    with pytest.raises(ValueError):
        NoMatchModel(("no such signal",), (0.0,), (1.0,), (1.0,), 0.0, 0.5)
    with pytest.raises(ValueError):
        fit_no_match(np.zeros((3, len(SIGNALS))), np.array([True, True, True]))


def test_strength_bands_and_curve():
    assert strength(0.1, 0.3) == "none"
    assert strength(0.4, 0.3) == "weak"
    assert strength(0.7, 0.3) == "partial"
    assert strength(0.95, 0.3) == "strong"
    curve = operating_curve(np.array([0.9, 0.8, 0.2]), np.array([0.1, 0.5]))
    assert curve[0] == {"threshold": 0.0, "false_rejection": 0.0, "none_accuracy": 0.0}
    assert curve[-1]["false_rejection"] == 1.0 and curve[-1]["none_accuracy"] == 1.0
    frs = [c["false_rejection"] for c in curve]
    assert frs == sorted(frs)


def test_a_case_without_outside_views_stands_in_for_them_in_the_signals(
    seed_embedder, seed_analyzer
):
    """An index of imported cases (no outside views): the outside signals read the cases'
    own text, as the ranking features do, instead of 0 (which judged every search over
    imported cases a likely "no match")."""
    from kizuki.corpus import seed_cases
    from kizuki.search.engine import RankConfig, Searcher
    from kizuki.search.index import SearchIndex

    cases = seed_cases()[:6]
    index = SearchIndex.build(cases, seed_embedder, seed_analyzer)
    assert not index.has_outside.any()
    searcher = Searcher(index, seed_embedder, seed_analyzer, RankConfig())
    query = searcher.prepare(cases[2].event)
    cands = searcher.candidates(query)
    x = dict(zip(SIGNALS, searcher.signals(query, cands), strict=True))
    own = max(x["cos:case"], x["cos:sentences"])
    assert x["cos:outside"] == pytest.approx(own) and own > 0.8
    assert x["coverage:outside"] == pytest.approx(x["coverage:case"])
    assert x["coverage:case"] > 0
