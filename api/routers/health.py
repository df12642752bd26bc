"""``GET /health``: is the service up, what does it serve, which limits apply."""

from __future__ import annotations

from fastapi import APIRouter

from api.dependencies import SettingsDep, SnapshotDep
from api.models import Health, Limits

router = APIRouter(tags=["health"])


def limits_of(settings) -> Limits:
    return Limits(
        max_request_bytes=settings.max_request_bytes,
        max_query_chars=settings.max_query_chars,
        max_k=settings.max_k,
        max_cases_per_request=settings.max_cases_per_request,
        max_page_size=settings.max_page_size,
        max_depth=settings.max_graph_depth,
    )


@router.get("/health", response_model=Health, summary="Service status and limits")
def health(snap: SnapshotDep, settings: SettingsDep) -> Health:
    graph = snap.graph
    return Health(
        status="ok",
        cases=len(snap.cases),
        store_version=snap.store_version,
        snapshot_built_at=snap.built_at,
        snapshot_build_seconds=round(snap.build_seconds, 3),
        graph=(
            {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}
            if graph is not None
            else None
        ),
        writes_enabled=bool(settings.api_key and settings.api_key.get_secret_value()),
        limits=limits_of(settings),
    )
