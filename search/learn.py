"""Learning the ranking's feature weights from graded queries, and judging it honestly.

The scorer is linear (``search.scorer.LinearScorer``): one weight per feature. Weights are
fitted as a pairwise logistic regression (RankNet with a linear model; scikit-learn's
``LogisticRegression`` on feature differences): for every query, every pair of cases with
different grades is one example, weighted by the grade gap, so the model learns which
signals put a better analogue above a worse one. Pairs never mix queries, so per-query
scale differences cancel.

Every figure this module reports for a learned scorer is cross-validated: queries are
split into folds (stratified by source file, so each fold holds dev and validation
queries alike), weights and the regularisation strength are chosen on the other folds
only (nested), and each query is scored by a model that never saw it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: Regularisation strengths tried by the inner cross-validation (sklearn's ``C``).
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)


@dataclass(frozen=True)
class Judged:
    """One graded query as the learner sees it: candidates' features and their grades."""

    query_id: str
    group: str  # which file the query came from (folds are stratified by it)
    features: np.ndarray  # (candidates, features)
    grades: np.ndarray  # (candidates,) int grade of each candidate (0 when not listed)


def pairwise_examples(items: Sequence[Judged]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(differences, labels, weights) over every differently graded pair of each query."""
    xs, ys, ws = [], [], []
    for item in items:
        g = item.grades
        better, worse = np.nonzero(g[:, None] > g[None, :])
        if not len(better):
            continue
        diff = item.features[better] - item.features[worse]
        gap = (g[better] - g[worse]).astype(np.float64)
        xs += [diff, -diff]
        ys += [np.ones(len(diff)), np.zeros(len(diff))]
        ws += [gap, gap]
    if not xs:
        raise ValueError("no graded pairs to learn from")
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)


def fit_weights(items: Sequence[Judged], c: float = 1.0) -> np.ndarray:
    """Feature weights (unit L2 norm) from a pairwise logistic regression."""
    from sklearn.linear_model import LogisticRegression

    x, y, w = pairwise_examples(items)
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=5000)
    model.fit(x, y, sample_weight=w)
    coef = model.coef_[0].astype(np.float64)
    norm = np.linalg.norm(coef)
    return coef / norm if norm > 0 else coef


def folds(items: Sequence, k: int, seed: int = 0, group: Callable = lambda x: x.group) -> list:
    """``k`` folds of ``items``, each group spread evenly over them (seeded shuffle)."""
    rng = np.random.default_rng(seed)
    out: list[list] = [[] for _ in range(k)]
    by_group: dict[str, list] = {}
    for item in items:
        by_group.setdefault(group(item), []).append(item)
    start = 0
    for name in sorted(by_group):
        members = by_group[name]
        for j, i in enumerate(rng.permutation(len(members))):
            out[(start + j) % k].append(members[i])
        start += len(members)
    return out


def ndcg10(scores: np.ndarray, grades: np.ndarray, ideal: Sequence[int] | None = None) -> float:
    """nDCG@10 of candidates ranked by ``scores`` (ties by position), gain 2^g - 1.

    ``ideal`` are the query's full grades (a graded case outside the candidates still
    counts in the ideal list)."""
    order = np.lexsort((np.arange(len(scores)), -scores))[:10]
    gains = (2.0 ** grades[order] - 1) / np.log2(np.arange(2, len(order) + 2))
    best = np.sort(np.asarray(ideal if ideal is not None else grades))[::-1][:10]
    idcg = ((2.0**best - 1) / np.log2(np.arange(2, len(best) + 2))).sum()
    return float(gains.sum() / idcg) if idcg > 0 else 0.0


def choose_c(items: Sequence[Judged], k: int = 4, seed: int = 0) -> float:
    """The regularisation strength with the best inner cross-validated nDCG@10."""
    parts = folds(items, k, seed)
    best_c, best = C_GRID[0], -1.0
    for c in C_GRID:
        total = 0.0
        for j in range(k):
            train = [x for i, p in enumerate(parts) if i != j for x in p]
            w = fit_weights(train, c)
            total += sum(ndcg10(x.features @ w, x.grades) for x in parts[j])
        if total > best + 1e-9:
            best_c, best = c, total
    return best_c


def fit(items: Sequence[Judged]) -> tuple[np.ndarray, float]:
    """Weights for shipping: ``C`` chosen by cross-validation, then fitted on every query."""
    c = choose_c(items)
    return fit_weights(items, c), c
