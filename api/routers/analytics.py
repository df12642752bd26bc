"""Recurring causes, co-occurrence and coverage gaps, as JSON rows (graph.analytics tables)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api import views
from api.dependencies import SnapshotDep
from api.jsonbody import JsonRoute
from api.models import ERROR_RESPONSES
from graph import analytics

router = APIRouter(
    prefix="/analytics", tags=["analytics"], responses=ERROR_RESPONSES, route_class=JsonRoute
)

LevelQ = Annotated[
    Literal["concept", "group"],
    Query(description="`concept` (leaf causes) or `group` (rolled up to top-level groups)"),
]
SectorQ = Annotated[
    str | None,
    Query(max_length=200, description="only cases of this sector (label or `sector.` id)"),
]
ThemeQ = Annotated[
    str | None, Query(max_length=200, description="only cases of this theme (id or `theme.` id)")
]


@router.get("/recurring", summary="Causes that recur across cases, overall or per sector/theme")
def recurring(
    snap: SnapshotDep,
    by: Annotated[
        Literal["all", "sector", "theme"],
        Query(description="`all`: one ranking; `sector`/`theme`: a ranking per sector or theme"),
    ] = "all",
    level: LevelQ = "concept",
    sector: SectorQ = None,
    theme: ThemeQ = None,
) -> dict[str, Any]:
    G, n_cases = views.filtered_graph(snap, sector=sector, theme=theme)
    if by == "all":
        table = analytics.recurring_causes(G, level)
    else:
        table = analytics.recurring_by(G, by, level)
    return {
        "by": by,
        "level": level,
        "filters": {"sector": sector, "theme": theme},
        "n_cases": n_cases,
        "rows": views.records(table),
    }


@router.get("/cooccurrence", summary="Pairs of causes found in the same case (lift, Jaccard)")
def cooccurrence(
    snap: SnapshotDep,
    level: LevelQ = "concept",
    min_count: Annotated[int, Query(ge=1, le=1000, description="minimum shared cases")] = 1,
    sector: SectorQ = None,
    theme: ThemeQ = None,
) -> dict[str, Any]:
    G, n_cases = views.filtered_graph(snap, sector=sector, theme=theme)
    table = analytics.cause_cooccurrence(G, level, min_count=min_count)
    return {
        "level": level,
        "min_count": min_count,
        "filters": {"sector": sector, "theme": theme},
        "n_cases": n_cases,
        "rows": views.records(table),
    }


@router.get("/coverage", summary="Causes whose cases record no countermeasure against them")
def coverage(
    snap: SnapshotDep,
    level: LevelQ = "concept",
    sector: SectorQ = None,
    theme: ThemeQ = None,
) -> dict[str, Any]:
    G, n_cases = views.filtered_graph(snap, sector=sector, theme=theme)
    return {
        "level": level,
        "filters": {"sector": sector, "theme": theme},
        "n_cases": n_cases,
        "rows": views.records(analytics.coverage_gaps(G, level)),
    }
