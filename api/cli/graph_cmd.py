"""``kizuki graph …`` and the knowledge-graph commands.

* ``kizuki graph eval [--json]`` measures the concept extractor (leave-one-case-out);
  ``--chains`` measures the chain extraction instead (``graph.chain_eval``).
* ``kizuki graph export --format json|graphml|neo4j -o PATH`` writes the graph;
  ``kizuki graph case ID``, ``kizuki graph connect A B`` and ``kizuki graph recommend TEXT``
  walk it.
* ``kizuki causes``, ``kizuki cause ID``, ``kizuki countermeasure ID`` and
  ``kizuki recurring [--by sector|theme]`` are top-level: they are what an analyst types most.

All read the snapshot of the runtime (``api.cli.shared``: the case store, seeded with the
bundled corpus on first use; seed cases use their hand annotations, other cases the
extractor), through the read queries and use cases the HTTP API uses
(``api.runtime.reads``, ``api.runtime.actions.recommend``). Every command has ``--json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import networkx as nx
import typer
from kizuki.api.cli import shared
from kizuki.api.cli.inputs import FileOption, check_k, read_input
from kizuki.api.exceptions import CliError, OptionError
from kizuki.api.runtime.actions import recommend
from kizuki.api.runtime.filters import resolve_sector, resolve_theme, resolve_year
from kizuki.api.runtime.progress import building
from kizuki.api.runtime.reads import (
    analytics_table,
    distinct_evidence,
    filtered_graph,
    trends_table,
)
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.corpus import seed_cases
from kizuki.corpus.settings import get_settings
from kizuki.graph.analytics import recurring_by, recurring_causes
from kizuki.graph.annotations import load_annotations
from kizuki.graph.build import SIMILAR_TO
from kizuki.graph.chain_eval import evaluate_chain_variants
from kizuki.graph.chains import load_chains
from kizuki.graph.evaluation import evaluate
from kizuki.graph.export import dump, export
from kizuki.graph.navigate import (
    UnknownNodeError,
    case_neighbourhood,
    cause_view,
    connect_cases,
    countermeasure_view,
    list_concepts,
)

__all__ = ["graph_app", "register"]

graph_app = typer.Typer(
    help="The cause–countermeasure knowledge graph: export it, walk it, ask it.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(graph_app, name="graph")
    _register_graph_views(app)


_JSON_OPT = typer.Option("--json", help="Print JSON instead of text.")


def _snapshot() -> Snapshot:
    """The snapshot of the store's current cases (the process's settings)."""
    return shared.snapshot(get_settings())


def _load_graph(with_similar: bool = True) -> nx.MultiDiGraph:
    """The graph of the store's current cases (without ``similar_to`` edges if asked)."""
    G = _snapshot().graph
    if with_similar:
        return G
    G = G.copy()
    G.remove_edges_from([(u, v, k) for u, v, k in G.edges(keys=True) if k == SIMILAR_TO])
    return G


_dump = shared.echo_json


#: The command that lists the ids of each kind, named when an id is unknown.
_LISTED_BY = {
    "cause": "see `kizuki causes`",
    "countermeasure": "see `kizuki countermeasures`",
    "case": "see `kizuki corpus list`",
}


