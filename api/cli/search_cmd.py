"""``kizuki search``, ``kizuki eval`` and ``kizuki train``: similar-incident search, its
evaluation, and learning the ranking's weights.

``search`` answers with ``api.runtime.actions.search_incident``, the function behind
``POST /search`` and the web page: the same similar cases, explanations, judgements and
likely causes (``--json`` prints the API's body). ``eval`` scores the ranking of the same
snapshot (``search.validation`` over its searcher and the graph's cause source), so what it
measures is what ``search`` returns; ``eval --queries`` scores the ranking alone, and
``eval --replay`` measures what the judgements add (``search.replay``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from kizuki.api.cli import shared
from kizuki.api.cli.inputs import (
    FileOption,
    RankerFileOption,
    check_k,
    read_input,
    settings_with_ranker,
)
from kizuki.api.exceptions import CliError, OptionError
from kizuki.api.runtime.actions import resolve_filters, review_plan, search_incident
from kizuki.api.runtime.judgements import judged
from kizuki.api.runtime.results import SearchResult
from kizuki.api.runtime.snapshot import Snapshot
from kizuki.corpus.feedback import Judgement, eval_rows
from kizuki.corpus.settings import Settings, get_settings
from kizuki.search.evaluation import Query, Ranked, load_queries, report
from kizuki.search.replay import load_timeline, replay, stored_sessions
from kizuki.search.validation import QueryRun, collect, cross_validate, curve, outcomes, queries_of
from kizuki.search.validation import train as fit
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

__all__ = ["RANKERS", "evaluate", "register", "search", "train"]

#: ``default`` is the product's ranking (learned weights over every source, the graph's cause
#: list included); the others rank the same candidates for comparison (``search.scorer``).
RANKERS = ("default", "rrf", "lexical", "dense")


RankerOption = Annotated[
    str,
    typer.Option(
        "--ranker",
        help="default (learned, with the graph's cause list), rrf (unweighted fusion of every "
        "source), lexical (BM25 of the case text) or dense (the case vector)",
    ),
]

#: Matched fields as the table prints them (``outside``: the case's outside view, the
#: description of its event written without the bank's own terms).
FIELD_NAMES = {"outside": "outside view"}


def _check_ranker(name: str) -> None:
    if name not in RANKERS:
        raise OptionError(f"--ranker must be one of {', '.join(RANKERS)}, not {name!r}")


def search(
    text: Annotated[
        str | None,
        typer.Argument(
            help="the incident as pasted; '-' reads standard input, @FILE a file",
            show_default=False,
            metavar="TEXT",
        ),
    ] = None,
    file: FileOption = None,
    k: Annotated[int, typer.Option("--k", help="how many cases to return")] = 10,
    sector: Annotated[
        list[str] | None, typer.Option("--sector", help="only cases of this sector (repeatable)")
    ] = None,
    theme: Annotated[
        list[str] | None, typer.Option("--theme", help="only cases of this theme id (repeatable)")
    ] = None,
    year: Annotated[
        list[int] | None,
        typer.Option("--year", help="only cases of the report edition of this year (repeatable)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON on stdout")] = False,
    ranker: RankerOption = "default",
    ranker_file: RankerFileOption = None,
) -> None:
    """Find past incidents analogous to TEXT, best first, with why each matched."""
    settings = settings_with_ranker(ranker_file)
    text = read_input(text, file, "the incident text", settings.max_query_chars)
    check_k(k, settings.max_k)
    _check_ranker(ranker)
    service = shared.service(settings)
    snap = service.snapshot
    filters = shared.option_values(resolve_filters, snap, sector, theme, year)
    result = search_incident(
        snap,
        text,
        k,
        filters,
        service.judgements.index,
        settings=settings,
        scorer=ranker,
    )
    if as_json:
        return shared.echo_json(result.model_dump(mode="json"))
    _print_results(snap, result)


def _print_results(snap: Snapshot, result: SearchResult) -> None:
    """The table of ``kizuki search``: the match strength first, always, then each case."""
    if result.no_good_match:
        typer.echo(
            f"match: none (confidence {result.confidence:.2f} < threshold "
            f"{result.threshold:.2f}): nothing in the corpus is clearly analogous. "
            "Closest cases anyway:"
        )
    else:
        typer.echo(
            f"match: {result.match_strength} (confidence {result.confidence:.2f}, "
            f"threshold {result.threshold:.2f})"
        )
    typer.echo(f"{'#':>2}  {'case':<12} {'score':>8}  {'theme':<22} event / shared terms")
    for r in result.results:
        event = " ".join(snap.by_id[r.case_id].event.split())
        theme = r.theme.id if r.theme else "-"
        typer.echo(
            f"{r.rank:>2}  {r.case_id:<12} {r.score:>8.4f}  {theme[:22]:<22} "
            f"{event[:60]}{'…' if len(event) > 60 else ''}"
        )
        terms = ", ".join(dict.fromkeys(t.term for t in r.shared_terms[:8]))
        fields = ", ".join(FIELD_NAMES.get(f, f) for f in r.matched_fields)
        typer.echo(f"{'':>38}matched: {fields or '-'}; shared: {terms or '-'}")
        for why in r.feedback:
            typer.echo(f"{'':>38}judged: {why.reason}")
        for label, items in (("cause", r.causes), ("countermeasure", r.countermeasures)):
            for item in items[:2]:
                item = " ".join(item.split())
                typer.echo(f"{'':>38}{label}: {item[:70]}{'…' if len(item) > 70 else ''}")


# -- eval and train: one pass over graded queries -------------------------------------------


def _load_query_files(paths: list[Path], settings: Settings) -> list[tuple[str, Query]]:
    out = []
    seen: set[str] = set()
    for path in paths:
        try:
            items = load_queries(path)
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise CliError(str(exc)) from None
        if not items:
            raise CliError(f"{path} holds no queries")
        limit = settings.max_query_chars
        for q in items:
            if not q.query.strip() or len(q.query) > limit:
                raise CliError(f"{path}: query {q.id} is empty or longer than {limit} characters")
            if q.id in seen:
                raise CliError(f"{path}: query id {q.id} appears twice")
            seen.add(q.id)
            out.append((path.stem, q))
    return out


def _collect(
    items: Sequence[tuple[str, Query]], settings: Settings
) -> tuple[Snapshot, list[QueryRun]]:
    """Every query's candidates and signals, once, with a progress bar on stderr: the
    snapshot's searcher and the graph's cause source (the ranking ``search`` uses)."""
    snap = shared.snapshot(settings)  # a spinner on a terminal while the index loads
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("ranking queries", total=len(items))
        runs = collect(items, snap.searcher, snap.ranker.extras, lambda: bar.advance(task))
    return snap, runs


QueriesOption = Annotated[
    list[Path],
    typer.Option("--queries", help="JSONL: id, query, relevant (repeat for several files)"),
]
OptionalQueries = Annotated[
    list[Path] | None,
    typer.Option("--queries", help="JSONL: id, query, relevant (repeat for several files)"),
]


def evaluate(
    queries: OptionalQueries = None,
    k: Annotated[int, typer.Option("--k", help="results ranked per query")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON on stdout")] = False,
    ranker: Annotated[
        list[str] | None,
        typer.Option(
            "--ranker",
            help="default, rrf, lexical or dense; repeat to compare several in one table",
        ),
    ] = None,
    cv: Annotated[
        int,
        typer.Option(
            "--cv",
            help="also retrain the learned ranking and no-match model with K folds and score "
            "each query by models that never saw it (0: off)",
        ),
    ] = 0,
    per_query: Annotated[
        bool, typer.Option("--per-query", help="print each query's ranking with its grades")
    ] = False,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="search (queries are incidents) or review (queries are change plans: "
            "`kizuki review`'s similar failures are scored)",
        ),
    ] = "search",
    feedback: Annotated[
        bool,
        typer.Option(
            "--feedback",
            help="also score the ranking on every judgement stored so far (the analysts' "
            "own test set, as GET /feedback?format=jsonl exports it)",
        ),
    ] = False,
    replay: Annotated[
        bool,
        typer.Option(
            "--replay",
            help="replay judgements in time order, each query ranked only with the earlier "
            "ones: nDCG@10 without and with feedback (the store's, or --timeline's)",
        ),
    ] = False,
    timeline: Annotated[
        Path | None,
        typer.Option(
            "--timeline", help="with --replay: a fixture of searches (eval/feedback/README.md)"
        ),
    ] = None,
    ranker_file: RankerFileOption = None,
) -> None:
    """Score the search on graded queries: nDCG@10, Recall@5, MRR, no-match accuracy."""
    settings = settings_with_ranker(ranker_file)
    check_k(k, settings.max_k)
    _check_eval_options(queries, cv, per_query, ranker, mode, feedback, replay, timeline)
    if replay:
        return _replay(timeline, as_json, settings)
    queries = queries or []
    if mode == "review":
        return _evaluate_reviews(queries, k, as_json, settings)
    names = list(dict.fromkeys(ranker or ["default"]))
    more = _feedback_queries(settings) if feedback else []
    started = time.perf_counter()
    snap, runs = _collect([*_load_query_files(queries, settings), *more], settings)
    reports, rankings = _score(snap, runs, names, cv)
    seconds = round(time.perf_counter() - started, 3)
    if as_json:
        return _print_json(reports, rankings, names, k, per_query, seconds)
    _print_table(queries_of(runs), reports, rankings, k, per_query, seconds)


def _check_eval_options(queries, cv, per_query, ranker, mode, feedback, replay, timeline) -> None:
    """The options of ``eval`` that go together, and those that do not (``OptionError``)."""
    if timeline is not None and not replay:
        raise OptionError("--timeline goes with --replay")
    if replay:
        if queries or cv or per_query or ranker or mode != "search":
            raise OptionError("--replay takes only --feedback or --timeline (and --json)")
        if (timeline is None) == (not feedback):
            raise OptionError("--replay needs either --feedback (the store) or --timeline FILE")
        return
    if feedback and mode != "search":
        raise OptionError("--feedback scores searches, not --mode review")
    if not queries and not feedback:
        raise OptionError("give --queries FILE (repeatable) or --feedback")
    if mode not in ("search", "review"):
        raise OptionError(f"--mode must be search or review, not {mode!r}")
    if mode == "review":
        if ranker or cv or per_query:
            raise OptionError("--mode review takes neither --ranker, --cv nor --per-query")
        return
    for name in ranker or []:
        _check_ranker(name)
    if cv == 1 or cv < 0:
        raise OptionError("--cv takes the number of folds (2 or more), or 0 for none")


def _score(
    snap: Snapshot, runs: list[QueryRun], names: list[str], cv: int
) -> tuple[dict[str, dict], dict[str, dict[str, Ranked]]]:
    """Each ranking's report (per file too when there are several) and its rankings; with
    ``cv``, the learned ranking retrained on K folds as ``default (cv)``."""
    items = queries_of(runs)
    files = list(dict.fromkeys(r.group for r in runs))
    plain = snap.searcher

    def scored(ranks: dict[str, Ranked]) -> dict:
        out = report(items, ranks)
        if len(files) > 1:
            out["by_file"] = {
                f: report([r.query for r in runs if r.group == f], ranks) for f in files
            }
        return out

    reports, rankings = {}, {}
    for name in names:
        scorer = plain.scorer if name == "default" else plain.with_scorer(name).scorer
        rankings[name] = outcomes(runs, scorer, plain.no_match)
        reports[name] = scored(rankings[name])
    if cv:
        graded = sum(1 for q in items if q.relevant)
        if graded < cv or len(items) - graded < 1:
            raise CliError("--cv needs at least as many graded queries as folds, and one without")
        rankings["default (cv)"], probability = cross_validate(runs, k=cv)
        reports["default (cv)"] = scored(rankings["default (cv)"])
        reports["default (cv)"]["curve"] = curve(runs, probability)
    return reports, rankings


def _print_json(reports, rankings, names, k, per_query, seconds) -> None:
    if len(reports) == 1:
        out = {**reports[names[0]], "ranker": names[0], "seconds": seconds}
    else:
        out = {"rankers": reports, "seconds": seconds}
    if per_query:
        out["per_query"] = {
            name: {qid: r.case_ids[:k] for qid, r in ranks.items()}
            for name, ranks in rankings.items()
        }
    shared.echo_json(out)


def _print_table(items, reports, rankings, k, per_query, seconds) -> None:
    typer.echo(f"queries: {len(items)}   time: {seconds:.1f}s")
    typer.echo(
        f"{'ranker':<14} {'subset':<18} {'n':>3} {'nDCG@10':>8} {'R@5':>6} {'MRR':>6} "
        f"{'FalseRej':>8} {'NoneAcc':>8}"
    )
    for name, out in reports.items():
        rows = [("all", out)]
        for key in ("by_file", "by_kind", "by_lang"):
            rows += [(f"{key[3:]}={v}", m) for v, m in out.get(key, {}).items()]
        for subset, m in rows:
            if not m["n"]:
                continue
            none = "-" if m["none_accuracy"] is None else f"{m['none_accuracy']:.3f}"
            typer.echo(
                f"{name:<14} {subset:<18} {m['n']:>3} {m['ndcg@10']:>8.3f} {m['recall@5']:>6.3f} "
                f"{m['mrr']:>6.3f} {m['false_rejection']:>8.3f} {none:>8}"
            )
    if per_query:
        for q in items:
            typer.echo(f"\n{q.id}  {' '.join(q.query.split())[:90]}")
            for name, ranks in rankings.items():
                shown = [
                    f"{c}({q.relevant[c]})" if c in q.relevant else c
                    for c in ranks[q.id].case_ids[:k]
                ]
                flag = "  [no good match]" if ranks[q.id].no_good_match else ""
                typer.echo(f"  {name:<14} {' '.join(shown)}{flag}")


def _stored_judgements(settings: Settings) -> tuple[list[Judgement], list[dict]]:
    """The store's judgements, on the cases it still holds (a judgement of a deleted case
    is kept but ignored), and the eval rows they make."""
    service = shared.service(settings)
    known = service.snapshot.by_id
    stored = [j for j in service.judgements.all() if j.case_id in known]
    return stored, eval_rows(stored)


def _feedback_queries(settings: Settings) -> list[tuple[str, Query]]:
    _, rows = _stored_judgements(settings)
    if not rows:
        raise CliError("no judgement marks a case similar yet (POST /feedback, or the page)")
    return [("feedback", Query(r["id"], r["query"], r["relevant"], kind="feedback")) for r in rows]


def _replay(timeline: Path | None, as_json: bool, settings: Settings) -> None:
    """``--replay``: nDCG@10 without and with the judgements made before each query."""
    if timeline is not None:
        try:
            sessions = load_timeline(timeline)
        except (OSError, ValueError) as exc:
            raise CliError(str(exc)) from None
        source = str(timeline)
    else:
        stored, rows = _stored_judgements(settings)
        sessions = stored_sessions(rows, judged(stored))
        source = "the store's judgements"
    if not sessions:
        raise CliError(f"{source}: nothing to replay")
    ids = [s.query.id for s in sessions]
    if len(set(ids)) != len(ids):
        raise CliError(f"{source}: a query id appears twice")
    snap, runs = _collect([(s.group, s.query) for s in sessions], settings)
    out = replay(
        sessions,
        {r.query.id: r for r in runs},
        snap.searcher.scorer,
        settings.feedback_min_similarity,
    ).report()
    out["source"] = source
    if as_json:
        return shared.echo_json(out)
    typer.echo(f"replay of {source}: {out['queries']} searches, {out['judgements']} judgements")
    typer.echo(f"{'subset':<18} {'n':>3} {'nDCG@10 without':>16} {'with':>6} {'moved':>6}")
    groups = {"all": None, **{g: g for g in out["without"]["by_group"]}}
    for label, g in groups.items():
        a = out["without"] if g is None else out["without"]["by_group"][g]
        b = out["with"] if g is None else out["with"]["by_group"][g]
        moved = sum(out["moved_queries"].values()) if g is None else out["moved_queries"][g]
        if a["n"]:
            typer.echo(
                f"{label:<18} {a['n']:>3} {a['ndcg@10']:>16.3f} {b['ndcg@10']:>6.3f} {moved:>6}"
            )


def _evaluate_reviews(paths: list[Path], k: int, as_json: bool, settings: Settings) -> None:
    """Score ``kizuki review``'s similar failures on graded plans."""
    items = [q for _, q in _load_query_files(paths, settings)]
    snap = shared.snapshot(settings)
    started = time.perf_counter()
    runs = {}
    for q in items:
        result = review_plan(snap, q.query, k=max(k, 10))
        runs[q.id] = Ranked([f.case_id for f in result.similar_failures], False)
    out = {**report(items, runs), "mode": "review"}
    out["seconds"] = round(time.perf_counter() - started, 3)
    graded = [q for q in items if q.relevant]
    out["grade2_in_top5"] = sum(
        any(q.relevant.get(c) == 2 for c in runs[q.id].case_ids[:5]) for q in graded
    )
    if as_json:
        return shared.echo_json(out)
    typer.echo(
        f"plans: {out['n']}  nDCG@10 {out['ndcg@10']:.3f}  Recall@5 {out['recall@5']:.3f}  "
        f"MRR {out['mrr']:.3f}  a grade-2 case in the top 5: {out['grade2_in_top5']} of "
        f"{len(graded)}"
    )


def train(
    queries: QueriesOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="where to write the model")],
) -> None:
    """Learn the default ranking's weights and the no-match model from graded queries."""
    settings = get_settings()
    _, runs = _collect(_load_query_files(queries, settings), settings)
    provenance = {
        "trained_on": [
            {"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()[:16]}
            for p in queries
        ],
        "command": "kizuki train " + " ".join(f"--queries {p.name}" for p in queries),
    }
    model = fit(runs, provenance)
    try:
        model.save(output)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {output}: {len(model.scorer.weights)} weights from {len(runs)} queries")


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("eval")(evaluate)
    app.command("train")(train)
