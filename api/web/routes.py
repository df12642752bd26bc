"""The web page: paste an incident, walk cause → countermeasure → case, see the graph.

Server-rendered (Jinja2, autoescaped); the only script draws the graph. Everything works
without any outside network: styles and scripts are served from ``/static``. The page's
searches and reviews are the runtime's use cases (``api.runtime.actions``), checked by the
JSON API's request models; its shared state comes through ``api.http.dependencies``.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from kizuki.api.exceptions import InvalidInput
from kizuki.api.http.dependencies import JudgementsDep, PoolDep, SettingsDep, SnapshotDep
from kizuki.api.http.errors import validation_details, validation_message
from kizuki.api.http.jsonbody import JsonRoute
from kizuki.api.http.models import ReviewRequest, SearchHit, SearchRequest
from kizuki.api.runtime import reads
from kizuki.api.runtime.actions import resolve_filters, review_plan, search_incident
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.api.web.checklist import checklist_view
from kizuki.api.web.errors import error_message
from kizuki.api.web.highlight import segment_lines, segments
from kizuki.api.web.i18n import translator
from kizuki.api.web.render import DEFAULT_K, page_lang, render, search_url
from kizuki.api.web.terms import telling_terms, term_chips
from kizuki.corpus.outside import english_case
from kizuki.graph.build import sector_node_id
from kizuki.graph.chain_graph import chain_view
from kizuki.graph.navigate import list_concepts
from kizuki.graph.review import checklist_csv, checklist_markdown
from kizuki.search.index import case_fields
from pydantic import ValidationError

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=JsonRoute)

K_CHOICES = (5, 10, 20, 30)
FIELDS = ("title", "event", "causes", "countermeasures")


def _filters(
    snap: Snapshot, sector: str = "", theme: str = "", year: int | None = None
) -> dict[str, Any]:
    return {
        "sectors": snap.sectors,
        "themes": snap.themes,
        "years": snap.years,
        "sector": sector,
        "theme": theme,
        "year": year,
    }


# -- search ------------------------------------------------------------------------------


#: The search is in the URL (``/?q=…&sector=…&theme=…&k=…``) so that it can be shared and
#: bookmarked; ``text`` is accepted as another name for ``q``. ``POST /`` (form fields of
#: the same names) stays for texts too long for a URL: the page's script switches to it.
QUERY_PARAMS = ("q", "text")


@dataclass
class _Search:
    """What a search page needs of the request's dependencies."""

    snap: SnapshotDep
    settings: SettingsDep
    judgements: JudgementsDep
    pool: PoolDep


SearchDeps = Annotated[_Search, Depends()]


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, deps: SearchDeps) -> HTMLResponse:
    params = request.query_params
    text = next((params[name] for name in QUERY_PARAMS if name in params), None)
    return await _search_page(
        request,
        deps,
        text,
        sector=params.get("sector", ""),
        theme=params.get("theme", ""),
        k_raw=params.get("k", ""),
        year_raw=params.get("year", ""),
    )


async def _form(request: Request, max_fields: int) -> dict[str, list[str]]:
    """The posted form's fields; a form of more than ``max_fields`` fields is refused
    (422): the page's forms have a few, and each field is work to parse."""
    raw = await request.body()  # bounded by the body-size middleware
    try:
        return parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=max_fields)
    except ValueError:
        raise InvalidInput(
            f"the form has more than {max_fields} fields",
            params={"kind": "form_fields", "limit": max_fields},
        ) from None


@router.post("/", response_class=HTMLResponse)
async def home_search(request: Request, deps: SearchDeps) -> HTMLResponse:
    form = await _form(request, 20)

    def field(name: str, default: str = "") -> str:
        return (form.get(name) or [default])[0]

    text = next((field(name) for name in QUERY_PARAMS if name in form), "")
    return await _search_page(
        request,
        deps,
        text,
        sector=field("sector"),
        theme=field("theme"),
        k_raw=field("k"),
        year_raw=field("year"),
    )


