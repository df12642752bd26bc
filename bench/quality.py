"""Search quality on the graded dev set, by the dev set README's definitions.

nDCG@10 uses gain 2^grade - 1; Recall@5 counts cases of grade >= 1; MRR the first case of
grade >= 1. All three are averaged over the queries that have graded cases (the "none"
queries have nothing to find, so they are left out, as in ``kizuki eval``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

#: The graded dev set, in ``shared/`` beside the repository (as in the lead's checkout and CI).
DEV_QUERIES = Path(__file__).resolve().parent.parent.parent / "shared/eval/dev_queries.jsonl"


def score(ranked: Sequence[str], rel: Mapping[str, int]) -> tuple[float, float, float]:
    """(nDCG@10, Recall@5, reciprocal rank) of one ranked list of case ids."""
    ranked = list(dict.fromkeys(ranked))
    gains = [rel.get(d, 0) for d in ranked]
    dcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    n_rel = sum(1 for g in rel.values() if g >= 1)
    recall5 = sum(1 for d in ranked[:5] if rel.get(d, 0) >= 1) / n_rel if n_rel else 0.0
    rr = next((1 / (i + 1) for i, g in enumerate(gains) if g >= 1), 0.0)
    return (dcg / idcg if idcg else 0.0), recall5, rr


def evaluate(queries: Sequence[Mapping], runs: Mapping[str, Sequence[str]]) -> dict:
    """Mean metrics over graded queries; ``queries`` are dev-set rows (id, relevant)."""
    rows = [score(runs[q["id"]], q["relevant"]) for q in queries if q.get("relevant")]
    n = len(rows)
    if not n:
        return {"n": 0, "ndcg@10": None, "recall@5": None, "mrr": None}
    return {
        "n": n,
        "ndcg@10": sum(r[0] for r in rows) / n,
        "recall@5": sum(r[1] for r in rows) / n,
        "mrr": sum(r[2] for r in rows) / n,
    }
