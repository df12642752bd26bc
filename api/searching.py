"""One search, as the API and the web page both run it: similar cases, explained, plus the
likely causes and recommended countermeasures for the pasted incident."""

from __future__ import annotations

import re

from api.errors import ApiError
from api.models import SearchHit, SearchRequest, SearchResult, SharedTerm, Span
from api.snapshot import Snapshot
from api.views import concept_refs
from corpus.settings import Settings
from graph.recommend import recommend
from search.feedback import FeedbackIndex

#: How many similar cases feed the likely-cause estimate, and how many causes and
#: countermeasures are shown.
NEIGHBOURS = 5
LIMIT_CAUSES = 5
LIMIT_COUNTERMEASURES = 5


#: Where a sentence ends (as ``graph.extract.split_sentences`` cuts).
_SENTENCE_END = re.compile(r"[。！？!?]+|\n+")


def work_text(text: str, max_chars: int, max_sentences: int) -> tuple[str, bool]:
    """The part of a pasted text that is analysed: at most ``max_chars`` characters and
    ``max_sentences`` sentences, cut at a sentence end where one is in reach; and whether
    anything was left out. Bounds the work of one query whatever its length."""
    cut = len(text)
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if len(ends) >= max_sentences and ends[max_sentences - 1] < cut:
        cut = ends[max_sentences - 1]
    if cut > max_chars:
        within = [e for e in ends if e <= max_chars]
        cut = within[-1] if within and within[-1] >= max_chars // 2 else max_chars
    kept = text[:cut].rstrip()
    return kept, len(kept) < len(text.rstrip())


def check_request(req: SearchRequest, settings: Settings) -> SearchRequest:
    """Limits that depend on the settings in force (422 with the limit in the message)."""
    if not req.text.strip():
        raise ApiError(
            422, "validation_error", "text: must not be empty", params={"kind": "empty_text"}
        )
    if len(req.text) > settings.max_query_chars:
        raise ApiError(
            422,
            "text_too_long",
            f"text: {len(req.text)} characters; the limit is {settings.max_query_chars}",
            params={"length": len(req.text), "limit": settings.max_query_chars},
        )
    if not 1 <= req.k <= settings.max_k:
        raise ApiError(
            422,
            "validation_error",
            f"k: must be between 1 and {settings.max_k}",
            params={"kind": "k_range", "max_k": settings.max_k},
        )
    return req


def redact_judgements(result: SearchResult) -> SearchResult:
    """The result as a reader without the API key may see it: each moved case says that an
    analyst judged it, never by whom, for which text, or when."""
    if not any(hit.feedback for hit in result.results):
        return result
    hits = [
        hit.model_copy(update={"feedback": [f.redacted() for f in hit.feedback]})
        if hit.feedback
        else hit
        for hit in result.results
    ]
    return result.model_copy(update={"results": hits})


def run_search(
    snap: Snapshot,
    req: SearchRequest,
    settings: Settings | None = None,
    feedback: FeedbackIndex | None = None,
) -> SearchResult:
    """``feedback``: analysts' judgements; cases judged for similar earlier queries move,
    and say why (``search.feedback``)."""
    text, truncated = req.text.strip(), False
    if settings is not None:
        text, truncated = work_text(
            text, settings.max_query_work_chars, settings.max_query_sentences
        )
    ranker = snap.ranker
    sectors, themes = req.sectors or None, req.themes or None
    depth = max(req.k, NEIGHBOURS)  # the likely causes read the best NEIGHBOURS cases
    if hasattr(ranker, "analyse"):  # one analysis and one embedding for both panels
        full, tags = ranker.analyse(
            text, k=depth, sectors=sectors, themes=themes, feedback=feedback
        )
    else:
        full = ranker.search(text, k=depth, sectors=sectors, themes=themes, feedback=feedback)
        tags = {}
    response = full.model_copy(update={"results": full.results[: req.k]})
    hits = []
    for r in response.results:
        case = snap.by_id.get(r.case_id)
        hits.append(
            SearchHit(
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
                cause_nodes=concept_refs(snap, r.case_id, "has_cause"),
                countermeasure_nodes=concept_refs(snap, r.case_id, "adopted"),
                feedback_units=r.feedback_units,
                feedback=list(r.feedback),
                shared_facets=list(r.shared_facets),
            )
        )
    likely, cms = [], []
    # A text that reads like something the corpus does not cover (an account takeover, a
    # disaster, no incident at all) gets no causes asserted from the nearest cases.
    if snap.graph is not None and full.out_of_scope is None:
        rec = recommend(
            snap.graph,
            text,
            tags,
            full,
            k=NEIGHBOURS,
            limit_causes=LIMIT_CAUSES,
            limit_countermeasures=LIMIT_COUNTERMEASURES,
        )
        likely, cms = rec.likely_causes, rec.countermeasures
    return SearchResult(
        query=text,
        truncated=truncated,
        k=req.k,
        no_good_match=bool(response.no_good_match),
        confidence=round(float(response.confidence), 4),
        threshold=round(float(response.threshold), 4),
        match_strength=response.match_strength,
        results=hits,
        likely_causes=likely,
        recommended_countermeasures=cms,
        mechanisms=list(full.mechanisms),
        out_of_scope=full.out_of_scope,
        store_version=snap.store_version,
    )
