"""``POST /review``: a planned change checked against past failures, before it happens."""

from __future__ import annotations

from fastapi import APIRouter
from kizuki.api.http.dependencies import PoolDep, SettingsDep, SnapshotDep
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ERROR_RESPONSES, ReviewRequest
from kizuki.api.runtime import actions
from kizuki.graph.review import Review

__all__ = ["router"]

router = APIRouter(tags=["review"], responses=ERROR_RESPONSES, route_class=JsonRoute)


@router.post(
    "/review",
    response_model=Review,
    summary="Past failures a planned change risks repeating, its risks and a checklist",
    description=(
        "Splits the plan into its statements and searches each like an incident; reads the "
        "root causes its statements point to (risks, each with the plan's sentence and the "
        "cases that failed for that cause); lists the countermeasures institutions adopted "
        "against those causes as a checklist (most supported first, each citing its cases "
        "and sentences); and ranks the similar past failures for the whole plan, with the "
        "statements that matched each. Same limits as `POST /search` (`plan` for `text`)."
    ),
)
async def review_plan(
    req: ReviewRequest, snap: SnapshotDep, settings: SettingsDep, pool: PoolDep
) -> Review:
    req = req.within(settings)
    return await pool.run(actions.review_plan, snap, req.plan, req.k, cost=len(req.plan))
