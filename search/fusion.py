"""Combining ranked lists: reciprocal rank fusion and normalised score fusion, in numpy.

A ranking is a ``RankedList``: document positions best first and their scores. Both
fusions take any number of them with weights, so other layers can add their own lists (the
graph layer's "cases sharing the likely root causes") without the ranking code knowing what
they are. Lists are cut to their best ``depth`` entries before fusing (``top``): the fused
order of the first results is decided there, and the cost stays O(depth), not O(cases).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankedList:
    docs: np.ndarray  # int64 document positions, best first
    scores: np.ndarray  # float64, non-increasing
    total: int = -1  # documents the list ranked before it was cut (-1: not cut)

    def __len__(self) -> int:
        return len(self.docs)

    @property
    def cut(self) -> bool:
        return self.total > len(self.docs)


def top(docs: np.ndarray, scores: np.ndarray, tiebreak: np.ndarray, depth: int) -> RankedList:
    """The best ``depth`` of ``docs`` by score; equal scores in ``tiebreak[doc]`` order
    (any sortable array by document: the index uses the case ids)."""
    docs = np.asarray(docs, np.int64)
    scores = np.asarray(scores, np.float64)
    total = len(docs)
    if len(docs) > depth:
        # Everything scoring at least the depth-th best score, so ties at the cut are kept
        # together and then ordered like the rest.
        kth = np.partition(scores, len(scores) - depth)[len(scores) - depth]
        keep = scores >= kth
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((tiebreak[docs], -scores))[:depth]
    return RankedList(docs[order], scores[order], total)


def competition_ranks(ranking: RankedList) -> np.ndarray:
    """1 = best; equal scores share the better rank."""
    neg = -ranking.scores
    return np.searchsorted(neg, neg, side="left") + 1


def _weights(n: int, weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * n
    if len(weights) != n:
        raise ValueError("one weight per ranking")
    return [float(w) for w in weights]


def _union(rankings: Sequence[RankedList]) -> np.ndarray:
    parts = [r.docs for r in rankings if len(r)]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def reciprocal_rank_fusion(
    rankings: Sequence[RankedList], weights: Sequence[float] | None = None, k: float = 60.0
) -> tuple[np.ndarray, np.ndarray]:
    """Cormack et al.'s RRF: sum of w / (k + rank); ignores the scores' scale entirely.

    Returns (documents, fused scores), documents ascending."""
    docs = _union(rankings)
    fused = np.zeros(len(docs))
    for ranking, w in zip(rankings, _weights(len(rankings), weights), strict=True):
        where = np.searchsorted(docs, ranking.docs)
        fused[where] += w / (k + np.arange(1, len(ranking) + 1))
    return docs, fused


def rrf_floor(
    rankings: Sequence[RankedList], weights: Sequence[float] | None = None, k: float = 60.0
) -> float | None:
    """The fused score of a case ranked last in every list, when some list was cut (the
    lowest score the uncut fusion could give; None when nothing was cut)."""
    if not any(r.cut for r in rankings):
        return None
    ws = _weights(len(rankings), weights)
    return sum(w / (k + max(r.total, len(r))) for r, w in zip(rankings, ws, strict=True) if len(r))


def minmax(scores: np.ndarray, floor: float | None = None) -> np.ndarray:
    """Scale scores to [0, 1] within one list (all equal -> all 0); ``floor``, when given,
    stands for the lowest score of documents left out of the list."""
    scores = np.asarray(scores, np.float64)
    if not len(scores):
        return scores
    lo, hi = scores.min(), scores.max()
    if floor is not None:
        lo = min(lo, floor)
    span = hi - lo
    return (scores - lo) / span if span > 0 else np.zeros_like(scores)


def score_fusion(
    rankings: Sequence[RankedList], weights: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sum of min-max normalised scores; a document missing from a list gets 0."""
    docs = _union(rankings)
    fused = np.zeros(len(docs))
    for ranking, w in zip(rankings, _weights(len(rankings), weights), strict=True):
        fused[np.searchsorted(docs, ranking.docs)] += w * minmax(ranking.scores)
    return docs, fused
