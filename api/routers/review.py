"""``POST /review``: a planned change checked against past failures, before it happens."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.dependencies import SettingsDep, SnapshotDep
from api.errors import ApiError
from api.jsonbody import JsonRoute
from api.models import ERROR_RESPONSES, ReviewRequest
from graph.review import Review, review

router = APIRouter(tags=["review"], responses=ERROR_RESPONSES, route_class=JsonRoute)


def check_plan(plan: str, k: int, settings, snap) -> str:
    """The plan to review, or the ``ApiError`` a client (API or page) is answered with."""
    plan = plan.strip()
    if not plan:
        raise ApiError(422, "validation_error", "plan: must not be empty")
    if len(plan) > settings.max_query_chars:
        raise ApiError(
            422,
            "text_too_long",
            f"plan: {len(plan)} characters; the limit is {settings.max_query_chars}",
            params={"length": len(plan), "limit": settings.max_query_chars},
        )
    if not 1 <= k <= settings.max_k:
        raise ApiError(422, "validation_error", f"k: must be between 1 and {settings.max_k}")
    if snap.graph is None:
        raise ApiError(503, "graph_unavailable", "the graph is not built yet")
    return plan


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
    req: ReviewRequest, snap: SnapshotDep, settings: SettingsDep, request: Request
) -> Review:
    plan = check_plan(req.plan, req.k, settings, snap)
    return await request.app.state.search_pool.run(review, snap.ranker, plan, req.k, cost=len(plan))
