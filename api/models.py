"""Request and response bodies at the HTTP edge. Case bodies are ``corpus.schema.Case``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from corpus.schema import Case, Theme
from graph.navigate import CaseNeighbourhood, NodeRef
from graph.recommend import LikelyCause, RecommendedCountermeasure


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
    400: {"model": ErrorResponse, "description": "malformed request (e.g. invalid JSON)"},
    413: {"model": ErrorResponse, "description": "request body over the size limit"},
    422: {"model": ErrorResponse, "description": "a field is missing, invalid or over a limit"},
    500: {"model": ErrorResponse, "description": "server error (details only in the log)"},
}
NOT_FOUND = {404: {"model": ErrorResponse, "description": "no such id"}}
WRITE_ERRORS = {
    401: {"model": ErrorResponse, "description": "no API key given"},
    403: {"model": ErrorResponse, "description": "wrong API key, or writes disabled"},
}


# -- search -------------------------------------------------------------------------------

FilterValue = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="the incident as pasted (Japanese or English); 1..`max_query_chars` "
        "characters (default 5000)",
        examples=["夜間バッチが終わらず、朝のオンライン開始が遅れてATMが使えなかった。"],
    )
    k: int = Field(default=10, description="how many similar cases, 1..`max_k` (default 100)")
    sectors: list[FilterValue] | None = Field(
        default=None, max_length=50, description="only cases of these sectors (labels)"
    )
    themes: list[FilterValue] | None = Field(
        default=None, max_length=50, description="only cases of these themes (ids or labels)"
    )


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
    score: float
    lexical_score: float
    dense_score: float
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


class SearchResult(BaseModel):
    query: str
    k: int
    no_good_match: bool = Field(description="true when no case is a real analogue")
    confidence: float
    results: list[SearchHit]
    likely_causes: list[LikelyCause] = Field(
        description="likely root causes of the pasted incident, with evidence"
    )
    recommended_countermeasures: list[RecommendedCountermeasure]
    store_version: int


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
    max_query_chars: int
    max_k: int
    max_cases_per_request: int
    max_page_size: int
    max_depth: int


class Health(BaseModel):
    status: str
    cases: int
    store_version: int
    snapshot_built_at: float
    snapshot_build_seconds: float
    graph: dict[str, int] | None = None
    writes_enabled: bool
    limits: Limits
