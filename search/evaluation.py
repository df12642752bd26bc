"""Search quality metrics, exactly as the dev set's README defines them.

nDCG@10 (gain 2^rel - 1), Recall@5 over cases with grade >= 1 and MRR are averaged over
queries with graded cases; queries with an empty ``relevant`` ("none") are scored apart by
the share flagged ``no_good_match``, and the same flag on graded queries is reported as the
false-rejection rate. Breakdowns by ``kind`` and ``lang`` use the same definitions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Query:
    id: str
    query: str
    relevant: dict[str, int]
    kind: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class Ranked:
    """What a system returned for one query: case ids best first, and its no-match flag."""

    case_ids: list[str]
    no_good_match: bool


def load_queries(path: str | Path) -> list[Query]:
    """Read a JSONL query file (``id``, ``query``, ``relevant``; optional ``kind``, ``lang``)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                relevant = {str(k): int(v) for k, v in (row.get("relevant") or {}).items()}
                out.append(
                    Query(
                        id=str(row.get("id", line_no)),
                        query=str(row["query"]),
                        relevant=relevant,
                        kind=row.get("kind"),
                        lang=row.get("lang"),
                    )
                )
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{path}: line {line_no} is not a valid query: {exc}") from exc
    return out


def score(ranked: Sequence[str], rel: Mapping[str, int]) -> tuple[float, float, float]:
    """(nDCG@10, Recall@5, reciprocal rank) of one ranked list; the README's reference code."""
    ranked = list(dict.fromkeys(ranked))
    g = [rel.get(d, 0) for d in ranked]
    dcg = sum((2**x - 1) / math.log2(i + 2) for i, x in enumerate(g[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum((2**x - 1) / math.log2(i + 2) for i, x in enumerate(ideal))
    hits = [d for d in ranked[:5] if rel.get(d, 0) >= 1]
    n_rel = sum(1 for x in rel.values() if x >= 1)
    recall5 = len(hits) / n_rel if n_rel else 0.0
    rr = next((1 / (i + 1) for i, x in enumerate(g) if x >= 1), 0.0)
    return (dcg / idcg if idcg else 0.0), recall5, rr


def summarize(queries: Iterable[Query], runs: Mapping[str, Ranked]) -> dict:
    """Metrics over a set of queries; keys as in the CLI's ``--json`` output."""
    queries = list(queries)
    graded = [q for q in queries if q.relevant]
    none = [q for q in queries if not q.relevant]
    rows = [score(runs[q.id].case_ids, q.relevant) for q in graded]
    n = len(rows)
    out: dict = {
        "ndcg@10": sum(r[0] for r in rows) / n if n else None,
        "recall@5": sum(r[1] for r in rows) / n if n else None,
        "mrr": sum(r[2] for r in rows) / n if n else None,
        "n": n,
        "none_accuracy": (
            sum(runs[q.id].no_good_match for q in none) / len(none) if none else None
        ),
        "n_none": len(none),
        "false_rejection": (sum(runs[q.id].no_good_match for q in graded) / n if n else None),
    }
    return out


def run_queries(queries: Sequence[Query], rank: Callable[[str], Ranked]) -> dict[str, Ranked]:
    return {q.id: rank(q.query) for q in queries}


def evaluate(queries: Sequence[Query], rank: Callable[[str], Ranked]) -> dict:
    """Run ``rank`` on every query; metrics overall and per ``kind`` / ``lang`` present."""
    return report(queries, run_queries(queries, rank))


def report(queries: Sequence[Query], runs: Mapping[str, Ranked]) -> dict:
    """``summarize`` overall plus ``by_kind`` / ``by_lang`` breakdowns where the file has them."""
    out = summarize(queries, runs)
    for key in ("kind", "lang"):
        values = sorted({getattr(q, key) for q in queries if getattr(q, key)})
        if values:
            out[f"by_{key}"] = {
                v: summarize([q for q in queries if getattr(q, key) == v], runs) for v in values
            }
    return out
