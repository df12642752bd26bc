"""Read queries over a snapshot, shared by the JSON API, the web page and the CLI.

An id the snapshot does not hold raises ``api.exceptions.NotFound`` (a ``LookupError``):
the HTTP layer answers 404 for it in one handler, the web page shows its error page, the
CLI prints one line.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

import networkx as nx
import pandas as pd
from kizuki.api.exceptions import NotFound
from kizuki.api.runtime.filters import resolve_sector, resolve_theme, resolve_year
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.corpus.schema import Case, Theme
from kizuki.graph import analytics
from kizuki.graph.build import HAS_CAUSE, case_causes, case_countermeasures, sector_matches
from kizuki.graph.chain_graph import chain_view, common_paths
from kizuki.graph.controls import Framework, bundled_controls, control_table, function_profile
from kizuki.graph.exceptions import UnknownNodeError
from kizuki.graph.navigate import (
    CaseNeighbourhood,
    CauseView,
    CountermeasureView,
    NodeRef,
    case_neighbourhood,
    cause_view,
    countermeasure_view,
    ref,
)
from pydantic import BaseModel

__all__ = [
    "CaseSummary",
    "analytics_table",
    "case_chain_or_404",
    "case_graph",
    "case_summary",
    "case_year",
    "cause_or_404",
    "concept_refs",
    "countermeasure_or_404",
    "distinct_evidence",
    "excerpt",
    "filter_cases",
    "filtered_graph",
    "controls_csv",
    "controls_table",
    "paths_table",
    "records",
    "require_case",
    "require_node",
    "trends_table",
]

EXCERPT_CHARS = 140


class CaseSummary(BaseModel):
    """A case in a list: its id, title, sectors, theme, origin and the start of its event."""

    id: str
    title: str
    sectors: list[str]
    theme: Theme | None = None
    origin: str
    event_excerpt: str


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def require_case(snap: Snapshot, case_id: str) -> Case:
    case = snap.by_id.get(case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id!r}", "case_not_found", case_id)
    return case


def filter_cases(
    snap: Snapshot,
    *,
    sector: str | None = None,
    theme: str | None = None,
    origin: str | None = None,
    q: str | None = None,
) -> list[Case]:
    out = []
    needle = q.strip().lower() if q else ""
    sector = resolve_sector(snap.sectors, sector) if sector else None
    theme = resolve_theme(snap.themes, theme) if theme else None
    for case in snap.cases:
        if sector and sector not in case.sectors:
            continue
        if theme and (case.theme is None or case.theme.id != theme):
            continue
        if origin and snap.origins.get(case.id) != origin:
            continue
        if needle and not any(
            needle in text.lower() for text in (case.id, *case.text_fields().values())
        ):
            continue
        out.append(case)
    return out


def case_summary(snap: Snapshot, case: Case) -> CaseSummary:
    return CaseSummary(
        id=case.id,
        title=case.title,
        sectors=list(case.sectors),
        theme=case.theme,
        origin=snap.origins.get(case.id, ""),
        event_excerpt=excerpt(case.event),
    )


def require_node(G: nx.MultiDiGraph, node_id: str) -> str:
    if node_id not in G:
        raise NotFound(f"no graph node with id {node_id!r}", "node_not_found", node_id)
    return node_id


def cause_or_404(snap: Snapshot, cause_id: str) -> CauseView:
    try:
        return cause_view(snap.graph, cause_id)
    except UnknownNodeError as exc:
        raise NotFound(str(exc), "cause_not_found", cause_id) from None


def countermeasure_or_404(snap: Snapshot, countermeasure_id: str) -> CountermeasureView:
    try:
        return countermeasure_view(snap.graph, countermeasure_id)
    except UnknownNodeError as exc:
        raise NotFound(str(exc), "countermeasure_not_found", countermeasure_id) from None


def distinct_evidence(cases: list, limit: int) -> list:
    """The first ``limit`` cases behind a recommended countermeasure, one line per case and
    countermeasure sentence: the graph keeps one row per cause the sentence answers, so the
    same sentence of the same case can come several times."""
    seen, out = set(), []
    for item in cases:
        key = (item.case_id, " ".join(item.countermeasure.split()))
        if key in seen:
            continue
        seen.add(key)
        out.append(item)
        if len(out) == limit:
            break
    return out


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready rows (numpy scalars and NaN made plain)."""
    if table.empty:
        return []
    return json.loads(table.to_json(orient="records", force_ascii=False))


