"""``GET /graph/neighbourhood/{node_id}``: nodes and edges around a node, for drawing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.dependencies import SettingsDep, SnapshotDep
from api.drawing import MAX_NODES, neighbourhood
from api.errors import ApiError
from api.jsonbody import JsonRoute
from api.models import ERROR_RESPONSES, NOT_FOUND
from api.views import require_graph, require_node

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
        raise ApiError(
            422, "validation_error", f"depth: at most {settings.max_graph_depth} (got {depth})"
        )
    G = require_graph(snap)
    return neighbourhood(G, require_node(G, node_id), depth)
