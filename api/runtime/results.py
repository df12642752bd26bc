"""What a search answers, as the HTTP API, the web page and the CLI give it.

``search.engine`` ranks and explains each case (``RankedCase``); a search of the product
adds what the graph knows: the likely causes and recommended countermeasures of the pasted
incident, and each result's cause and countermeasure concepts. These models are that
answer (``api.runtime.actions.search_incident`` builds it), and the JSON schema of
``POST /search``.
"""

from __future__ import annotations

from typing import Literal

from kizuki.corpus.schema import Theme
from kizuki.graph.navigate import NodeRef
from kizuki.graph.recommend import LikelyCause, RecommendedCountermeasure
from kizuki.search.confidence import PARTIAL_AT, STRONG_AT
from kizuki.search.engine import Facet, JudgementReason, OutOfScope
from pydantic import BaseModel, Field

__all__ = ["SearchHit", "SearchResult", "SharedTerm", "Span"]


class Span(BaseModel):
    field: str = Field(
        description="`title`, `event`, `causes`, `countermeasures`, `sectors`, `theme` or "
        "`outside` (the hit's `outside_match`)"
    )
    start: int = Field(
        description="offset in that field's text as `search.index.case_fields` gives it "
        "(causes/countermeasures joined by \\n, sectors by 、, the theme's label; for "
        "`outside`, in `outside_match`)"
    )
    end: int


class SharedTerm(BaseModel):
    term: str = Field(description="as written in the query")
    normalized: str
    via_synonym: bool
    weight: float = Field(description="BM25 idf: rarer terms say more")
    query_spans: list[tuple[int, int]]
    spans: list[Span] = Field(description="where the term occurs in the case")


class SearchHit(BaseModel):
    case_id: str
    rank: int
    score: float = Field(
        description="the learned ranking's score: it orders the results of this search "
        "and means nothing across searches (see `confidence` for how good the best match is)"
    )
    lexical_score: float = Field(description="BM25 of the case text for this query")
    dense_score: float = Field(description="cosine similarity of the case vector and the query")
    title: str
    sectors: list[str]
    theme: Theme | None = None
    matched_fields: list[str]
    outside_match: str | None = Field(
        default=None,
        description="the case's outside view (how such a failure looks from outside, "
        "written by Kizuki's team, not the report's text) that shares most terms with the "
        "query, when the match came partly through one",
    )
    shared_terms: list[SharedTerm]
    causes: list[str]
    countermeasures: list[str]
    cause_nodes: list[NodeRef] = Field(description="the case's cause concepts in the graph")
    countermeasure_nodes: list[NodeRef]
    feedback_units: float = Field(
        default=0.0,
        description="how far analysts' judgements of similar earlier queries moved this case "
        "(units of this search's score spread, best to tenth; + boosted, - demoted, 0 not)",
    )
    feedback: list[JudgementReason] = Field(
        default_factory=list, description="the earlier judgements that moved it, and why"
    )
    shared_facets: list[Facet] = Field(
        default_factory=list,
        description="mechanism facets the pasted text and this case both show (e.g. safeguard "
        "`redundancy_failover`: a failover that did not happen), read from the text and "
        "from the case's reviewed facets (bundled cases) or its own text",
    )


class SearchResult(BaseModel):
    query: str = Field(description="the text that was analysed (see `truncated`)")
    truncated: bool = Field(
        default=False,
        description="true when only the first `max_query_work_chars` characters / "
        "`max_query_sentences` sentences of the text were analysed",
    )
    k: int
    no_good_match: bool = Field(
        description="true when no case is a real analogue (`confidence` < `threshold`; "
        "`match_strength` is then `none`)"
    )
    confidence: float = Field(
        description="estimated probability (0..1) that the corpus holds a real analogue of "
        "the text; calibrated on graded queries, comparable across searches"
    )
    threshold: float = Field(
        description="the operating point: below this `confidence` the answer is 'no good match'"
    )
    match_strength: Literal["strong", "partial", "weak", "none"] = Field(
        description=f"`confidence` graded: `strong` (≥ {STRONG_AT:.2f}), `partial` "
        f"(≥ {PARTIAL_AT:.2f}), `weak` (≥ `threshold`), `none` (below it: no good match)"
    )
    results: list[SearchHit]
    likely_causes: list[LikelyCause] = Field(
        description="likely root causes of the pasted incident, with evidence"
    )
    recommended_countermeasures: list[RecommendedCountermeasure]
    mechanisms: list[Facet] = Field(
        default_factory=list,
        description="the mechanism facets the text reads as (trigger, failed safeguard, "
        "service, how it showed, recovery problem; `search/data/facets.yaml`)",
    )
    out_of_scope: OutOfScope | None = Field(
        default=None,
        description="set when the text reads more like a kind of incident the corpus does not "
        "cover (cyber attack, account takeover, payment fraud, theft of assets, natural "
        "disaster, insider misconduct, data leak) or like no incident at all; no likely "
        "causes are asserted then",
    )
    store_version: int

    def redacted(self) -> SearchResult:
        """The result as a reader without the API key may see it: each moved case says
        that an analyst judged it, never by whom, for which text, or when."""
        if not any(hit.feedback for hit in self.results):
            return self
        hits = [
            hit.model_copy(update={"feedback": [f.redacted() for f in hit.feedback]})
            if hit.feedback
            else hit
            for hit in self.results
        ]
        return self.model_copy(update={"results": hits})
