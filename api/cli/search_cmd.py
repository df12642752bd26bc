"""``kizuki search`` and ``kizuki eval``: similar-incident search and its evaluation.

Both rank through ``api.engine.get_searcher`` — the same code path as the HTTP API — so
what ``eval`` measures is what ``search`` returns.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from api.cli import CliError
from corpus.settings import get_settings

#: ``default`` is the product's ranking (hybrid + cause-aware); the others exist to compare.
RANKERS = ("default", "hybrid", "lexical", "dense")


RankerOption = Annotated[
    str,
    typer.Option(
        "--ranker", help="default (hybrid + cause-aware), hybrid (no cause list), lexical or dense"
    ),
]


def _searcher(ranker: str):
    from api.engine import get_plain_searcher, get_searcher

    if ranker not in RANKERS:
        raise CliError(f"--ranker must be one of {', '.join(RANKERS)}, not {ranker!r}")
    settings = get_settings()
    if ranker == "default":
        return get_searcher(settings)
    if ranker == "hybrid":  # lexical + dense fusion, without the graph's cause list
        return get_plain_searcher(settings)
    # "lexical" / "dense" are the rankers alone: no fusion, no neighbour expansion.
    return get_plain_searcher(settings).with_config(mode=ranker, neighbour_weight=0.0)


def _check_k(k: int) -> None:
    limit = get_settings().max_k
    if not 1 <= k <= limit:
        raise CliError(f"--k must be between 1 and {limit}, not {k}")


def _read_text(text: str) -> str:
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise CliError("the incident text is empty")
    limit = get_settings().max_query_chars
    if len(text) > limit:
        raise CliError(f"the incident text has {len(text)} characters; the limit is {limit}")
    return text


def search(
    text: Annotated[str, typer.Argument(help="the incident as pasted; '-' reads standard input")],
    k: Annotated[int, typer.Option("--k", help="how many cases to return")] = 10,
    sector: Annotated[
        list[str] | None, typer.Option("--sector", help="only cases of this sector (repeatable)")
    ] = None,
    theme: Annotated[
        list[str] | None, typer.Option("--theme", help="only cases of this theme id (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON on stdout")] = False,
    ranker: RankerOption = "default",
) -> None:
    """Find past incidents analogous to TEXT, best first, with why each matched."""
    text = _read_text(text)
    _check_k(k)
    searcher = _searcher(ranker)
    for value in sector or []:
        if value not in searcher.sectors():
            raise CliError(f"unknown sector {value!r}; known: {', '.join(searcher.sectors())}")
    for value in theme or []:
        if value not in searcher.themes():
            raise CliError(f"unknown theme {value!r}; known: {', '.join(searcher.themes())}")
    response = searcher.search(text, k=k, sectors=sector or None, themes=theme or None)
    if as_json:
        typer.echo(json.dumps(response.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    if response.no_good_match:
        typer.echo(
            f"No good match: nothing in the corpus is clearly analogous "
            f"(confidence {response.confidence:.2f} < {response.threshold:.2f}). "
            "Closest cases anyway:"
        )
    typer.echo(f"{'#':>2}  {'case':<12} {'score':>8}  {'theme':<22} event / shared terms")
    for r in response.results:
        event = " ".join(r.event.split())
        typer.echo(
            f"{r.rank:>2}  {r.case_id:<12} {r.score:>8.4f}  {(r.theme or '-')[:22]:<22} "
            f"{event[:60]}{'…' if len(event) > 60 else ''}"
        )
        terms = ", ".join(dict.fromkeys(t.term for t in r.shared_terms[:8]))
        fields = ", ".join(r.matched_fields)
        typer.echo(f"{'':>38}matched: {fields or '-'}; shared: {terms or '-'}")
        for label, items in (("cause", r.causes), ("countermeasure", r.countermeasures)):
            for item in items[:2]:
                item = " ".join(item.split())
                typer.echo(f"{'':>38}{label}: {item[:70]}{'…' if len(item) > 70 else ''}")


def evaluate(
    queries: Annotated[Path, typer.Option("--queries", help="JSONL: id, query, relevant")],
    k: Annotated[int, typer.Option("--k", help="results ranked per query")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON on stdout")] = False,
    ranker: RankerOption = "default",
) -> None:
    """Score the search on graded queries: nDCG@10, Recall@5, MRR, no-match accuracy."""
    from search.evaluation import Ranked, load_queries, report, run_queries

    _check_k(k)
    try:
        items = load_queries(queries)
    except OSError as exc:
        raise CliError(f"cannot read {queries}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not items:
        raise CliError(f"{queries} holds no queries")
    searcher = _searcher(ranker)
    limit = get_settings().max_query_chars

    def rank(text: str) -> Ranked:
        if not text.strip() or len(text) > limit:
            raise CliError(f"a query is empty or longer than {limit} characters")
        response = searcher.search(text, k=k)
        return Ranked([r.case_id for r in response.results], response.no_good_match)

    started = time.perf_counter()
    runs = run_queries(items, rank)
    out = report(items, runs)
    out["ranker"] = ranker
    out["seconds"] = round(time.perf_counter() - started, 3)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    typer.echo(f"ranker: {ranker}   queries: {len(items)}   time: {out['seconds']:.1f}s")
    typer.echo(f"{'subset':<16} {'n':>3} {'nDCG@10':>8} {'R@5':>6} {'MRR':>6} {'FalseRej':>8}")
    rows = [("all", out)]
    for key in ("by_kind", "by_lang"):
        rows += [(f"{key[3:]}={v}", m) for v, m in out.get(key, {}).items()]
    for name, m in rows:
        if not m["n"]:
            continue
        typer.echo(
            f"{name:<16} {m['n']:>3} {m['ndcg@10']:>8.3f} {m['recall@5']:>6.3f} "
            f"{m['mrr']:>6.3f} {m['false_rejection']:>8.3f}"
        )
    if out["none_accuracy"] is not None:
        typer.echo(
            f"none_accuracy: {out['none_accuracy']:.3f} over {out['n_none']} queries without "
            f"analogues; false rejections: {out['false_rejection']:.3f} of {out['n']} graded"
        )


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("eval")(evaluate)
