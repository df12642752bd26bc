"""Cause chains: one case's chain (``GET /chains/{case_id}``); the common failure paths
are under ``/analytics/paths`` (``routers.analytics``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from kizuki.api.http.dependencies import SnapshotDep
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ERROR_RESPONSES, NOT_FOUND
from kizuki.api.runtime.reads import case_chain_or_404
from kizuki.corpus.schema import MAX_ID_CHARS

__all__ = ["router"]

router = APIRouter(tags=["chains"], responses=ERROR_RESPONSES, route_class=JsonRoute)


@router.get(
    "/chains/{case_id}",
    responses=NOT_FOUND,
    summary="How a case's failure unfolded: its ordered, typed steps with their evidence",
)
def get_chain(
    case_id: Annotated[
        str, Path(description="case id, e.g. `fsa2019-05`", max_length=MAX_ID_CHARS)
    ],
    snap: SnapshotDep,
) -> dict[str, Any]:
    return case_chain_or_404(snap, case_id)
