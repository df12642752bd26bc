"""Read-only views over a snapshot, shared by the JSON routers and the web page."""

from __future__ import annotations

import json
from typing import Any

import networkx as nx
import pandas as pd

from api.errors import ApiError
from api.models import CaseSummary
from api.snapshot import Snapshot
from corpus.schema import Case, normalise_sector
from graph.build import HAS_CAUSE, case_causes, case_countermeasures
from graph.navigate import (
    CaseNeighbourhood,
    CauseView,
    CountermeasureView,
    NodeRef,
    UnknownNodeError,
    case_neighbourhood,
    cause_view,
    countermeasure_view,
    ref,
)

EXCERPT_CHARS = 140


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def require_case(snap: Snapshot, case_id: str) -> Case:
    case = snap.by_id.get(case_id)
    if case is None:
        raise ApiError(
            404, "case_not_found", f"no case with id {case_id!r}", params={"id": case_id}
        )
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


def require_graph(snap: Snapshot) -> nx.MultiDiGraph:
    if snap.graph is None:
        raise ApiError(503, "graph_unavailable", "the knowledge graph is not available")
    return snap.graph


def require_node(G: nx.MultiDiGraph, node_id: str) -> str:
    if node_id not in G:
        raise ApiError(
            404, "node_not_found", f"no graph node with id {node_id!r}", params={"id": node_id}
        )
    return node_id


def cause_or_404(snap: Snapshot, cause_id: str) -> CauseView:
    try:
        return cause_view(require_graph(snap), cause_id)
    except UnknownNodeError as exc:
        raise ApiError(404, "cause_not_found", str(exc), params={"id": cause_id}) from None


def countermeasure_or_404(snap: Snapshot, countermeasure_id: str) -> CountermeasureView:
    try:
        return countermeasure_view(require_graph(snap), countermeasure_id)
    except UnknownNodeError as exc:
        raise ApiError(
            404, "countermeasure_not_found", str(exc), params={"id": countermeasure_id}
        ) from None


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


def _sector_matches(wanted: str, sectors: list[str]) -> bool:
    from graph.build import sector_node_id

    norm = normalise_sector(wanted)
    return any(norm == normalise_sector(s) or wanted == sector_node_id(s) for s in sectors)


def _theme_matches(wanted: str, case: Case) -> bool:
    return case.theme is not None and wanted in (case.theme.id, f"theme.{case.theme.id}")


def filtered_graph(
    snap: Snapshot, *, sector: str | None = None, theme: str | None = None
) -> tuple[nx.MultiDiGraph, int]:
    """The graph restricted to the cases of a sector and/or theme (a view, not a copy)."""
    G = require_graph(snap)
    kept = [
        c.id
        for c in snap.cases
        if (not sector or _sector_matches(sector, list(c.sectors)))
        and (not theme or _theme_matches(theme, c))
    ]
    if not sector and not theme:
        return G, len(kept)
    keep = set(kept)
    view = nx.subgraph_view(G, filter_node=lambda n: G.nodes[n].get("type") != "case" or n in keep)
    return view, len(kept)


def case_graph(snap: Snapshot, case_id: str) -> CaseNeighbourhood | None:
    """The case's concepts, similar and related cases from the graph (None without one)."""
    G = snap.graph
    if G is None or case_id not in G:
        return None
    return case_neighbourhood(G, case_id)


def concept_refs(snap: Snapshot, case_id: str, etype: str) -> list[NodeRef]:
    """The cause (``has_cause``) or countermeasure (``adopted``) concepts of a case."""
    G = snap.graph
    if G is None or case_id not in G:
        return []
    edges = case_causes(G, case_id) if etype == HAS_CAUSE else case_countermeasures(G, case_id)
    targets = sorted(edges)
    return [ref(G, v) for v in targets]