async def _search_page(
    request: Request,
    deps: _Search,
    text: str | None,
    *,
    sector: str,
    theme: str,
    k_raw: str,
    year_raw: str = "",
) -> HTMLResponse:
    """The search page; with ``text`` (even empty) a search is run and its results shown."""
    snap, settings = deps.snap, deps.settings
    lang = page_lang(request)
    context: dict[str, Any] = {
        "text": text or "",
        "k": DEFAULT_K,
        "k_choices": K_CHOICES,
        "max_chars": settings.max_query_chars,
        "max_k": settings.max_k,
        "n_cases": len(snap.cases),
        "result": None,
        "hits": [],
        "error": None,
        "share_url": None,
        "judged": {},
        "anonymous_feedback": settings.anonymous_feedback,
        **_filters(snap, sector, theme),
    }
    try:
        year = _page_year(year_raw)
    except InvalidInput as exc:
        context["error"] = _refusal(lang, exc)
        return render(request, "search.html", status_code=422, **context)
    context["year"] = year
    if text is None:
        return render(request, "search.html", **context)
    try:
        k = _page_k(k_raw)
        context["k"] = k
        req = SearchRequest(
            text=text,
            k=k,
            sectors=[sector] if sector else None,
            themes=[theme] if theme else None,
            years=[year] if year is not None else None,
        ).within(settings)
        filters = resolve_filters(snap, req.sectors, req.themes, req.years)
    except (ValidationError, InvalidInput) as exc:
        context["error"] = _refusal(lang, exc)
        return render(request, "search.html", status_code=422, **context)
    book = deps.judgements
    result = await deps.pool.run(
        lambda: search_incident(snap, req.text, req.k, filters, book.index, settings=settings),
        cost=len(req.text),
    )
    # The page is read without the key: judgements say only *that* a case was judged (the
    # page's script fills in who, for which text and the note when the key is set).
    result = result.redacted()
    context["result"] = result
    context["hits"] = [_hit_view(snap, hit, lang) for hit in result.results]
    judged: dict[str, list] = defaultdict(list)
    for j in book.held_for_query(text):  # from memory: the page never waits on the store
        judged[j.case_id].append({"grade": j.grade})
    context["judged"] = judged
    context["share_url"] = search_url(text, sector, theme, k)
    return render(request, "search.html", **context)


def _page_k(raw: str) -> int:
    """The ``k`` of the page's form or address (the default when it is left out)."""
    try:
        return int(raw) if raw.strip() else DEFAULT_K
    except ValueError:
        raise InvalidInput(
            f"k: must be an integer, not {raw!r}", params={"kind": "k_integer"}
        ) from None


def _page_year(raw: str) -> int | None:
    """The edition's ``year`` of the page's form or address (None: every edition)."""
    if not raw.strip():
        return None
    if not raw.strip().isdigit() or not 1990 <= int(raw) <= 2100:
        raise InvalidInput(
            f"year: must be a year between 1990 and 2100, not {raw[:20]!r}",
            params={"kind": "year"},
        )
    return int(raw)


def _refusal(lang: str, exc: ValidationError | InvalidInput) -> str:
    """What the page says about a request the API's checks refused (422), in ``lang``."""
    if isinstance(exc, InvalidInput):
        return error_message(lang, 422, exc.code, str(exc), exc.params)
    errors = exc.errors()
    message = validation_message(validation_details(errors))
    return error_message(lang, 422, "validation_error", message, None, errors)


def _hit_view(snap: Snapshot, hit: SearchHit, lang: str) -> dict[str, Any]:
    """A result with each field cut into highlighted segments (escaped by the template);
    on the English page, a bundled case's English translation too (shown first)."""
    case = snap.by_id.get(hit.case_id)
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for term in telling_terms(hit.shared_terms):
        for span in term.spans:
            spans[span.field].append((span.start, span.end))
    fields = case_fields(case) if case else {}
    # Sectors are indexed joined by "、": a tag is marked when a span falls inside it.
    marked_sectors, pos = set(), 0
    for sector in case.sectors if case else []:
        end = pos + len(sector)
        if any(start < end and stop > pos for start, stop in spans["sectors"]):
            marked_sectors.add(sector)
        pos = end + 1
    return {
        "marked_sectors": marked_sectors,
        "theme_marked": bool(spans["theme"]),
        "hit": hit,
        "title": segments(fields.get("title", hit.title), spans["title"]),
        "event": segment_lines(fields.get("event", ""), spans["event"]),
        "causes": segment_lines(fields.get("causes", ""), spans["causes"]),
        "countermeasures": segment_lines(
            fields.get("countermeasures", ""), spans["countermeasures"]
        ),
        "outside": segments(hit.outside_match, spans["outside"]) if hit.outside_match else None,
        "terms": term_chips(hit.shared_terms),
        "english": english_case(case) if case and lang == "en" else None,
    }


# -- change review -----------------------------------------------------------------------


#: Similar failures the review page shows (the API's default).
DEFAULT_REVIEW_K = 10


@router.get("/ui/review", response_class=HTMLResponse)
async def review_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    return render(
        request, "review.html", plan="", max_chars=settings.max_query_chars, error=None, result=None
    )


