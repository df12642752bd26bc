"""For a new incident: its likely root causes and the countermeasures worth considering.

Two sources of evidence are combined, because a pasted incident often only describes
symptoms while its nearest past cases carry the recorded causes:

* **text**: the causes the report points to, read from the taxonomy's observable signs
  (``graph.signs``, the same match the ranking uses: no model, no second embedding);
  ``t(c)`` = the match's margin relative to the best match (0 when not matched), with the
  incident's sentence sharing most of the sign's terms as evidence;
* **neighbours**: the top ``k`` similar cases from the search engine;
  ``n(c) = Σ_j w_j · [c ∈ causes(j)] / Σ_j w_j`` with ``w_j = 1 / rank_j`` (so the
  closest case counts most; ``weighting="score"`` uses the search score instead, which
  for rank-fused scores is nearly flat). When the searcher reports ``no_good_match`` the
  neighbours are not evidence and ``n`` is 0.

``score(c) = α · t(c) + (1 − α) · n(c)``, α = 0.5 by default; causes scoring below
``min_score`` are dropped.

Countermeasures: ``score(m) = Σ_c score(c) · strength(m → c)`` over the likely causes that
``m`` mitigates in the graph (``strength`` = share of the cause's cases in which ``m``
was recorded against it). Each comes with the cases and sentences behind it, the
incident's similar cases first.

The incident's likely causes never come from anything but the signs and the search
results: relevance labels of evaluation queries are not an input here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
from kizuki.graph.build import CAUSE, MITIGATES, case_causes
from kizuki.graph.navigate import MitigationCase, NodeRef, SimilarCase, ref
from kizuki.search.analysis import split_sentences
from pydantic import BaseModel


class TextEvidence(BaseModel):
    sentence: str  # the incident's own sentence
    confidence: float
    why: str = ""  # the extractor's explanation (patterns matched, similar annotated sentences)


class NeighbourEvidence(BaseModel):
    case_id: str
    title: str
    similarity: float
    sentences: list[str]


class LikelyCause(BaseModel):
    concept: NodeRef
    score: float
    text_score: float
    neighbour_score: float
    from_text: list[TextEvidence]
    from_cases: list[NeighbourEvidence]


class AddressedCause(BaseModel):
    cause: NodeRef
    cause_score: float
    strength: float
    support_count: int


class RecommendedCountermeasure(BaseModel):
    concept: NodeRef
    score: float
    addresses: list[AddressedCause]
    cases: list[MitigationCase]


class Recommendation(BaseModel):
    query: str
    no_good_match: bool
    similar: list[SimilarCase]
    likely_causes: list[LikelyCause]
    countermeasures: list[RecommendedCountermeasure]


def sign_evidence(G: nx.MultiDiGraph, query: Any, matches: Sequence[Any]) -> dict[str, list]:
    """Cause concept → one ``TextEvidence``: the incident's sentence sharing most of the
    matched sign's terms, with the match's strength relative to the best match (0..1].

    ``query`` is the search's prepared query (its tokens carry spans in the text), so the
    report is not analysed again; ``matches`` are ``graph.signs.SignMatch``."""
    out: dict[str, list[TextEvidence]] = {}
    if not matches:
        return out
    text = query.text
    bounds, pos = [], 0
    for sentence in split_sentences(text):
        start = text.find(sentence, pos)
        if start < 0:
            continue
        bounds.append((start, start + len(sentence), sentence))
        pos = start + len(sentence)
    top = max(m.score for m in matches)
    for m in matches:
        if m.concept not in G or G.nodes[m.concept].get("type") != CAUSE:
            continue
        shared = {}
        for t in query.tokens:
            if t.term in m.terms:
                for start, end, sentence in bounds:
                    if start <= t.start < end:
                        shared[sentence] = shared.get(sentence, 0) + 1
        sentence = max(shared, key=shared.get) if shared else (bounds[0][2] if bounds else text)
        out[m.concept] = [
            TextEvidence(sentence=sentence, confidence=m.score / top, why=f"sign: {m.sign}")
        ]
    return out


def likely_causes(
    G: nx.MultiDiGraph,
    tags: Mapping[str, list[TextEvidence]],
    response: Any,
    k: int = 5,
    alpha: float = 0.5,
    min_score: float = 0.05,
    weighting: str = "rank",
) -> list[LikelyCause]:
    """Likely causes given the text's evidence (``sign_evidence``) and the searcher's
    ``response`` for the same text (see module doc).

    ``weighting``: ``"rank"`` weighs the j-th neighbour by 1/j, ``"score"`` by its score.
    """
    if weighting not in ("score", "rank"):
        raise ValueError("weighting must be 'score' or 'rank'")
    neighbours = []
    if response is not None and not getattr(response, "no_good_match", False):
        for result in response.results:
            if result.case_id in G and len(neighbours) < k:
                w = 1.0 / (len(neighbours) + 1) if weighting == "rank" else float(result.score)
                neighbours.append((result.case_id, max(w, 0.0)))
    total = sum(w for _, w in neighbours)
    if total <= 0:  # all-zero scores: weigh the neighbours equally
        neighbours = [(c, 1.0) for c, _ in neighbours]
        total = float(len(neighbours))

    from_cases: dict[str, list[NeighbourEvidence]] = defaultdict(list)
    n_score: dict[str, float] = defaultdict(float)
    for case_id, weight in neighbours:
        for cause, d in case_causes(G, case_id).items():
            n_score[cause] += weight / total
            from_cases[cause].append(
                NeighbourEvidence(
                    case_id=case_id,
                    title=G.nodes[case_id]["label_ja"],
                    similarity=weight,
                    sentences=list(d["sentences"]),
                )
            )

    out = []
    for cause in set(tags) | set(n_score):
        t = max((e.confidence for e in tags.get(cause, [])), default=0.0)
        n = n_score.get(cause, 0.0)
        score = alpha * t + (1 - alpha) * n
        if score < min_score:
            continue
        out.append(
            LikelyCause(
                concept=ref(G, cause),
                score=score,
                text_score=t,
                neighbour_score=n,
                from_text=tags.get(cause, []),
                from_cases=from_cases.get(cause, []),
            )
        )
    out.sort(key=lambda c: (-c.score, c.concept.id))
    return out


def recommend_countermeasures(
    G: nx.MultiDiGraph, causes: list[LikelyCause], prefer_cases: list[str] = (), limit: int = 5
) -> list[RecommendedCountermeasure]:
    """Countermeasures that mitigate the likely causes, best first (see module doc)."""
    cause_score = {c.concept.id: c.score for c in causes}
    rank_of = {case_id: i for i, case_id in enumerate(prefer_cases)}
    scores: dict[str, float] = defaultdict(float)
    addresses: dict[str, list[AddressedCause]] = defaultdict(list)
    rows: dict[str, list[dict]] = defaultdict(list)
    for cause, s in cause_score.items():
        for cm, _, k, d in G.in_edges(cause, keys=True, data=True):
            if k != MITIGATES:
                continue
            scores[cm] += s * float(d["strength"])
            addresses[cm].append(
                AddressedCause(
                    cause=ref(G, cause),
                    cause_score=s,
                    strength=float(d["strength"]),
                    support_count=int(d["support_count"]),
                )
            )
            rows[cm].extend(d["evidence_pairs"])
    out = []
    for cm, score in scores.items():
        seen, cases = set(), []
        ordered = sorted(
            rows[cm], key=lambda r: (rank_of.get(r["case_id"], len(rank_of)), r["case_id"])
        )
        for r in ordered:
            key = (r["case_id"], r["countermeasure"], r["cause"])
            if key in seen:
                continue
            seen.add(key)
            cases.append(MitigationCase(title=G.nodes[r["case_id"]]["label_ja"], **r))
        out.append(
            RecommendedCountermeasure(
                concept=ref(G, cm),
                score=score,
                addresses=sorted(addresses[cm], key=lambda a: -a.cause_score * a.strength),
                cases=cases,
            )
        )
    out.sort(key=lambda r: (-r.score, r.concept.id))
    return out[:limit] if limit else out


def recommend(
    G: nx.MultiDiGraph,
    text: str,
    tags: Mapping[str, list[TextEvidence]],
    response: Any,
    k: int = 5,
    alpha: float = 0.5,
    limit_causes: int = 5,
    limit_countermeasures: int = 5,
    weighting: str = "rank",
) -> Recommendation:
    """Likely causes and recommended countermeasures for a pasted incident, with evidence.

    ``tags`` and ``response`` come from one search of ``text``
    (``graph.ranking.CauseAwareSearcher.analyse``): nothing is analysed or embedded again.
    """
    causes = likely_causes(G, tags, response, k=k, alpha=alpha, weighting=weighting)
    similar = [
        SimilarCase(case=ref(G, r.case_id), score=float(r.score), rank=i)
        for i, r in enumerate((r for r in response.results if r.case_id in G), start=1)
    ][:k]
    causes = causes[:limit_causes] if limit_causes else causes
    return Recommendation(
        query=text,
        no_good_match=bool(getattr(response, "no_good_match", False)),
        similar=similar,
        likely_causes=causes,
        countermeasures=recommend_countermeasures(
            G, causes, prefer_cases=[s.case.id for s in similar], limit=limit_countermeasures
        ),
    )
