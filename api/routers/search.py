"""``POST /search``: similar cases for a pasted incident, explained, with likely causes."""

from __future__ import annotations

from fastapi import APIRouter

from api.dependencies import SettingsDep, SnapshotDep
from api.models import ERROR_RESPONSES, SearchRequest, SearchResult
from api.searching import check_request, run_search

router = APIRouter(tags=["search"], responses=ERROR_RESPONSES)


@router.post(
    "/search",
    response_model=SearchResult,
    summary="Similar cases, likely causes and recommended countermeasures for an incident",
    description=(
        "Ranks the stored cases against the pasted text (BM25 over Sudachi terms + dense "
        "embeddings + the graph's cause-aware list, fused). Each result explains itself: "
        "score, matched fields and the shared terms with their spans in the case's fields "
        "(list fields are joined by newlines). `no_good_match` is true when no case stands "
        "out as a real analogue. Limits: `text` 1..5000 characters, `k` 1..100 (defaults; "
        "see `GET /health`)."
    ),
)
def search(req: SearchRequest, snap: SnapshotDep, settings: SettingsDep) -> SearchResult:
    return run_search(snap, check_request(req, settings))