@router.post("/ui/review", response_class=HTMLResponse)
async def review_page(
    request: Request, snap: SnapshotDep, settings: SettingsDep, pool: PoolDep
) -> HTMLResponse:
    """The review of a pasted plan: checklist (exportable, printable), similar failures,
    risks and each statement's matches; same limits and errors as ``POST /review``."""
    form = await _form(request, 5)
    plan = (form.get("plan") or [""])[0].strip()
    context: dict[str, Any] = {
        "plan": plan,
        "max_chars": settings.max_query_chars,
        "error": None,
        "result": None,
    }
    try:
        req = ReviewRequest(plan=plan, k=DEFAULT_REVIEW_K).within(settings)
    except (ValidationError, InvalidInput) as exc:
        context["error"] = _refusal(page_lang(request), exc)
        return render(request, "review.html", status_code=422, **context)
    result = await pool.run(review_plan, snap, req.plan, req.k, cost=len(req.plan))
    context["result"] = result
    context["checklist"] = checklist_view(result.checklist)
    context["markdown_b64"] = base64.b64encode(checklist_markdown(result).encode()).decode()
    context["csv_b64"] = base64.b64encode(checklist_csv(result).encode()).decode()
    return render(request, "review.html", **context)


# -- cases -------------------------------------------------------------------------------


@router.get("/ui", include_in_schema=False)
def ui_root() -> RedirectResponse:
    return RedirectResponse("/", status_code=307)


