"""Cases: list, read, ingest (durable, indexed and linked without a restart), delete."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from kizuki.api.exceptions import IndexingFailed, InvalidInput, NotIndexable
from kizuki.api.http.dependencies import ServiceDep, SettingsDep, SnapshotDep, WriteAccess
from kizuki.api.http.errors import ApiError, validation_details, validation_message
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import (
    ERROR_RESPONSES,
    NOT_FOUND,
    WRITE_ERRORS,
    CaseDetail,
    CaseEnglish,
    CasePage,
    DeleteResult,
    ErrorResponse,
    IngestResult,
)
from kizuki.api.runtime import reads
from kizuki.corpus.outside import english_case
from kizuki.corpus.schema import CASE_ID_PATTERN, MAX_ID_CHARS, Case
from kizuki.corpus.store import DuplicateCaseError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

__all__ = ["cases_from", "router"]

router = APIRouter(tags=["cases"], responses=ERROR_RESPONSES, route_class=JsonRoute)

CaseId = Annotated[str, Path(description="case id, e.g. `fsa2019-01`", max_length=MAX_ID_CHARS)]


@router.get("/cases", response_model=CasePage, summary="List cases (paged, filterable)")
def list_cases(
    snap: SnapshotDep,
    settings: SettingsDep,
    offset: Annotated[
        int, Query(ge=0, description="skip this many matching cases (≤ `max_offset`)")
    ] = 0,
    limit: Annotated[int, Query(ge=1, description="page size (1..`max_page_size`, 200)")] = 50,
    sector: Annotated[
        str | None,
        Query(max_length=200, description="only this sector (as in /analytics; unknown: 422)"),
    ] = None,
    theme: Annotated[
        str | None,
        Query(max_length=200, description="only this theme (as in /analytics; unknown: 422)"),
    ] = None,
    origin: Annotated[
        str | None, Query(max_length=50, description="`seed`, `import` or `api`")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="substring of title, event, causes...")
    ] = None,
) -> CasePage:
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit: at most {settings.max_page_size} cases per page")
    if offset > settings.max_offset:
        raise InvalidInput(f"offset: at most {settings.max_offset}")
    matching = reads.filter_cases(snap, sector=sector, theme=theme, origin=origin, q=q)
    page = matching[offset : offset + limit]
    return CasePage(
        total=len(matching),
        offset=offset,
        limit=limit,
        items=[reads.case_summary(snap, case) for case in page],
    )


@router.get(
    "/cases/{case_id}",
    response_model=CaseDetail,
    responses=NOT_FOUND,
    summary="One case with its linked cause and countermeasure nodes",
)
def get_case(case_id: CaseId, snap: SnapshotDep) -> CaseDetail:
    case = reads.require_case(snap, case_id)
    english = english_case(case)
    return CaseDetail(
        case=case,
        origin=snap.origins.get(case.id, ""),
        english=CaseEnglish(**asdict(english)) if english else None,
        graph=reads.case_graph(snap, case.id),
    )


_CASE_BODY_SCHEMA = {
    "oneOf": [
        {"$ref": "#/components/schemas/Case"},
        {"type": "array", "items": {"$ref": "#/components/schemas/Case"}},
    ]
}


@router.post(
    "/cases",
    status_code=201,
    response_model=IngestResult,
    dependencies=[WriteAccess],
    responses={
        **WRITE_ERRORS,
        409: {"model": ErrorResponse, "description": "a case id already exists"},
    },
    summary="Add one case or a list of cases (needs the API key)",
    description=(
        "The body is one case or a JSON array of cases in the corpus schema. The batch is "
        "validated — including everything derived from it: the index and the graph are "
        "built with the new cases first — then committed to the store in one transaction "
        "(all or nothing) and served before the response is sent: the next search sees it. "
        "A batch that cannot be indexed or linked is refused with 422 `not_indexable` and "
        "nothing is stored. Case ids: 1-64 of `[A-Za-z0-9_.-]`, starting with a letter or "
        "digit, not starting with `cause.`, `cm.`, `sector.` or `theme.` (the graph's other "
        "node types), never trimmed. "
        "At most `max_cases_per_request` (1000) cases and `max_request_bytes` (2 MB) per request."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _CASE_BODY_SCHEMA}},
        }
    },
)
async def add_cases(request: Request, service: ServiceDep, settings: SettingsDep) -> IngestResult:
    payload = await request.json()  # bounded by the body-size middleware; parse_json
    cases = cases_from(payload, settings.max_cases_per_request)
    try:
        snap = await run_in_threadpool(service.add_cases, cases)
    except DuplicateCaseError as exc:
        raise ApiError(409, "duplicate_case", str(exc)) from None
    except NotIndexable as exc:
        raise ApiError(
            422,
            "not_indexable",
            f"nothing was stored: the cases cannot be indexed or linked into the graph ({exc})",
        ) from None
    except IndexingFailed:
        raise ApiError(
            503,
            "indexing_failed",
            "nothing was stored: the index could not be updated (server side); retry later",
            headers={"Retry-After": "5"},
        ) from None
    return IngestResult(
        added=[case.id for case in cases],
        total_cases=len(snap.cases),
        store_version=snap.store_version,
    )


def cases_from(payload: Any, max_cases: int) -> list[Case]:
    """A parsed body → validated cases, with errors that name the case and field at fault."""
    single = isinstance(payload, dict)
    items = [payload] if single else payload
    if not isinstance(items, list):
        raise ApiError(
            422, "validation_error", "body must be a case object or a JSON array of cases"
        )
    if not items:
        raise ApiError(422, "validation_error", "the list of cases is empty")
    if len(items) > max_cases:
        raise ApiError(
            422,
            "too_many_cases",
            f"{len(items)} cases in one request; the limit is {max_cases}",
        )
    cases, details = [], []
    for i, item in enumerate(items):
        try:
            cases.append(Case.model_validate(item))
        except ValidationError as exc:
            for d in validation_details(exc.errors()):
                prefix = "case" if single else f"cases[{i}]"
                field = d["field"] if d["field"] != "request" else ""
                d["field"] = f"{prefix}.{field}" if field else prefix
                details.append(d)
    if details:
        raise ApiError(422, "validation_error", validation_message(details)).with_details(details)
    return cases


@router.delete(
    "/cases/{case_id}",
    response_model=DeleteResult,
    dependencies=[WriteAccess],
    responses={**WRITE_ERRORS, **NOT_FOUND},
    summary="Delete one case (needs the API key)",
)
def delete_case(case_id: CaseId, service: ServiceDep) -> DeleteResult:
    # an id no case can have is not looked for in the store
    deleted = False
    try:
        if CASE_ID_PATTERN.fullmatch(case_id):
            deleted = service.delete_case(case_id)
    except (IndexingFailed, NotIndexable):
        raise ApiError(
            503,
            "indexing_failed",
            "nothing was deleted: the index could not be updated; retry later",
            headers={"Retry-After": "5"},
        ) from None
    if not deleted:
        raise ApiError(404, "case_not_found", f"no case with id {case_id!r}")
    snap = service.snapshot
    return DeleteResult(
        deleted=case_id, total_cases=len(snap.cases), store_version=snap.store_version
    )
