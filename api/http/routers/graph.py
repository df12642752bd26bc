"""``GET /graph/neighbourhood/{node_id}``: nodes and edges around a node, for drawing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from kizuki.api.exceptions import InvalidInput
from kizuki.api.http.dependencies import SettingsDep, SnapshotDep
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ERROR_RESPONSES, NOT_FOUND
from kizuki.api.runtime.drawing import MAX_NODES, neighbourhood
from kizuki.api.runtime.reads import require_node

__all__ = ["router"]

router = APIRouter(tags=["graph"], responses=ERROR_RESPONSES, route_class=JsonRoute)


@router.get(
    "/graph/neighbourhood/{node_id}",
    responses=NOT_FOUND,
    summary="The neighbourhood of a case, cause, countermeasure, sector or theme node",
    description=(
        "Nodes within `depth` hops (1..`max_graph_depth`, default max 3) and the edges among "
        f"them, at most {MAX_NODES} nodes (`truncated` says when the budget was hit). Sector, "
        "theme and group nodes are shown but not expanded. Node ids: a case id "
        "(`fsa2019-01`), a concept id (`cause.…`, `cm.…`), `sector.<slug>`, `theme.<id>`."
    ),
)
def get_neighbourhood(
    node_id: Annotated[str, Path(max_length=200)],
    snap: SnapshotDep,
    settings: SettingsDep,
    depth: Annotated[int, Query(ge=1, description="hops from the node")] = 1,
) -> dict[str, Any]:
    if depth > settings.max_graph_depth:
        raise InvalidInput(f"depth: at most {settings.max_graph_depth} (got {depth})")
    return neighbourhood(snap.graph, require_node(snap.graph, node_id), depth)
