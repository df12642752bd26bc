"""Request and response bodies at the HTTP edge. Case bodies are ``corpus.schema.Case``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from corpus.schema import Case, Theme, check_text
from graph.navigate import CaseNeighbourhood, NodeRef
from graph.recommend import LikelyCause, RecommendedCountermeasure
from search.confidence import PARTIAL_AT, STRONG_AT
from search.engine import Facet, JudgementReason, OutOfScope


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable error code, e.g. `validation_error`")
    message: str = Field(description="what went wrong, for a person")
    details: list[dict[str, Any]] | None = Field(
        default=None, description="per-field problems (validation errors only)"
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail


#: OpenAPI entries for the error responses every endpoint may give.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorResponse,
        "description": "malformed request (invalid JSON, not UTF-8, nested too deeply)",
    },
    408: {"model": ErrorResponse, "description": "the request body arrived too slowly"},
    413: {"model": ErrorResponse, "description": "request body over the size limit"},
    422: {
        "model": ErrorResponse,
        "description": "a field is missing, invalid or over a limit (including text with "
        "control characters or lone surrogates)",
    },
    429: {
        "model": ErrorResponse,
        "description": "too many requests from this address without the API key; see `Retry-After`",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    },
    500: {"model": ErrorResponse, "description": "server error (details only in the log)"},
    503: {
        "model": ErrorResponse,
        "description": "still starting, busy (search queue full), a search over its time "
        "limit, or a write that could not be indexed for a server-side reason; see "
        "`Retry-After` where given",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    },
}
NOT_FOUND = {404: {"model": ErrorResponse, "description": "no such id"}}
WRITE_ERRORS = {
    401: {"model": ErrorResponse, "description": "no API key given"},
    403: {"model": ErrorResponse, "description": "wrong API key, or writes disabled"},
    507: {
        "model": ErrorResponse,
        "description": "the disk holding the store is full: nothing was stored; see `Retry-After`",
    },
}


# -- search -------------------------------------------------------------------------------

FilterValue = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _clean(value):
    for item in value if isinstance(value, list) else (value,):
        if isinstance(item, str):
            check_text(item)
    return value


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="the incident as pasted (Japanese or English); 1..`max_query_chars` "
        "characters (default 5000)",
        examples=["夜間バッチが終わらず、朝のオンライン開始が遅れてATMが使えなかった。"],
    )
    k: int = Field(
        default=10,
        description="how many similar cases, an integer 1..`max_k` (default 100); a string, "
        "a boolean or a fraction is refused",
    )
    sectors: list[FilterValue] | None = Field(
        default=None, max_length=50, description="only cases of these sectors (labels)"
    )
    themes: list[FilterValue] | None = Field(
        default=None, max_length=50, description="only cases of these themes (ids or labels)"
    )

    @field_validator("text", "sectors", "themes")
    @classmethod
    def _clean_text(cls, value):
        return _clean(value)

    @field_validator("k", mode="before")
    @classmethod
    def _integer_only(cls, value):
        return _as_integer(value)


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(
        description="the change or work plan (Japanese or English); 1..`max_query_chars` "
        "characters (default 5000); its first 16 statements are reviewed one by one",
        examples=["来月、ATM監視サーバを新機種に入れ替える。データ移行は夜間に委託先が行う。"],
    )
    k: int = Field(default=10, description="how many similar past failures, 1..`max_k`")

    @field_validator("plan")
    @classmethod
    def _clean_plan(cls, value):
        return _clean(value)

    @field_validator("k", mode="before")
    @classmethod
    def _integer_only(cls, value):
        return _as_integer(value)


def _as_integer(value, name: str = "k"):
    """JSON numbers only: 5 and 5.0 (the same integer in JSON), not "5", true or 2.5."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{name} must be an integer")
    return int(value)


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


