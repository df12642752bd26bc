"""``POST /search``: similar cases for a pasted incident, explained, with likely causes."""

from __future__ import annotations

from fastapi import APIRouter
from kizuki.api.http.dependencies import JudgementsDep, KeyHeld, PoolDep, SettingsDep, SnapshotDep
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ERROR_RESPONSES, SearchRequest, SearchResult
from kizuki.api.runtime.actions import resolve_filters, search_incident

__all__ = ["router"]

router = APIRouter(tags=["search"], responses=ERROR_RESPONSES, route_class=JsonRoute)


@router.post(
    "/search",
    response_model=SearchResult,
    summary="Similar cases, likely causes and recommended countermeasures for an incident",
    description=(
        "Ranks the stored cases against the pasted text (BM25 over Sudachi terms + dense "
        "embeddings + the graph's cause-aware list, fused). Each result explains itself: "
        "score, matched fields and the shared terms with their spans in the case's fields "
        "(list fields are joined by newlines). `no_good_match` is true when no case stands "
        "out as a real analogue. Limits: `text` 1..5000 characters, of which the first 1500 "
        "characters and 16 sentences are analysed (`truncated` says so), `k` 1..100 "
        "(defaults; see `GET /health`). Searches run on a bounded pool: 503 with "
        "`Retry-After` when it is full or a search runs over its time limit. A result "
        "moved by analysts' judgements says so in `feedback`; the judged query, the "
        "analyst and the date are shown only to a request with the API key."
    ),
)
async def search(
    req: SearchRequest,
    snap: SnapshotDep,
    settings: SettingsDep,
    judgements: JudgementsDep,
    pool: PoolDep,
    key: KeyHeld,
) -> SearchResult:
    req = req.within(settings)
    filters = resolve_filters(snap, req.sectors, req.themes, req.years)
    result = await pool.run(
        lambda: search_incident(
            snap, req.text, req.k, filters, judgements.index, settings=settings
        ),
        cost=len(req.text),
    )
    return result if key else result.redacted()
