"""Recurring causes, co-occurrence, coverage gaps and trends over the report's editions,
as JSON rows (graph.analytics tables)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from kizuki.api.http.dependencies import SnapshotDep
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ERROR_RESPONSES
from kizuki.api.runtime.reads import analytics_table, trends_table

__all__ = ["router"]

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
YearQ = Annotated[
    int | None,
    Query(ge=1990, le=2100, description="only cases of the report edition of this year"),
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
    year: YearQ = None,
) -> dict[str, Any]:
    return analytics_table(snap, "recurring", level, sector=sector, theme=theme, year=year, by=by)


@router.get("/cooccurrence", summary="Pairs of causes found in the same case (lift, Jaccard)")
def cooccurrence(
    snap: SnapshotDep,
    level: LevelQ = "concept",
    min_count: Annotated[int, Query(ge=1, le=1000, description="minimum shared cases")] = 1,
    sector: SectorQ = None,
    theme: ThemeQ = None,
    year: YearQ = None,
) -> dict[str, Any]:
    return analytics_table(
        snap, "cooccurrence", level, sector=sector, theme=theme, year=year, min_count=min_count
    )


@router.get("/coverage", summary="Causes whose cases record no countermeasure against them")
def coverage(
    snap: SnapshotDep,
    level: LevelQ = "concept",
    sector: SectorQ = None,
    theme: ThemeQ = None,
    year: YearQ = None,
) -> dict[str, Any]:
    return analytics_table(snap, "coverage", level, sector=sector, theme=theme, year=year)


@router.get(
    "/trends",
    summary="Causes by report edition: those in every edition and those rising",
)
def trends(
    snap: SnapshotDep,
    level: LevelQ = "concept",
    sector: SectorQ = None,
    theme: ThemeQ = None,
) -> dict[str, Any]:
    """Per cause, its cases in each edition and their share of that edition's cases;
    `every_edition` lists the causes found in every edition (two or more), `rising` those
    whose share grows (least-squares slope > 0 and latest share > first)."""
    return trends_table(snap, level, sector=sector, theme=theme)