def _navigate(fn, *args):
    try:
        return fn(*args)
    except UnknownNodeError as exc:
        hint = _LISTED_BY.get(exc.kind)
        raise CliError(f"{exc}; {hint}" if hint else str(exc)) from None


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@graph_app.command("export")
def export_cmd(
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="File (json, graphml; '-': standard output) or folder (neo4j)."
        ),
    ],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="json (node-link) | graphml | neo4j (CSV).")
    ] = "json",
    similar: Annotated[
        bool,
        typer.Option("--similar/--no-similar", help="Add similar_to edges from the search index."),
    ] = True,
) -> None:
    """Write the knowledge graph for Gephi/Cytoscape (GraphML), networkx (JSON) or Neo4j."""
    if fmt not in ("json", "graphml", "neo4j"):
        raise OptionError(f"unknown format {fmt!r}; use json, graphml or neo4j")
    to_stdout = str(output) == "-"
    if to_stdout and fmt == "neo4j":
        raise OptionError("neo4j writes a folder of CSV files: give -o DIR, not standard output")
    G = _load_graph(with_similar=similar)
    summary = f"wrote {G.number_of_nodes()} nodes and {G.number_of_edges()} edges as {fmt}: "
    if to_stdout:
        dump(G, fmt, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        typer.echo(summary + "standard output", err=True)  # stdout holds the graph alone
        return
    paths = export(G, fmt, output)
    typer.echo(summary + ", ".join(str(p) for p in paths))


@graph_app.command("case")
def case_cmd(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. fsa2019-05.")],
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """A case's neighbourhood: causes, countermeasures, sector, theme, similar cases."""
    view = _navigate(case_neighbourhood, _load_graph(with_similar=True), case_id)
    if as_json:
        return _dump(view.model_dump(mode="json"))
    typer.echo(f"{view.case.id}  {view.case.label_ja}")
    typer.echo(f"  sectors: {', '.join(s.label_ja for s in view.sectors) or '-'}")
    typer.echo(f"  theme:   {view.theme.label_ja if view.theme else '-'}")
    typer.echo("  causes:")
    for c in view.causes:
        typer.echo(f"    {c.concept.id}  {c.concept.label_ja}  [{c.source}]")
        for s in c.sentences:
            typer.echo(f"        「{_short(s)}」")
    typer.echo("  countermeasures:")
    for m in view.countermeasures:
        answers = f"  → {', '.join(m.addresses)}" if m.addresses else ""
        typer.echo(f"    {m.concept.id}  {m.concept.label_ja}{answers}")
    if view.similar:
        typer.echo("  similar: " + ", ".join(f"{s.case.id} ({s.score:.3f})" for s in view.similar))
    if view.related:
        typer.echo("  shares a cause with: " + ", ".join(r.case.id for r in view.related[:10]))


@graph_app.command("connect")
def connect_cmd(
    a: Annotated[str, typer.Argument(help="First case id.")],
    b: Annotated[str, typer.Argument(help="Second case id.")],
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """What two cases have in common: causes, countermeasures, groups, sector, theme."""
    view = _navigate(connect_cases, _load_graph(with_similar=True), a, b)
    if as_json:
        return _dump(view.model_dump(mode="json"))
    typer.echo(f"{view.a.id} ↔ {view.b.id}")
    for title, in_common in (
        ("shared causes", view.shared_causes),
        ("shared countermeasures", view.shared_countermeasures),
    ):
        typer.echo(f"  {title}: {len(in_common)}")
        for s in in_common:
            typer.echo(f"    {s.concept.id}  {s.concept.label_ja}")
            typer.echo(f"      {view.a.id}: 「{_short(s.sentences_a[0])}」")
            typer.echo(f"      {view.b.id}: 「{_short(s.sentences_b[0])}」")
    groups = ", ".join(g.label_ja for g in view.shared_cause_groups) or "-"
    typer.echo(f"  shared cause groups: {groups}")
    typer.echo(f"  shared sectors: {', '.join(s.label_ja for s in view.shared_sectors) or '-'}")
    typer.echo(f"  same theme: {view.same_theme.label_ja if view.same_theme else '-'}")
    if view.similarity is not None:
        typer.echo(f"  similar_to score: {view.similarity:.3f}")
    if view.path:
        typer.echo("  path: " + " → ".join(n.id for n in view.path))


@graph_app.command("recommend")
def recommend_cmd(
    text: Annotated[
        str | None,
        typer.Argument(
            help="The incident, as you would paste it; '-' reads standard input, @FILE a file.",
            show_default=False,
            metavar="TEXT",
        ),
    ] = None,
    file: FileOption = None,
    k: Annotated[int, typer.Option(help="Similar cases used as evidence.")] = 5,
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """Likely root causes and countermeasures for a new incident, with their evidence."""
    settings = get_settings()
    text = read_input(text, file, "the incident text", settings.max_query_chars)
    check_k(k, settings.max_k)
    service = shared.service(settings)
    # POST /search's likely causes: the same use case, the analysts' judgements included
    result = recommend(service.snapshot, text, k, service.judgements.index, settings=settings)
    if as_json:
        return _dump(result.model_dump(mode="json"))
    if result.no_good_match:
        typer.echo("(no close analogue in the corpus: causes come from the text alone)")
    typer.echo("similar cases: " + ", ".join(f"{s.case.id}" for s in result.similar))
    typer.echo("likely causes:")
    for c in result.likely_causes:
        typer.echo(
            f"  {c.score:.2f}  {c.concept.id}  {c.concept.label_ja}"
            f"  (text {c.text_score:.2f}, similar cases {c.neighbour_score:.2f})"
        )
        for e in c.from_text[:1]:
            typer.echo(f"        text: 「{_short(e.sentence)}」")
        for e in c.from_cases[:2]:
            typer.echo(f"        {e.case_id}: 「{_short(e.sentences[0])}」")
    typer.echo("recommended countermeasures:")
    for m in result.countermeasures:
        answers = ", ".join(a.cause.id for a in m.addresses)
        typer.echo(f"  {m.score:.2f}  {m.concept.id}  {m.concept.label_ja}  → {answers}")
        for e in distinct_evidence(m.cases, 2):
            typer.echo(f"        {e.case_id}: 「{_short(e.countermeasure)}」")


@graph_app.command("eval")
def eval_cmd(
    as_json: Annotated[bool, _JSON_OPT] = False,
    chains: Annotated[
        bool, typer.Option("--chains", help="Measure the cause-chain extraction instead.")
    ] = False,
) -> None:
    """Leave-one-case-out micro P/R/F1 of the concept extractor against the seed annotations
    (``--chains``: of the chain extraction against the reviewed chains)."""
    settings = get_settings()
    extractor = shared.snapshot(settings).extractor
    if chains:
        return _eval_chains(extractor, as_json)
    with building(settings, "evaluating the concept extractor, one held-out case at a time"):
        # The data dir's embedder and vector cache (one settings object, passed down).
        results = evaluate(base=extractor)
    if as_json:
        return _dump({name: r.to_dict() for name, r in results.items()})
    typer.echo("leave-one-case-out over the 44 annotated seed cases (micro-averaged)")
    typer.echo(
        f"{'variant':<10} {'kind':<15} {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}"
    )
    for name, r in results.items():
        for kind, m in r.per_kind.items():
            typer.echo(
                f"{name:<10} {kind:<15} {m.precision:>6.3f} {m.recall:>6.3f} {m.f1:>6.3f} "
                f"{m.tp:>4} {m.fp:>4} {m.fn:>4}"
            )
    typer.echo(
        "combined = the default extractor; patterns were written while reading the seed "
        "(in-sample); learned/examples use no patterns (held-out case unseen)."
    )


def _eval_chains(extractor, as_json: bool) -> None:
    """``graph eval --chains``: step P/R/F1 and order agreement, one held-out case at a time,
    with the concepts found by patterns (the product's reader) and by learned examples."""
    cases = seed_cases()
    results = evaluate_chain_variants(
        cases, load_chains(cases=cases), extractor, load_annotations(cases=cases)
    )
    if as_json:
        return _dump(results)
    n = results["patterns"]["cases"]
    typer.echo(f"chain extraction, leave-one-case-out over the {n} reviewed chains (micro)")
    typer.echo(
        f"{'concepts by':<11} {'scored on':<21} {'P':>6} {'R':>6} {'F1':>6} "
        f"{'tp':>4} {'fp':>4} {'fn':>4}"
    )
    names = {"steps": "steps (type+concept)", "concepts": "concepts", "types": "step types"}
    for variant, scores in results.items():
        for key, name in names.items():
            m = scores[key]
            typer.echo(
                f"{variant:<11} {name:<21} {m['precision']:>6.3f} {m['recall']:>6.3f} "
                f"{m['f1']:>6.3f} {m['tp']:>4} {m['fp']:>4} {m['fn']:>4}"
            )
        order = scores["order"]
        typer.echo(
            f"{variant:<11} order agreement {order['agreement']:.3f} ({order['agreeing_pairs']}"
            f" of {order['pairs']} pairs of found steps; 0.5 = chance)"
        )
    typer.echo(
        "held out: the concept→type and type→position tables, and (learned) the case's "
        "examples; in-sample: the cue patterns and (patterns) the taxonomy's patterns."
    )


def causes_cmd(as_json: Annotated[bool, _JSON_OPT] = False) -> None:
    """Every root-cause concept (groups and their leaves) with its number of cases."""
    _list_concepts("cause", "cms", as_json)


def _list_concepts(kind: str, linked: str, as_json: bool) -> None:
    """``kizuki causes`` / ``kizuki countermeasures``: each concept with its number of
    cases and of linked concepts of the other kind (the ``linked`` column)."""
    items = list_concepts(_load_graph(), kind)
    if as_json:
        return _dump([i.model_dump(mode="json") for i in items])
    width = max(4, len(linked))
    typer.echo(f"{'id':<36} {'cases':>5} {linked:>{width}}  label")
    for i in items:
        indent = "" if i.is_group else "  "
        typer.echo(
            f"{indent + i.concept.id:<36} {i.n_cases:>5} {i.n_linked:>{width}}  "
            f"{indent}{i.concept.label_ja} / {i.concept.label_en}"
        )


def cause_cmd(
    cause_id: Annotated[str, typer.Argument(help="Cause id (see `kizuki causes`).")],
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """A root cause: its cases (with sentences) and the countermeasures that address it."""
    view = _navigate(cause_view, _load_graph(), cause_id)
    if as_json:
        return _dump(view.model_dump(mode="json"))
    typer.echo(f"{view.concept.id}  {view.concept.label_ja} / {view.concept.label_en}")
    typer.echo(f"  {view.definition}")
    if view.group:
        typer.echo(f"  group: {view.group.id} {view.group.label_ja}")
    typer.echo(f"cases ({len(view.cases)}):")
    for e in view.cases:
        typer.echo(f"  {e.case_id}  {_short(e.title, 60)}  [{e.source}]")
        for s in e.sentences:
            typer.echo(f"      「{_short(s)}」")
    typer.echo(f"countermeasures that address it ({len(view.countermeasures)}), by support:")
    for link in view.countermeasures:
        cases = ", ".join(dict.fromkeys(c.case_id for c in link.cases))
        typer.echo(
            f"  {link.support_count:>2}  {link.strength:4.0%}  {link.concept.id}  "
            f"{link.concept.label_ja}  ({cases})"
        )


def countermeasure_cmd(
    cm_id: Annotated[str, typer.Argument(help="Countermeasure id (cm.…).")],
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """A countermeasure: the causes it addresses (by support) and the cases that adopted it."""
    view = _navigate(countermeasure_view, _load_graph(), cm_id)
    if as_json:
        return _dump(view.model_dump(mode="json"))
    typer.echo(f"{view.concept.id}  {view.concept.label_ja} / {view.concept.label_en}")
    typer.echo(f"  {view.definition}")
    typer.echo(f"causes it addresses ({len(view.causes)}), by support:")
    for link in view.causes:
        cases = ", ".join(dict.fromkeys(c.case_id for c in link.cases))
        typer.echo(
            f"  {link.support_count:>2}  {link.concept.id}  {link.concept.label_ja}  ({cases})"
        )
    typer.echo(f"cases that adopted it ({len(view.cases)}):")
    for e in view.cases:
        typer.echo(f"  {e.case_id}  「{_short(e.sentences[0])}」")


def recurring_cmd(
    by: Annotated[str | None, typer.Option("--by", help="Break down by sector or theme.")] = None,
    level: Annotated[
        str, typer.Option(help="concept (leaf causes) or group (their top-level groups).")
    ] = "concept",
    limit: Annotated[int, typer.Option(help="Rows to print (text output).")] = 20,
    year: Annotated[int | None, _YEAR_OPT] = None,
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """Recurring root causes: by cases, sectors and themes (or per sector / theme)."""
    if by not in (None, "sector", "theme"):
        raise OptionError(f"--by must be sector or theme, not {by!r}")
    _check_level(level)
    if year is None:
        G = _load_graph()
    else:
        G, _ = filtered_graph(_filtered_snapshot(None, None, year), year=year)
    df = recurring_causes(G, level) if by is None else recurring_by(G, by, level)
    if as_json:
        return _dump(df.to_dict(orient="records"))
    if by is None:
        typer.echo(f"{'cases':>5} {'sectors':>7} {'themes':>6}  cause")
        for row in df.head(limit).itertuples():
            typer.echo(
                f"{row.n_cases:>5} {row.n_sectors:>7} {row.n_themes:>6}  "
                f"{row.cause_id}  {row.label_ja}"
            )
        return
    for value, part in df.groupby(by, sort=False):
        first = part.iloc[0]
        typer.echo(f"{first[f'{by}_label_ja']} ({value}, {first[f'{by}_cases']} cases)")
        for row in part.head(limit).itertuples():
            typer.echo(f"  {row.n_cases:>3} {row.share:4.0%}  {row.cause_id}  {row.label_ja}")


def countermeasures_cmd(as_json: Annotated[bool, _JSON_OPT] = False) -> None:
    """Every countermeasure concept (groups and their leaves) with its number of cases."""
    _list_concepts("countermeasure", "causes", as_json)


_LEVEL_OPT = typer.Option(help="concept (leaf causes) or group (their top-level groups).")
_SECTOR_OPT = typer.Option(help="Only cases of this sector (label, e.g. 地域銀行, or sector. id).")
_THEME_OPT = typer.Option(help="Only cases of this theme (id, or theme. id).")
_LIMIT_OPT = typer.Option(help="Rows to print (text output).")
_YEAR_OPT = typer.Option(help="Only cases of the report edition of this year (e.g. 2024).")


def _check_level(level: str) -> None:
    if level not in ("concept", "group"):
        raise OptionError(f"--level must be concept or group, not {level!r}")


def _filtered_snapshot(sector: str | None, theme: str | None, year: int | None = None) -> Snapshot:
    """The snapshot, once the filters are checked: the tables are those of the HTTP
    analytics (``api.runtime.reads.analytics_table``), but an unknown sector, theme or
    year is an error here, not an empty table."""
    snap = _snapshot()
    if sector is not None:
        shared.option_values(resolve_sector, snap.sectors, sector)
    if theme is not None:
        shared.option_values(resolve_theme, snap.themes, theme)
    if year is not None:
        shared.option_values(resolve_year, snap.years, year)
    return snap


def cooccurrence_cmd(
    level: Annotated[str, _LEVEL_OPT] = "concept",
    min_count: Annotated[int, typer.Option(help="Only pairs seen in this many cases or more.")] = 2,
    sector: Annotated[str | None, _SECTOR_OPT] = None,
    theme: Annotated[str | None, _THEME_OPT] = None,
    year: Annotated[int | None, _YEAR_OPT] = None,
    limit: Annotated[int, _LIMIT_OPT] = 20,
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """Pairs of root causes found in the same cases, with lift and Jaccard.

    Lift above 1: the pair occurs together more often than chance would give (with few
    cases a pair seen once can have a large lift: hence --min-count). The same table as
    GET /analytics/cooccurrence.
    """
    _check_level(level)
    if min_count < 1:
        raise OptionError(f"--min-count must be 1 or more, not {min_count}")
    _check_limit(limit)
    snap = _filtered_snapshot(sector, theme, year)
    table = analytics_table(
        snap, "cooccurrence", level, sector=sector, theme=theme, year=year, min_count=min_count
    )
    if as_json:
        return _dump(table)
    rows, n_cases = table["rows"], table["n_cases"]
    pairs = f"{len(rows)} pair{'' if len(rows) == 1 else 's'}"
    typer.echo(f"{pairs} of causes in at least {min_count} of {n_cases} cases")
    typer.echo(f"{'cases':>5} {'lift':>5} {'jacc.':>5}  causes")
    for row in rows[:limit]:
        typer.echo(
            f"{row['n_ab']:>5} {row['lift']:>5.2f} {row['jaccard']:>5.2f}  "
            f"{row['cause_a']} + {row['cause_b']}  ({row['label_ja_a']} / {row['label_ja_b']})"
        )


def coverage_cmd(
    level: Annotated[str, _LEVEL_OPT] = "concept",
    sector: Annotated[str | None, _SECTOR_OPT] = None,
    theme: Annotated[str | None, _THEME_OPT] = None,
    year: Annotated[int | None, _YEAR_OPT] = None,
    limit: Annotated[int, _LIMIT_OPT] = 20,
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """Coverage gaps: how often each cause's cases record a countermeasure against it.

    Worst first, with the cases that record none. The same table as GET /analytics/coverage.
    """
    _check_level(level)
    _check_limit(limit)
    snap = _filtered_snapshot(sector, theme, year)
    table = analytics_table(snap, "coverage", level, sector=sector, theme=theme, year=year)
    if as_json:
        return _dump(table)
    rows = table["rows"]
    gaps = sum(1 for row in rows if row["coverage"] < 1)
    typer.echo(f"{gaps} of {len(rows)} causes have cases without a countermeasure against them")
    typer.echo(f"{'covered':>7} {'cases':>7}  cause  (cases without one)")
    for row in rows[:limit]:
        missing = row["unaddressed_case_ids"]
        shown = ", ".join(missing[:5]) + (
            f", … {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        typer.echo(
            f"{row['coverage']:>7.0%} {row['n_addressed']:>3}/{row['n_cases']:<3}  "
            f"{row['cause_id']}  {row['label_ja']}  ({shown or '-'})"
        )


def trends_cmd(
    level: Annotated[str, _LEVEL_OPT] = "concept",
    sector: Annotated[str | None, _SECTOR_OPT] = None,
    theme: Annotated[str | None, _THEME_OPT] = None,
    limit: Annotated[int, _LIMIT_OPT] = 20,
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """Recurring causes by report edition: those in every edition, those rising.

    Each cause's cases per edition year, as a share of that edition's cases (editions
    differ in size). The same table as GET /analytics/trends.
    """
    _check_level(level)
    _check_limit(limit)
    snap = _filtered_snapshot(sector, theme)
    table = trends_table(snap, level, sector=sector, theme=theme)
    if as_json:
        return _dump(table)
    years, sizes = table["years"], table["n_cases_by_year"]
    editions = ", ".join(f"{y} ({n} cases)" for y, n in zip(years, sizes, strict=True))
    typer.echo(f"editions: {editions or 'none with a year'}")
    if len(years) < 2:
        typer.echo("one edition only: import another (kizuki corpus import REPORT.pdf) to compare")
    typer.echo(
        f"in every edition: {len(table['every_edition'])} causes; rising: {len(table['rising'])}"
    )
    typer.echo(f"{'':2} {' '.join(f'{y:>6}' for y in years)}  cause")
    for row in table["rows"][:limit]:
        mark = ("=" if row["every_edition"] else " ") + ("↑" if row["rising"] else " ")
        shares = " ".join(f"{s:>6.0%}" for s in row["shares"])
        typer.echo(f"{mark} {shares}  {row['cause_id']}  {row['label_ja']}")
    typer.echo("= in every edition, ↑ rising (share of each edition's cases)")


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise OptionError(f"--limit must be 1 or more, not {limit}")


def _register_graph_views(app: typer.Typer) -> None:
    """Top-level navigation commands (``graph export`` etc. live on ``graph_app``)."""
    app.command("causes")(causes_cmd)
    app.command("cause")(cause_cmd)
    app.command("countermeasures")(countermeasures_cmd)
    app.command("countermeasure")(countermeasure_cmd)
    app.command("recurring")(recurring_cmd)
    app.command("cooccurrence")(cooccurrence_cmd)
    app.command("coverage")(coverage_cmd)
    app.command("trends")(trends_cmd)