@router.get("/ui/cases", response_class=HTMLResponse)
def cases_page(
    request: Request,
    snap: SnapshotDep,
    sector: Annotated[str, Query(max_length=200)] = "",
    theme: Annotated[str, Query(max_length=200)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    per_page = 20
    matching = reads.filter_cases(snap, sector=sector or None, theme=theme or None, q=q or None)
    pages = max(1, -(-len(matching) // per_page))
    page = min(page, pages)
    items = matching[(page - 1) * per_page : page * per_page]

    def page_url(n: int) -> str:
        params = {k: v for k, v in (("sector", sector), ("theme", theme), ("q", q)) if v}
        return "/ui/cases?" + urlencode({**params, "page": n})

    return render(
        request,
        "cases.html",
        items=[reads.case_summary(snap, c) for c in items],
        causes_of={c.id: reads.concept_refs(snap, c.id, "has_cause") for c in items},
        total=len(matching),
        page=page,
        pages=pages,
        prev_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if page < pages else None,
        q=q,
        **_filters(snap, sector, theme),
    )


@router.get("/ui/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str, snap: SnapshotDep) -> HTMLResponse:
    case = reads.require_case(snap, case_id)
    neighbourhood = reads.case_graph(snap, case.id)
    # Which concepts each cause / countermeasure sentence carries, to link them inline.
    by_sentence: dict[str, list] = defaultdict(list)
    if neighbourhood is not None:
        for item in [*neighbourhood.causes, *neighbourhood.countermeasures]:
            for sentence in item.sentences:
                by_sentence[sentence].append(item.concept)
    return render(
        request,
        "case.html",
        case=case,
        english=english_case(case) if page_lang(request) == "en" else None,
        origin=snap.origins.get(case.id, ""),
        nb=neighbourhood,
        by_sentence=by_sentence,
        chain=chain_view(snap.graph, case.id),
    )


# -- causes and countermeasures ------------------------------------------------------------


def _concept_list(request: Request, snap: Snapshot, kind: str) -> HTMLResponse:
    summaries = list_concepts(snap.graph, kind)
    groups: list[dict[str, Any]] = []
    by_group: dict[str, dict[str, Any]] = {}
    for s in summaries:
        if s.is_group or s.group is None:
            entry = {"group": s, "members": []}
            by_group[s.concept.id] = entry
            groups.append(entry)
    for s in summaries:
        if not s.is_group and s.group is not None:
            if s.group.id not in by_group:
                entry = {"group": None, "members": []}
                by_group[s.group.id] = entry
                groups.append(entry)
            by_group[s.group.id]["members"].append(s)
    return render(request, "concepts.html", kind=kind, groups=groups)


@router.get("/ui/causes", response_class=HTMLResponse)
def causes_page(request: Request, snap: SnapshotDep) -> HTMLResponse:
    return _concept_list(request, snap, "cause")


@router.get("/ui/countermeasures", response_class=HTMLResponse)
def countermeasures_page(request: Request, snap: SnapshotDep) -> HTMLResponse:
    return _concept_list(request, snap, "countermeasure")


@router.get("/ui/causes/{cause_id}", response_class=HTMLResponse)
def cause_page(request: Request, cause_id: str, snap: SnapshotDep) -> HTMLResponse:
    view = reads.cause_or_404(snap, cause_id)
    return render(request, "concept.html", kind="cause", view=view, links=view.countermeasures)


@router.get("/ui/countermeasures/{cm_id}", response_class=HTMLResponse)
def countermeasure_page(request: Request, cm_id: str, snap: SnapshotDep) -> HTMLResponse:
    view = reads.countermeasure_or_404(snap, cm_id)
    return render(request, "concept.html", kind="countermeasure", view=view, links=view.causes)


# -- graph and analytics -------------------------------------------------------------------


@router.get("/ui/graph", response_class=HTMLResponse)
def graph_page(
    request: Request,
    snap: SnapshotDep,
    settings: SettingsDep,
    node: Annotated[str, Query(max_length=200)] = "",
    depth: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    G = snap.graph
    if not node:
        node = snap.cases[0].id if snap.cases else ""
    if node:
        reads.require_node(G, node)
    depth = min(depth, settings.max_graph_depth)
    data = G.nodes[node] if node else {}
    return render(
        request,
        "graph.html",
        node=node,
        node_data=data,
        depth=depth,
        max_depth=settings.max_graph_depth,
    )


#: Causes drawn in the trends chart: those in every edition and the rising ones first.
TREND_SERIES = 8


def _trends_chart(trends: dict[str, Any], lang: str) -> dict[str, Any]:
    """What the page's chart draws (``static/trends.js``): edition labels, and the share
    per edition of the causes that recur in every edition or rise, then the most common."""
    rows = sorted(
        trends["rows"],
        key=lambda r: (not r["every_edition"], not r["rising"], -r["n_cases"], r["cause_id"]),
    )[:TREND_SERIES]
    label = "label_en" if lang == "en" else "label_ja"
    t = translator(lang)
    return {
        "title": t("trends_title"),
        "y_title": t("trends_share"),
        "labels": [t("trends_edition").replace("{y}", str(y)) for y in trends["years"]],
        "series": [
            {"cause_id": r["cause_id"], "label": r[label], "shares": r["shares"],
             "every_edition": r["every_edition"]}
            for r in rows
        ],
    }  # fmt: skip


def _paths_flow(paths: list[dict[str, Any]]) -> dict[str, Any]:
    """The common paths as a left-to-right flow for the page's diagram: a node per concept
    at its step (column), an edge per transition with the cases that take it."""
    nodes: dict[tuple[int, str], dict[str, Any]] = {}
    edges: dict[tuple[str, str], int] = {}
    for row in paths:
        for i, concept in enumerate(row["path"]):
            key = (i, concept)
            if key not in nodes:
                nodes[key] = {
                    "id": f"{i}:{concept}",
                    "column": i,
                    "concept": concept,
                    "label_ja": row["labels_ja"][i],
                    "label_en": row["labels_en"][i],
                }
        for i in range(len(row["path"]) - 1):
            a, b = f"{i}:{row['path'][i]}", f"{i + 1}:{row['path'][i + 1]}"
            edges[(a, b)] = max(edges.get((a, b), 0), row["support"])
    return {
        "nodes": list(nodes.values()),
        "edges": [{"source": a, "target": b, "support": n} for (a, b), n in edges.items()],
    }


@router.get("/ui/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request,
    snap: SnapshotDep,
    sector: Annotated[str, Query(max_length=200)] = "",
    theme: Annotated[str, Query(max_length=200)] = "",
    level: Annotated[str, Query(pattern="^(concept|group)$")] = "concept",
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> HTMLResponse:
    # Graph links name sectors and themes by node id; the filters show labels and ids.
    sector = next((s for s in snap.sectors if sector_node_id(s) == sector), sector)
    theme = theme.removeprefix("theme.")
    filters = {"sector": sector or None, "theme": theme or None, "year": year}
    table = reads.analytics_table(snap, "recurring", level, **filters)  # type: ignore[arg-type]
    recurring, n_cases = table["rows"], table["n_cases"]
    cooc = reads.analytics_table(snap, "cooccurrence", level, min_count=2, **filters)["rows"][:10]  # type: ignore[arg-type]
    coverage = [
        row
        for row in reads.analytics_table(snap, "coverage", level, **filters)["rows"]  # type: ignore[arg-type]
        if row["coverage"] < 1
    ]
    top = max((row["n_cases"] for row in recurring), default=0)
    place = {"sector": sector or None, "theme": theme or None}
    trends = reads.trends_table(snap, level, **place)  # type: ignore[arg-type]
    paths = reads.paths_table(snap, **place, limit=12)["rows"]  # type: ignore[arg-type]
    controls = reads.controls_table(snap, **place, limit=8)  # type: ignore[arg-type]
    return render(
        request,
        "analytics.html",
        trends=trends,
        trends_chart=_trends_chart(trends, page_lang(request)),
        paths=paths,
        paths_flow=_paths_flow(paths),
        controls=controls,
        controls_by_id={r["control"]: r for r in controls["controls"]},
        recurring=recurring,
        shown=25,  # the rest open from "N more"
        top=top,
        cooc=cooc,
        coverage=coverage,
        n_cases=n_cases,
        level=level,
        G=snap.graph,
        **_filters(snap, sector, theme, year),
    )
