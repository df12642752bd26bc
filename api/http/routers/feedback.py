"""``POST /feedback`` and ``GET /feedback``: analysts' judgements on search results.

A judgement is stored durably (``corpus.feedback``), then moves the ranking of similar
later queries (``search.feedback``), and the export is the team's own eval set
(``GET /feedback?format=jsonl``, loaded by ``kizuki eval --queries``).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from kizuki.api.exceptions import InvalidInput
from kizuki.api.http.dependencies import (
    JudgementsDep,
    SettingsDep,
    SnapshotDep,
    WriteAccess,
    require_api_key,
)
from kizuki.api.http.errors import ApiError
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import (
    ERROR_RESPONSES,
    NOT_FOUND,
    WRITE_ERRORS,
    ErrorResponse,
    FeedbackItem,
    FeedbackPage,
    FeedbackRequest,
    FeedbackWritten,
)
from kizuki.api.http.openapi import ANALYST_PATTERN
from kizuki.api.runtime.reads import require_case
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.corpus.feedback import FeedbackLimit, Judgement, eval_rows
from kizuki.corpus.schema import text_problem
from kizuki.corpus.settings import Settings
from starlette.concurrency import run_in_threadpool

__all__ = ["router"]

router = APIRouter(tags=["feedback"], responses=ERROR_RESPONSES, route_class=JsonRoute)

#: The header naming the analyst (UTF-8, percent-encoded where it is not ASCII).
ANALYST_HEADER = "X-Kizuki-Analyst"
#: What the header may hold: printable ASCII (as the OpenAPI schema declares).
ANALYST_RULE = re.compile(ANALYST_PATTERN)

AnalystHeader = Annotated[
    str | None,
    Header(
        alias=ANALYST_HEADER,
        description="who judges (optional; UTF-8, percent-encoded where not ASCII)",
    ),
]


def check_write(settings: Settings, x_api_key: str | None, authorization: str | None) -> bool:
    """The key, as for every write; with ``anonymous_feedback`` a request without one is
    accepted too (a wrong key is still refused). True when the request is anonymous."""
    if settings.anonymous_feedback and not x_api_key and not authorization:
        return True
    require_api_key(settings, x_api_key, authorization)
    return False


def analyst_name(raw: str | None, settings: Settings) -> str | None:
    """The analyst header: printable ASCII (non-ASCII names percent-encoded as UTF-8), at
    most ``max_analyst_chars``; decoded when it decodes to clean text, else kept as sent.
    None when absent or blank."""
    if raw is None:
        return None
    if len(raw) > settings.max_analyst_chars or not ANALYST_RULE.fullmatch(raw):
        raise ApiError(
            422,
            "validation_error",
            f"{ANALYST_HEADER}: at most {settings.max_analyst_chars} printable ASCII "
            "characters (percent-encode a name in UTF-8)",
        )
    try:
        name = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        name = raw
    if text_problem(name) or any(c in name for c in "\n\r\t"):
        name = raw
    return name.strip() or None


def item(j: Judgement, snap: Snapshot) -> dict:
    return {
        "id": j.id,
        "query": j.query,
        "case_id": j.case_id,
        "grade": j.grade,
        "note": j.note,
        "analyst": j.analyst,
        "created_at": j.iso_time(),
        "case_exists": j.case_id in snap.by_id,
    }


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackWritten,
    responses={
        **WRITE_ERRORS,
        **NOT_FOUND,
        429: {
            "model": ErrorResponse,
            "description": "this analyst's judgements per hour are used up; see `Retry-After`",
        },
    },
    summary="Judge a search result: similar (grade 2 or 1) or not (0) (needs the API key)",
    description=(
        "Stores the judgement durably (committed before the answer), then later searches "
        "with a similar query move the case (boost for grade ≥ 1, demotion for 0) and say "
        "why. Needs the API key, unless the server runs with "
        "`KIZUKI_ANONYMOUS_FEEDBACK=true`. The analyst is named by the optional "
        f"`{ANALYST_HEADER}` header; a request without the key is the one anonymous "
        "analyst, whatever the header says. An analyst's latest judgement of a query and case "
        "replaces the earlier one; at most `feedback_per_hour` (120) judgements per analyst "
        "per hour (429) and `feedback_per_query` (20) judged cases per analyst and query "
        "(422). An unknown case id is 404."
    ),
)
async def add_feedback(
    req: FeedbackRequest,
    book: JudgementsDep,
    snap: SnapshotDep,
    settings: SettingsDep,
    analyst: AnalystHeader = None,
    x_api_key: Annotated[str | None, Header(description="API key for writes")] = None,
    authorization: Annotated[str | None, Header(description="`Bearer <API key>`")] = None,
) -> FeedbackWritten:
    anonymous = check_write(settings, x_api_key, authorization)
    # Without the key nobody is anybody: every anonymous judgement belongs to the one
    # anonymous analyst (its cap shared), whatever name the header claims.
    name = None if anonymous else analyst_name(analyst, settings)
    req = req.within(settings)
    require_case(snap, req.case_id)  # 404 for a case the snapshot does not hold
    try:
        row, replaced = await run_in_threadpool(
            book.add, req.query, req.case_id, req.grade, req.note, name
        )
    except FeedbackLimit as exc:
        if exc.retry_after is not None:
            raise ApiError(
                429, "feedback_limit", str(exc), headers={"Retry-After": str(exc.retry_after)}
            ) from None
        raise ApiError(422, "feedback_limit", str(exc)) from None
    total = await run_in_threadpool(book.count)
    return FeedbackWritten(**item(row, snap), replaced=replaced, judgements=total)


@router.get(
    "/feedback",
    response_model=FeedbackPage,
    dependencies=[WriteAccess],
    responses={
        **WRITE_ERRORS,
        200: {
            "description": "a page of judgements (JSON), or with `format=jsonl` every judged "
            "query as an eval-set row (`id`, `query`, `relevant`)",
            "content": {"application/x-ndjson": {}},
        },
    },
    summary="The judgements, paged; or the team's eval set (`format=jsonl`) (needs the API key)",
    description=(
        "Judgements oldest first. `format=jsonl` exports every judged query as one line "
        "of the eval sets' format — `id`, `query`, `relevant` (case → grade, the rounded "
        "mean of its analysts' latest grades, grades ≥ 1 only), plus `not_relevant` — "
        "which `kizuki eval --queries FILE` loads. A query judged only 'not similar' has "
        "no line. Reading needs the API key: the texts are the institution's incidents."
    ),
)
def list_feedback(
    book: JudgementsDep,
    snap: SnapshotDep,
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0, description="skip this many judgements")] = 0,
    limit: Annotated[int, Query(ge=1, description="page size (1..`max_page_size`, 200)")] = 50,
    format: Annotated[
        Literal["json", "jsonl"], Query(description="`json` (a page) or `jsonl` (eval set)")
    ] = "json",
    query: Annotated[
        str | None,
        Query(
            max_length=5_000,
            description="only the judgements of exactly this query text (the web page asks "
            "for its own search's, with the key)",
        ),
    ] = None,
):
    if query is not None and format == "json":
        rows = book.for_query(query)
        return FeedbackPage(
            total=len(rows),
            offset=0,
            limit=max(1, len(rows)),
            items=[FeedbackItem(**item(j, snap)) for j in rows],
        )
    if format == "jsonl":
        lines = [json.dumps(row, ensure_ascii=False) for row in eval_rows(book.all())]
        return Response(
            "".join(line + "\n" for line in lines),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="kizuki-feedback.jsonl"'},
        )
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit: at most {settings.max_page_size} per page")
    if offset > settings.max_offset:
        raise InvalidInput(f"offset: at most {settings.max_offset}")
    total, rows = book.page(limit, offset)
    return FeedbackPage(
        total=total, offset=offset, limit=limit, items=[FeedbackItem(**item(j, snap)) for j in rows]
    )
