"""Combining ranked lists: reciprocal rank fusion and normalised score fusion.

A ranking is a mapping ``case_id -> score`` (higher is better). Both functions take any
number of them with weights, so other layers can add their own lists (the graph layer's
"cases sharing the likely root causes") without the ranking code knowing what they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Ranking = Mapping[str, float]


def _weights(rankings: Sequence[Ranking], weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    return [float(w) for w in weights]


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking], weights: Sequence[float] | None = None, k: float = 60.0
) -> dict[str, float]:
    """Cormack et al.'s RRF: sum of w / (k + rank); ignores the scores' scale entirely."""
    fused: dict[str, float] = {}
    for ranking, w in zip(rankings, _weights(rankings, weights), strict=True):
        ordered = sorted(ranking.items(), key=lambda kv: (-kv[1], kv[0]))
        for rank, (doc, _) in enumerate(ordered, start=1):
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    return fused


def minmax(ranking: Ranking) -> dict[str, float]:
    """Scale scores to [0, 1] within one list (all equal -> all 0)."""
    if not ranking:
        return {}
    lo, hi = min(ranking.values()), max(ranking.values())
    span = hi - lo
    return {d: ((s - lo) / span if span > 0 else 0.0) for d, s in ranking.items()}


def score_fusion(
    rankings: Sequence[Ranking], weights: Sequence[float] | None = None, normalize: bool = True
) -> dict[str, float]:
    """Weighted sum of (min-max normalised) scores; a document missing from a list gets 0."""
    fused: dict[str, float] = {}
    for ranking, w in zip(rankings, _weights(rankings, weights), strict=True):
        scaled = minmax(ranking) if normalize else dict(ranking)
        for doc, s in scaled.items():
            fused[doc] = fused.get(doc, 0.0) + w * s
    return fused
