"""``GET /health``: is the service up, what does it serve, which limits apply."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from kizuki.api.exceptions import ServiceNotReady
from kizuki.api.http.dependencies import PoolDep, ServiceDep, SettingsDep
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ERROR_RESPONSES, Health, Limits, StoreState
from kizuki.corpus.settings import Settings

__all__ = ["limits_of", "router"]

router = APIRouter(tags=["health"], route_class=JsonRoute)


def limits_of(settings: Settings, search_workers: int) -> Limits:
    """The limits in force; ``search_workers`` is the pool's effective number (the
    setting's 0 means "two more than the cores", which a client cannot know)."""
    return Limits(
        max_request_bytes=settings.max_request_bytes,
        max_json_depth=settings.max_json_depth,
        max_query_chars=settings.max_query_chars,
        max_query_work_chars=settings.max_query_work_chars,
        max_query_sentences=settings.max_query_sentences,
        max_k=settings.max_k,
        max_cases_per_request=settings.max_cases_per_request,
        max_page_size=settings.max_page_size,
        max_offset=settings.max_offset,
        max_depth=settings.max_graph_depth,
        search_workers=search_workers,
        search_queue=settings.search_queue,
        search_timeout_s=settings.search_timeout_s,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        rate_limit_burst=settings.rate_limit_burst,
    )


@router.get(
    "/health",
    response_model=Health,
    summary="Service status and limits",
    responses={503: ERROR_RESPONSES[503], 500: ERROR_RESPONSES[500]},
)
def health(settings: SettingsDep, service: ServiceDep, pool: PoolDep) -> Health | JSONResponse:
    try:
        snap = service.snapshot
    except ServiceNotReady:
        # Listening already, still building: say how far it got (a load balancer keeps
        # the server out of rotation on the 503).
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": "2"},
            content={
                "status": "building",
                "progress": service.progress.to_dict(),
                "error": {"code": "starting", "message": "the service is still starting"},
            },
        )
    events = list(service.events)
    store_state = service.store_state()
    degraded = (
        bool(snap.skipped)
        or any("rebuild" in e or "damaged" in e for e in events)
        or store_state["state"] != "ok"
        or service.save_problem is not None
    )
    return Health(
        status="degraded" if degraded else "ok",
        cases=len(snap.cases),
        store_version=snap.store_version,
        snapshot_built_at=snap.built_at,
        snapshot_build_seconds=round(snap.build_seconds, 3),
        graph={"nodes": snap.graph.number_of_nodes(), "edges": snap.graph.number_of_edges()},
        writes_enabled=bool(settings.api_key and settings.api_key.get_secret_value()),
        skipped_cases=[dict(row) for row in snap.skipped],
        events=events,
        index_verified=service.index_verified,
        store="postgresql" if settings.database_url else "sqlite",
        judgements=service.judgements.judgement_count,
        store_state=StoreState(**store_state),
        snapshot_saved=service.save_problem is None,
        limits=limits_of(settings, pool.workers),
    )
