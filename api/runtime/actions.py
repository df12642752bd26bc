"""One function per thing a user asks of Kizuki with a text: ``POST /search``, the web
page and ``kizuki search`` all call ``search_incident``; ``kizuki graph recommend`` calls
``recommend``, which gives the likely causes a search shows; ``POST /review``, the review
page and ``kizuki review`` call ``review_plan``. Each answer is assembled here once.

Inputs are checked once, at each edge (the request models of the HTTP API and the web
page, the CLI's input rule): these functions take a text that is not empty and within the
limits, and ``k`` within its range. A text is analysed up to the settings' work limits
(``work_text``): the first ``max_query_work_chars`` characters and
``max_query_sentences`` sentences; the answer says when the rest was left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kizuki.api.runtime.filters import resolve_sectors, resolve_themes, resolve_years
from kizuki.api.runtime.reads import concept_refs
from kizuki.api.runtime.results import SearchHit, SearchResult, SharedTerm, Span
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.corpus.settings import Settings
from kizuki.graph.build import ADOPTED, HAS_CAUSE
from kizuki.graph.recommend import Recommendation, TextEvidence
from kizuki.graph.recommend import recommend as recommend_from
from kizuki.graph.review import Review, review
from kizuki.search.analysis import sentence_spans
from kizuki.search.engine import RankedCase, SearchResponse
from kizuki.search.feedback import FeedbackIndex

__all__ = [
    "LIMIT_CAUSES",
    "LIMIT_COUNTERMEASURES",
    "NEIGHBOURS",
    "Filters",
    "recommend",
    "resolve_filters",
    "review_plan",
    "search_incident",
    "work_text",
]

#: How many similar cases feed the likely-cause estimate, and how many causes and
#: countermeasures are shown.
NEIGHBOURS = 5
LIMIT_CAUSES = 5
LIMIT_COUNTERMEASURES = 5


@dataclass(frozen=True)
class Filters:
    """Only cases of these sectors (labels), themes (ids or labels) and editions' years;
    empty: all."""

    sectors: Sequence[str] = ()
    themes: Sequence[str] = ()
    years: Sequence[int] = ()


def resolve_filters(
    snap: Snapshot,
    sectors: Sequence[str] | None,
    themes: Sequence[str] | None,
    years: Sequence[int] | None = None,
) -> Filters:
    """A search's filters as the snapshot names them (``api.runtime.filters``): every
    caller of ``search_incident`` resolves them first, so an unknown value (a year of no
    stored edition included) is refused (``InvalidInput``) before any search work is
    queued."""
    return Filters(
        resolve_sectors(snap.sectors, sectors),
        resolve_themes(snap.themes, themes),
        resolve_years(snap.years, years),
    )


def work_text(text: str, max_chars: int, max_sentences: int) -> tuple[str, bool]:
    """The part of a pasted text that is analysed: at most ``max_chars`` characters and
    ``max_sentences`` sentences (``search.analysis.sentence_spans``), cut at a sentence end
    where one is in reach; and whether anything was left out. Bounds the work of one query
    whatever its length."""
    cut = len(text)
    ends = [end for _, end in sentence_spans(text)]
    if len(ends) >= max_sentences and ends[max_sentences - 1] < cut:
        cut = ends[max_sentences - 1]
    if cut > max_chars:
        within = [e for e in ends if e <= max_chars]
        cut = within[-1] if within and within[-1] >= max_chars // 2 else max_chars
    kept = text[:cut].rstrip()
    return kept, len(kept) < len(text.rstrip())


def _analysed(text: str, settings: Settings) -> tuple[str, bool]:
    return work_text(text.strip(), settings.max_query_work_chars, settings.max_query_sentences)


def search_incident(
    snap: Snapshot,
    text: str,
    k: int = 10,
    filters: Filters | None = None,
    judgements: FeedbackIndex | None = None,
    *,
    settings: Settings,
    scorer: str = "default",
) -> SearchResult:
    """Similar past cases for a pasted incident, best first, each explained, with the
    incident's likely causes and the countermeasures worth considering.

    ``judgements``: analysts' judgements; cases judged for similar earlier queries move,
    and say why (``search.feedback``). ``scorer``: the learned ranking (``default``) or
    one to compare it with (``rrf``, ``lexical``, ``dense``)."""
    text, truncated = _analysed(text, settings)
    ranker = snap.ranker if scorer == "default" else snap.ranker.with_scorer(scorer)
    filters = filters or Filters()
    # One analysis and one embedding for both panels; the likely causes read the best
    # NEIGHBOURS cases, so at least that many are ranked.
    ranked, tags = ranker.analyse(
        text,
        k=max(k, NEIGHBOURS),
        sectors=list(filters.sectors) or None,
        themes=list(filters.themes) or None,
        feedback=judgements,
        years=list(filters.years) or None,
    )
    causes = _recommend(snap, text, tags, ranked, NEIGHBOURS)
    return SearchResult(
        query=text,
        truncated=truncated,
        k=k,
        no_good_match=bool(ranked.no_good_match),
        confidence=round(float(ranked.confidence), 4),
        threshold=round(float(ranked.threshold), 4),
        match_strength=ranked.match_strength,
        results=[_hit(snap, r) for r in ranked.results[:k]],
        likely_causes=causes.likely_causes,
        recommended_countermeasures=causes.countermeasures,
        mechanisms=list(ranked.mechanisms),
        out_of_scope=ranked.out_of_scope,
        store_version=snap.store_version,
    )


def recommend(
    snap: Snapshot,
    text: str,
    k: int = NEIGHBOURS,
    judgements: FeedbackIndex | None = None,
    *,
    settings: Settings,
) -> Recommendation:
    """The likely root causes of a pasted incident and the countermeasures worth
    considering, with their evidence, read from its ``k`` most similar cases and its own
    sentences: with ``k=NEIGHBOURS``, the ``likely_causes`` and
    ``recommended_countermeasures`` that ``search_incident`` gives for the same text."""
    text, _ = _analysed(text, settings)
    ranked, tags = snap.ranker.analyse(text, k=max(k, NEIGHBOURS), feedback=judgements)
    return _recommend(snap, text, tags, ranked, k)


def _recommend(
    snap: Snapshot,
    text: str,
    tags: dict[str, list[TextEvidence]],
    ranked: SearchResponse,
    k: int,
) -> Recommendation:
    found = recommend_from(
        snap.graph,
        text,
        tags,
        ranked,
        k=k,
        limit_causes=LIMIT_CAUSES,
        limit_countermeasures=LIMIT_COUNTERMEASURES,
    )
    if ranked.out_of_scope is not None:
        # A text that reads like something the corpus does not cover (an account takeover,
        # a disaster, no incident at all) gets no causes asserted from the nearest cases.
        return found.model_copy(update={"likely_causes": [], "countermeasures": []})
    return found


def review_plan(snap: Snapshot, plan: str, k: int = 10) -> Review:
    """A planned change read against past failures (``graph.review``): the failures it
    risks repeating, the root causes its statements point to, and a checklist."""
    return review(snap.ranker, plan.strip(), k)


def _hit(snap: Snapshot, r: RankedCase) -> SearchHit:
    """A ranked case as the search answers it: the graph's concepts of the case added."""
    case = snap.by_id.get(r.case_id)
    return SearchHit(
        case_id=r.case_id,
        rank=r.rank,
        score=r.score,
        lexical_score=r.lexical_score,
        dense_score=r.dense_score,
        title=r.title,
        sectors=list(r.sectors),
        theme=case.theme if case else None,
        matched_fields=list(r.matched_fields),
        outside_match=r.outside_match,
        shared_terms=[
            SharedTerm(
                term=t.term,
                normalized=t.normalized,
                via_synonym=t.via_synonym,
                weight=t.weight,
                query_spans=[tuple(s) for s in t.query_spans],
                spans=[
                    Span(field=f, start=s, end=e)
                    for f, spans in t.case_spans.items()
                    for s, e in spans
                ],
            )
            for t in r.shared_terms
        ],
        causes=list(r.causes),
        countermeasures=list(r.countermeasures),
        cause_nodes=concept_refs(snap, r.case_id, HAS_CAUSE),
        countermeasure_nodes=concept_refs(snap, r.case_id, ADOPTED),
        feedback_units=r.feedback_units,
        feedback=list(r.feedback),
        shared_facets=list(r.shared_facets),
    )
