"""One pass over graded queries, many rankings judged on it: in-sample and cross-validated.

``collect`` prepares every query once (one analysis, one embedding) and keeps its
candidates and features. Any scorer then ranks those candidates in microseconds, so
``kizuki eval`` compares several rankings in one table, and ``cross_validate`` can retrain
the learned ranking and the no-good-match model once per fold: each query is then ranked,
and judged as having an analogue or not, by models that never saw it. ``train`` fits the
weights shipped in ``search/data/ranker.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from kizuki.search.confidence import NoMatchModel, fit_no_match, operating_curve
from kizuki.search.evaluation import Query, Ranked
from kizuki.search.features import Candidates, Extras, PreparedQuery
from kizuki.search.learn import Judged, choose_c, fit_weights, folds
from kizuki.search.scorer import LinearScorer, RankerModel

#: Candidates a query keeps for judging: every graded case must be among them to be found.
KEEP = 1000


@dataclass(frozen=True)
class QueryRun:
    """A query's candidates, features and no-match signals, computed once."""

    query: Query
    group: str  # the query file it came from
    cands: Candidates
    case_ids: np.ndarray  # ids of ``cands.docs``
    signals: np.ndarray
    vector: np.ndarray | None = None  # the query's vector (``search.replay`` matches on it)

    def grades(self) -> np.ndarray:
        return np.array([self.query.relevant.get(c, 0) for c in self.case_ids.tolist()])


def collect(
    queries: Iterable[tuple[str, Query]],
    searcher,
    extras: Callable[[PreparedQuery], Extras] | None = None,
    progress: Callable[[], None] | None = None,
) -> list[QueryRun]:
    """Candidates and signals of every ``(group, query)``; ``extras`` gives what another
    layer adds to a query (the graph's cause source), ``progress`` is called after each."""
    out = []
    index = searcher.index
    for group, query in queries:
        prepared = searcher.prepare(query.query)
        more = extras(prepared) if extras else None
        cands = searcher.candidates(prepared, more)
        ids = index.id_keys[cands.docs]
        x = searcher.signals(prepared, cands, more)
        out.append(QueryRun(query, group, cands, ids, x, prepared.vector))
        if progress:
            progress()
    return out


def feature_names(runs: Sequence[QueryRun]) -> list[str]:
    """Every feature seen in ``runs`` (the learned model's columns), in a stable order."""
    return sorted({n for r in runs for n in r.cands.names})


def ranked(run: QueryRun, scorer: LinearScorer) -> list[str]:
    """Case ids best first, with the searcher's tie-break (score, then case id)."""
    scores = scorer.score(run.cands)
    order = np.lexsort((run.case_ids, -np.round(scores, 9)))
    return run.case_ids[order].tolist()


def outcomes(runs: Sequence[QueryRun], scorer: LinearScorer, no_match: NoMatchModel) -> dict:
    """``Ranked`` per query id, as ``search.evaluation.report`` takes them."""
    return {
        r.query.id: Ranked(ranked(r, scorer), no_match.probability(r.signals) < no_match.threshold)
        for r in runs
    }


def _judged(run: QueryRun, names: Sequence[str]) -> Judged:
    matrix = np.stack([run.cands.column(n) for n in names], axis=1)
    return Judged(run.query.id, run.group, matrix, run.grades())


def _no_match(runs: Sequence[QueryRun]) -> NoMatchModel:
    x = np.stack([r.signals for r in runs])
    return fit_no_match(x, np.array([bool(r.query.relevant) for r in runs]))


def train(runs: Sequence[QueryRun], provenance: Mapping | None = None) -> RankerModel:
    """The learned ranking and no-match model from every run (``C`` by inner CV)."""
    names = feature_names(runs)
    graded = [_judged(r, names) for r in runs if r.query.relevant]
    c = choose_c(graded)
    weights = fit_weights(graded, c)
    scorer = LinearScorer(
        "default", {n: round(float(w), 6) for n, w in zip(names, weights, strict=True)}
    )
    meta = {**(provenance or {}), "C": c, "queries": len(runs), "graded": len(graded)}
    return RankerModel(scorer, _no_match(runs).to_dict(), meta)


def cross_validate(
    runs: Sequence[QueryRun], k: int = 5, seed: int = 0
) -> tuple[dict[str, Ranked], dict[str, float]]:
    """Each query ranked and judged by models trained on the other folds only.

    Returns the ``Ranked`` per query and, per query, the held-out probability of an
    analogue (for the operating curve)."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    names = feature_names(runs)
    parts = folds(runs, k, seed, group=lambda r: r.group)
    out: dict[str, Ranked] = {}
    probability: dict[str, float] = {}
    for j, held in enumerate(parts):
        train_runs = [r for i, p in enumerate(parts) if i != j for r in p]
        graded = [_judged(r, names) for r in train_runs if r.query.relevant]
        weights = fit_weights(graded, choose_c(graded, seed=seed))
        scorer = LinearScorer("cv", dict(zip(names, weights.tolist(), strict=True)))
        no_match = _no_match(train_runs)
        for r in held:
            p = no_match.probability(r.signals)
            probability[r.query.id] = p
            out[r.query.id] = Ranked(ranked(r, scorer), p < no_match.threshold)
    return out, probability


def curve(runs: Sequence[QueryRun], probability: Mapping[str, float]) -> list[dict]:
    """The held-out operating curve: false rejections against no-match accuracy."""
    has = np.array([probability[r.query.id] for r in runs if r.query.relevant])
    none = np.array([probability[r.query.id] for r in runs if not r.query.relevant])
    return operating_curve(has, none)


def queries_of(runs: Sequence[QueryRun]) -> list[Query]:
    return [r.query for r in runs]
