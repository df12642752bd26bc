"""Causes and countermeasures: the taxonomy concepts of the knowledge graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from kizuki.api.http.dependencies import SnapshotDep
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ERROR_RESPONSES, NOT_FOUND
from kizuki.api.runtime.reads import cause_or_404, countermeasure_or_404
from kizuki.graph.navigate import CauseView, ConceptSummary, CountermeasureView, list_concepts

__all__ = ["router"]

router = APIRouter(
    tags=["causes and countermeasures"], responses=ERROR_RESPONSES, route_class=JsonRoute
)

ConceptId = Annotated[
    str, Path(max_length=200, description="concept id, e.g. `cause.test.insufficient`")
]


@router.get("/causes", response_model=list[ConceptSummary], summary="All cause concepts")
def list_causes(snap: SnapshotDep) -> list[ConceptSummary]:
    return list_concepts(snap.graph, "cause")


@router.get(
    "/causes/{cause_id}",
    response_model=CauseView,
    responses=NOT_FOUND,
    summary="A cause: its cases (with sentences) and the countermeasures that address it",
)
def get_cause(cause_id: ConceptId, snap: SnapshotDep) -> CauseView:
    return cause_or_404(snap, cause_id)


@router.get(
    "/countermeasures",
    response_model=list[ConceptSummary],
    summary="All countermeasure concepts",
)
def list_countermeasures(snap: SnapshotDep) -> list[ConceptSummary]:
    return list_concepts(snap.graph, "countermeasure")


@router.get(
    "/countermeasures/{countermeasure_id}",
    response_model=CountermeasureView,
    responses=NOT_FOUND,
    summary="A countermeasure: the causes it addresses (ranked by support) and its cases",
)
def get_countermeasure(countermeasure_id: ConceptId, snap: SnapshotDep) -> CountermeasureView:
    return countermeasure_or_404(snap, countermeasure_id)