def _theme_matches(wanted: str, case: Case) -> bool:
    return case.theme is not None and wanted in (case.theme.id, f"theme.{case.theme.id}")


def case_year(case: Case) -> int | None:
    """The year of the report edition a case comes from (None: not known)."""
    return case.source.year if case.source else None


def _case_ids(
    snap: Snapshot, sector: str | None, theme: str | None, year: int | None = None
) -> list[str]:
    """The ids of the cases of a sector, theme and/or edition's year (all cases without)."""
    return [
        c.id
        for c in snap.cases
        if (not sector or sector_matches(sector, list(c.sectors)))
        and (not theme or _theme_matches(theme, c))
        and (year is None or case_year(c) == year)
    ]


def filtered_graph(
    snap: Snapshot,
    *,
    sector: str | None = None,
    theme: str | None = None,
    year: int | None = None,
) -> tuple[nx.MultiDiGraph, int]:
    """The graph restricted to the cases of a sector, theme and/or edition's year (a view,
    not a copy)."""
    G = snap.graph
    kept = _case_ids(snap, sector, theme, year)
    if not sector and not theme and year is None:
        return G, len(kept)
    keep = set(kept)
    view = nx.subgraph_view(G, filter_node=lambda n: G.nodes[n].get("type") != "case" or n in keep)
    return view, len(kept)


Table = Literal["recurring", "cooccurrence", "coverage"]


def analytics_table(
    snap: Snapshot,
    table: Table,
    level: Literal["concept", "group"] = "concept",
    *,
    sector: str | None = None,
    theme: str | None = None,
    year: int | None = None,
    by: Literal["all", "sector", "theme"] = "all",
    min_count: int = 1,
) -> dict[str, Any]:
    """One table of the recurring-causes audit over the cases of a sector and/or theme, as
    ``GET /analytics/…`` and ``kizuki recurring | cooccurrence | coverage --json`` give it:
    the filters, the number of cases and the rows. An unknown sector, theme or year is
    refused (``api.runtime.filters``), never an empty table."""
    sector = resolve_sector(snap.sectors, sector) if sector else None
    theme = resolve_theme(snap.themes, theme) if theme else None
    year = resolve_year(snap.years, year) if year is not None else None
    G, n_cases = filtered_graph(snap, sector=sector, theme=theme, year=year)
    out: dict[str, Any] = {"level": level}
    if table == "recurring":
        frame = (
            analytics.recurring_causes(G, level)
            if by == "all"
            else analytics.recurring_by(G, by, level)
        )
        out = {"by": by, **out}
    elif table == "cooccurrence":
        frame = analytics.cause_cooccurrence(G, level, min_count=min_count)
        out["min_count"] = min_count
    else:
        frame = analytics.coverage_gaps(G, level)
    filters = {"sector": sector, "theme": theme, "year": year}
    return {**out, "filters": filters, "n_cases": n_cases, "rows": records(frame)}


def trends_table(
    snap: Snapshot,
    level: Literal["concept", "group"] = "concept",
    *,
    sector: str | None = None,
    theme: str | None = None,
) -> dict[str, Any]:
    """Recurring causes by the report edition (``graph.analytics.cause_trends``), over the
    cases of a sector and/or theme, as ``GET /analytics/trends``, ``kizuki trends --json``
    and the analytics page give it: the editions' years and case counts, the causes found
    in every edition and those rising, and a row per cause. An unknown sector or theme is
    refused (``api.runtime.filters``)."""
    sector = resolve_sector(snap.sectors, sector) if sector else None
    theme = resolve_theme(snap.themes, theme) if theme else None
    G, _ = filtered_graph(snap, sector=sector, theme=theme)
    case_years = {
        c.id: year for c in snap.cases if (year := case_year(c)) is not None and c.id in G
    }
    years, sizes, frame = analytics.cause_trends(G, case_years, level)
    rows = records(frame)
    return {
        "level": level,
        "filters": {"sector": sector, "theme": theme},
        "years": years,
        "n_cases_by_year": sizes,
        "every_edition": [r["cause_id"] for r in rows if r["every_edition"]],
        "rising": [r["cause_id"] for r in rows if r["rising"]],
        "rows": rows,
    }


