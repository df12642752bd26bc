"""Request and response bodies at the HTTP edge. Case bodies are ``corpus.schema.Case``;
a search's answer is the runtime's (``api.runtime.results``), and so is a case summary.

The requests are checked here, once: their fields by pydantic (types, lengths, clean text:
no control characters, no lone surrogates), then against the limits in force
(``within(settings)``: an empty text, a text over ``max_query_chars``, ``k`` out of
range), raising ``api.exceptions.InvalidInput`` (422). The JSON API and the web page both
check their requests here; the runtime's use cases take them as checked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from kizuki.api.exceptions import InvalidInput
from kizuki.api.runtime.reads import CaseSummary
from kizuki.api.runtime.results import SearchHit, SearchResult, SharedTerm, Span
from kizuki.corpus.schema import Case, check_text
from kizuki.corpus.settings import Settings
from kizuki.graph.navigate import CaseNeighbourhood
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

__all__ = [
    "ERROR_RESPONSES",
    "NOT_FOUND",
    "WRITE_ERRORS",
    "CaseDetail",
    "CasePage",
    "CaseSummary",
    "DeleteResult",
    "ErrorResponse",
    "FeedbackItem",
    "FeedbackPage",
    "FeedbackRequest",
    "FeedbackWritten",
    "Health",
    "IngestResult",
    "Limits",
    "ReviewRequest",
    "SearchHit",
    "SearchRequest",
    "SearchResult",
    "SharedTerm",
    "SkippedCase",
    "Span",
    "StoreState",
]


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


def _as_integer(value):
    """JSON numbers only: 5 and 5.0 (the same integer in JSON), not "5", true or 2.5."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be an integer")
    return int(value)


def _as_year(value):
    """A year is a JSON integer, like ``k``."""
    return _as_integer(value)


#: Text without control characters (other than tab and line breaks) or lone surrogates.
CleanText = Annotated[str, AfterValidator(_clean)]
#: ``k``: a JSON integer (``_as_integer``).
JsonK = Annotated[int, BeforeValidator(_as_integer)]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: CleanText = Field(
        description="the incident as pasted (Japanese or English); 1..`max_query_chars` "
        "characters (default 5000)",
        examples=["夜間バッチが終わらず、朝のオンライン開始が遅れてATMが使えなかった。"],
    )
    k: JsonK = Field(
        default=10,
        description="how many similar cases, an integer 1..`max_k` (default 100); a string, "
        "a boolean or a fraction is refused",
    )
    sectors: Annotated[list[FilterValue] | None, AfterValidator(_clean)] = Field(
        default=None,
        max_length=50,
        description="only cases of these sectors (labels or `sector.` ids); an unknown one is 422",
    )
    themes: Annotated[list[FilterValue] | None, AfterValidator(_clean)] = Field(
        default=None,
        max_length=50,
        description="only cases of these themes (ids, labels or `theme.` ids); an unknown one is 422",
    )
    years: list[Annotated[int, Field(ge=1990, le=2100), BeforeValidator(_as_year)]] | None = Field(
        default=None,
        max_length=50,
        description="only cases of the report editions of these years (e.g. [2019, 2024])",
    )

    def within(self, settings: Settings) -> SearchRequest:
        """This request, checked against the limits in force (``InvalidInput``); the
        page words these errors by their ``kind``."""
        _check_text("text", self.text, settings, kind="empty_text")
        _check_k(self.k, settings, kind="k_range")
        return self


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: CleanText = Field(
        description="the change or work plan (Japanese or English); 1..`max_query_chars` "
        "characters (default 5000); its first 16 statements are reviewed one by one",
        examples=["来月、ATM監視サーバを新機種に入れ替える。データ移行は夜間に委託先が行う。"],
    )
    k: JsonK = Field(default=10, description="how many similar past failures, 1..`max_k`")

    def within(self, settings: Settings) -> ReviewRequest:
        """This request, checked against the limits in force, its plan stripped."""
        plan = self.plan.strip()
        _check_text("plan", plan, settings)
        _check_k(self.k, settings)
        return self.model_copy(update={"plan": plan})


def _check_text(field: str, text: str, settings: Settings, kind: str | None = None) -> None:
    if not text.strip():
        raise InvalidInput(f"{field}: must not be empty", params={"kind": kind} if kind else None)
    if len(text) > settings.max_query_chars:
        raise InvalidInput(
            f"{field}: {len(text)} characters; the limit is {settings.max_query_chars}",
            "text_too_long",
            {"length": len(text), "limit": settings.max_query_chars},
        )


def _check_k(k: int, settings: Settings, kind: str | None = None) -> None:
    if not 1 <= k <= settings.max_k:
        params = {"kind": kind, "max_k": settings.max_k} if kind else None
        raise InvalidInput(f"k: must be between 1 and {settings.max_k}", params=params)


# -- feedback -----------------------------------------------------------------------------


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: CleanText = Field(
        description="the query as it was searched; 1..`max_query_chars` characters",
        examples=["夜間バッチが終わらず、朝のオンライン開始が遅れてATMが使えなかった。"],
    )
    case_id: str = Field(description="the judged case (it must exist)", max_length=64)
    grade: int = Field(
        default=2,
        description="2 similar (same mechanism; 「類似」), 1 partly similar, 0 not similar "
        "(「類似ではない」); an integer",
    )
    note: CleanText = Field(default="", description="optional note, ≤ `max_note_chars` (2000)")

    @field_validator("grade", mode="before")
    @classmethod
    def _grade(cls, value):
        grade = _as_integer(value)
        if grade not in (0, 1, 2):
            raise ValueError("must be 0, 1 or 2")
        return grade

    def within(self, settings: Settings) -> FeedbackRequest:
        """This judgement, checked against the limits in force, query and note stripped."""
        _check_text("query", self.query, settings)
        if len(self.note) > settings.max_note_chars:
            raise InvalidInput(f"note: at most {settings.max_note_chars} characters")
        return self.model_copy(update={"query": self.query.strip(), "note": self.note.strip()})


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


class CasePage(BaseModel):
    total: int = Field(description="cases matching the filters")
    offset: int
    limit: int
    items: list[CaseSummary]


class CaseEnglish(BaseModel):
    """The Kizuki team's English translation of a bundled case (not the FSA's text)."""

    title: str
    event: str
    causes: list[str] = Field(description="the i-th translates the case's i-th cause")
    countermeasures: list[str] = Field(
        description="the i-th translates the case's i-th countermeasure"
    )


class CaseDetail(BaseModel):
    case: Case
    origin: str
    english: CaseEnglish | None = Field(
        default=None,
        description="the Kizuki team's English translation of a bundled case (the Japanese "
        "`case` is the record); null for an imported or edited case",
    )
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
