"""``GET /export/{format}``: the whole knowledge graph for other tools."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import Response
from kizuki.api.http.dependencies import SnapshotDep
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ERROR_RESPONSES
from kizuki.graph import export as graph_export

__all__ = ["router"]

router = APIRouter(tags=["export"], responses=ERROR_RESPONSES, route_class=JsonRoute)

Format = Literal["json", "graphml", "neo4j"]


@router.get(
    "/export/{format}",
    summary="Download the graph: node-link JSON, GraphML, or Neo4j import CSVs (zip)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/json": {},
                "application/graphml+xml": {},
                "application/zip": {},
            },
            "description": "the graph file",
        }
    },
)
def export_graph(
    fmt: Annotated[Format, PathParam(alias="format", description="json, graphml or neo4j")],
    snap: SnapshotDep,
) -> Response:
    rendered = snap.exports.get(fmt)
    if rendered is None:  # the snapshot never changes: each format is rendered once
        rendered = snap.exports[fmt] = _render(snap.graph, fmt)
    body, media, name = rendered
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _render(G, fmt: str) -> tuple[bytes, str, str]:
    if fmt == "json":
        data = json.dumps(graph_export.to_node_link(G), ensure_ascii=False, default=str)
        return data.encode("utf-8"), "application/json", "kizuki-graph.json"
    with tempfile.TemporaryDirectory(prefix="kizuki-export-") as tmp:
        if fmt == "graphml":
            path = graph_export.write_graphml(G, Path(tmp) / "kizuki-graph.graphml")
            return path.read_bytes(), "application/graphml+xml", "kizuki-graph.graphml"
        files = graph_export.write_neo4j(G, Path(tmp) / "neo4j")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, f"kizuki-neo4j/{path.name}")
        return buf.getvalue(), "application/zip", "kizuki-neo4j.zip"