# -- feedback -----------------------------------------------------------------------------


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        description="the query as it was searched; 1..`max_query_chars` characters",
        examples=["夜間バッチが終わらず、朝のオンライン開始が遅れてATMが使えなかった。"],
    )
    case_id: str = Field(description="the judged case (it must exist)", max_length=64)
    grade: int = Field(
        default=2,
        description="2 similar (same mechanism; 「類似」), 1 partly similar, 0 not similar "
        "(「類似ではない」); an integer",
    )
    note: str = Field(default="", description="optional note, ≤ `max_note_chars` (2000)")

    @field_validator("query", "note")
    @classmethod
    def _clean_text(cls, value):
        return _clean(value)

    @field_validator("grade", mode="before")
    @classmethod
    def _grade(cls, value):
        grade = _as_integer(value, "grade")
        if grade not in (0, 1, 2):
            raise ValueError("grade must be 0, 1 or 2")
        return grade


class FeedbackItem(BaseModel):
    id: int
    query: str
    case_id: str
    grade: int
    note: str
    analyst: str | None = Field(description="who judged (None: anonymous)")
    created_at: str = Field(description="when, ISO 8601 UTC")
    case_exists: bool = Field(
        description="false once the case is deleted: the judgement is kept but ignored"
    )


class FeedbackWritten(FeedbackItem):
    replaced: bool = Field(
        description="true when it replaced this analyst's earlier judgement of the same "
        "query and case"
    )
    judgements: int = Field(description="judgements stored in all")


class FeedbackPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[FeedbackItem]


# -- cases --------------------------------------------------------------------------------


class CaseSummary(BaseModel):
    id: str
    title: str
    sectors: list[str]
    theme: Theme | None = None
    origin: str
    event_excerpt: str


class CasePage(BaseModel):
    total: int = Field(description="cases matching the filters")
    offset: int
    limit: int
    items: list[CaseSummary]


class CaseDetail(BaseModel):
    case: Case
    origin: str
    graph: CaseNeighbourhood | None = Field(
        default=None,
        description="its cause and countermeasure concepts (with sentences), similar cases "
        "and cases sharing a cause",
    )


class IngestResult(BaseModel):
    added: list[str]
    total_cases: int
    store_version: int


class DeleteResult(BaseModel):
    deleted: str
    total_cases: int
    store_version: int


# -- health -------------------------------------------------------------------------------


class Limits(BaseModel):
    max_request_bytes: int
    max_json_depth: int
    max_query_chars: int
    max_query_work_chars: int
    max_query_sentences: int
    max_k: int
    max_cases_per_request: int
    max_page_size: int
    max_offset: int
    max_depth: int
    search_workers: int
    search_queue: int
    search_timeout_s: float
    rate_limit_per_minute: int
    rate_limit_burst: int


class SkippedCase(BaseModel):
    id: str
    reason: str


class StoreState(BaseModel):
    state: Literal["ok", "unavailable", "full"]
    since: float | None = Field(default=None, description="when it started (epoch seconds)")
    reason: str | None = None


class Health(BaseModel):
    status: str = Field(
        description="`ok`, or `degraded` when stored cases are skipped, the saved index or "
        "graph had to be rebuilt (see `skipped_cases` and `events`), the store does not "
        "answer (`store_state`) or the newest snapshot could not be saved"
    )
    cases: int
    store_version: int
    snapshot_built_at: float
    snapshot_build_seconds: float
    graph: dict[str, int] | None = None
    writes_enabled: bool
    skipped_cases: list[SkippedCase] = Field(
        default_factory=list, description="stored cases that cannot be served, and why"
    )
    events: list[str] = Field(
        default_factory=list,
        description="problems met since start: corrupt snapshot files rebuilt, crash debris "
        "removed",
    )
    index_verified: bool | None = Field(
        default=None,
        description="the index files matched their checksums (false while a large index is "
        "still being checked in the background)",
    )
    store: str = Field(
        default="sqlite",
        description="`sqlite` (the file in the data dir) or `postgresql` (shared by several "
        "servers; the address is not shown)",
    )
    judgements: int = Field(default=0, description="analysts' judgements in the store")
    store_state: StoreState = Field(
        default_factory=lambda: StoreState(state="ok"),
        description="whether the store answers: `ok`, `unavailable` (searches are still "
        "served from memory; writes get 503) or `full` (the disk is full; writes get 507)",
    )
    snapshot_saved: bool = Field(
        default=True,
        description="false when the newest index/graph could not be saved (e.g. a full disk): "
        "nothing is lost (the store holds every write), but the next start rebuilds",
    )
    limits: Limits