def case_graph(snap: Snapshot, case_id: str) -> CaseNeighbourhood | None:
    """The case's concepts, similar and related cases from the graph (None when the graph
    does not hold the case)."""
    if case_id not in snap.graph:
        return None
    return case_neighbourhood(snap.graph, case_id)


def concept_refs(snap: Snapshot, case_id: str, etype: str) -> list[NodeRef]:
    """The cause (``has_cause``) or countermeasure (``adopted``) concepts of a case."""
    G = snap.graph
    if case_id not in G:
        return []
    edges = case_causes(G, case_id) if etype == HAS_CAUSE else case_countermeasures(G, case_id)
    return [ref(G, v) for v in sorted(edges)]


def case_chain_or_404(snap: Snapshot, case_id: str) -> dict[str, Any]:
    """A case's cause chain with its labels (``GET /chains/{case_id}``, ``kizuki chain``):
    the reviewed one, or the one read from an imported case's text."""
    require_case(snap, case_id)
    view = chain_view(snap.graph, case_id)
    if view is None:
        raise NotFound(f"case {case_id!r} has no cause chain", "chain_not_found", case_id)
    return view


def paths_table(
    snap: Snapshot,
    by: Literal["all", "sector", "theme"] = "all",
    *,
    sector: str | None = None,
    theme: str | None = None,
    length: int | None = None,
    min_support: int | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """The common failure paths of the cases' chains (``GET /analytics/paths``, ``kizuki
    paths --json``): the filters, the number of cases and the rows, ``limit`` per group."""
    sector = resolve_sector(snap.sectors, sector) if sector else None
    theme = resolve_theme(snap.themes, theme) if theme else None
    kept = _case_ids(snap, sector, theme)
    rows = common_paths(
        snap.graph,
        by,
        case_ids=kept,
        lengths=(length,) if length else (2, 3),
        min_support=min_support,
        limit=limit,
    )
    filters = {"sector": sector, "theme": theme, "length": length}
    return {"by": by, "filters": filters, "n_cases": len(kept), "rows": rows}


def controls_table(
    snap: Snapshot,
    framework: Framework = "nist_csf_2",
    *,
    sector: str | None = None,
    theme: str | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """The control-framework audit over the cases of a sector and/or theme
    (``GET /analytics/controls``, ``kizuki controls --json``): where the failures concentrate
    by CSF function, every control that failed or was implemented (``controls``), the
    controls named by countermeasures most (``most_implemented``) and the failed controls
    with no recorded countermeasure in some of their cases (``unanswered``)."""
    sector = resolve_sector(snap.sectors, sector) if sector else None
    theme = resolve_theme(snap.themes, theme) if theme else None
    kept = _case_ids(snap, sector, theme)
    controls = bundled_controls()
    rows = control_table(snap.graph, controls, kept, framework)
    implemented = sorted(
        (r for r in rows if r["n_countermeasure"]),
        key=lambda r: (-r["n_countermeasure"], r["control"]),
    )
    unanswered = sorted(
        (r for r in rows if r["n_unanswered"]), key=lambda r: (-r["n_unanswered"], r["control"])
    )
    meta = controls.frameworks[framework]
    return {
        "framework": framework,
        "framework_title": meta.get("title"),
        "framework_version": meta.get("version"),
        "filters": {"sector": sector, "theme": theme},
        "n_cases": len(kept),
        "functions": function_profile(snap.graph, controls, kept),
        "controls": rows,
        "most_implemented": [r["control"] for r in implemented[:limit]],
        "unanswered": [r["control"] for r in unanswered[:limit]],
    }


#: The columns of the audit working paper (``controls_csv``), in order.
CSV_COLUMNS = (
    "framework",
    "control",
    "title",
    "function",
    "n_failed",
    "n_countermeasure",
    "n_unanswered",
    "failed_case_ids",
    "countermeasure_case_ids",
    "unanswered_case_ids",
    "causes",
    "countermeasures",
)


def controls_csv(table: dict[str, Any]) -> str:
    """``controls_table``'s control rows as CSV for an audit working paper (UTF-8 with a
    BOM so spreadsheet programs read the Japanese; lists joined with ``;``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in table["controls"]:
        writer.writerow(
            ";".join(v) if isinstance(v, list) else ("" if v is None else v)
            for v in (row[c] for c in CSV_COLUMNS)
        )
    return "\ufeff" + out.getvalue()
