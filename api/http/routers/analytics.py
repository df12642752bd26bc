"""Recurring causes, co-occurrence, coverage gaps and trends over the report's editions,
as JSON rows (graph.analytics tables)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from kizuki.api.http.dependencies import SnapshotDep
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ERROR_RESPONSES
from kizuki.api.runtime.reads import (
    analytics_table,
    controls_csv,
    controls_table,
    paths_table,
    trends_table,
)

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
    Query(
        max_length=200,
        description="only cases of this sector (its label, in any spacing or bracket width, or `sector.` id); an unknown one is 422, listing the known ones",
    ),
]
ThemeQ = Annotated[
    str | None,
    Query(
        max_length=200,
        description="only cases of this theme (id, label or `theme.` id); an unknown one is "
        "422, listing the known ones",
    ),
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


@router.get(
    "/paths",
    summary="Common failure paths: the most frequent 2- and 3-step cause sequences of the chains",
)
def paths(
    snap: SnapshotDep,
    by: Annotated[
        Literal["all", "sector", "theme"],
        Query(description="`all`: one ranking; `sector`/`theme`: a ranking per sector or theme"),
    ] = "all",
    sector: SectorQ = None,
    theme: ThemeQ = None,
    length: Annotated[
        int | None, Query(ge=2, le=3, description="only paths of this many steps (2 or 3)")
    ] = None,
    min_support: Annotated[
        int | None,
        Query(ge=1, le=1000, description="minimum cases (default 2 overall, 1 per group)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="paths per group")] = 20,
) -> dict[str, Any]:
    return paths_table(
        snap,
        by,
        sector=sector,
        theme=theme,
        length=length,
        min_support=min_support,
        limit=limit,
    )


@router.get(
    "/controls",
    summary="Failures by control framework: CSF functions, controls failed, implemented, "
    "and failed with no recorded countermeasure (JSON, or CSV for a working paper)",
)
def controls(
    snap: SnapshotDep,
    framework: Annotated[
        Literal["nist_csf_2", "iso27001_2022"],
        Query(description="`nist_csf_2` (NIST CSF 2.0) or `iso27001_2022` (Annex A)"),
    ] = "nist_csf_2",
    sector: SectorQ = None,
    theme: ThemeQ = None,
    limit: Annotated[int, Query(ge=1, le=200, description="ids in the top lists")] = 20,
    fmt: Annotated[
        Literal["json", "csv"],
        Query(alias="format", description="`csv`: the control rows as an audit working paper"),
    ] = "json",
) -> Any:
    table = controls_table(snap, framework, sector=sector, theme=theme, limit=limit)
    if fmt == "csv":
        name = f"kizuki-controls-{framework}.csv"
        return Response(
            controls_csv(table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return table
