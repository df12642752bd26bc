"""``kizuki review PLAN``: a planned change checked against past failures
(``api.runtime.actions.review_plan``, as ``POST /review`` and the review page)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from kizuki.api.cli import shared
from kizuki.api.cli.inputs import FileOption, check_k, read_input
from kizuki.api.runtime.actions import review_plan
from kizuki.corpus.settings import get_settings
from kizuki.graph.review import checklist_csv, checklist_markdown

__all__ = ["register", "review"]


class ChecklistFormat(StrEnum):
    markdown = "markdown"
    csv = "csv"


def review(
    plan: Annotated[
        str | None,
        typer.Argument(
            help="the plan: its text, '-' for standard input, or @FILE (a UTF-8 file)",
            show_default=False,
            metavar="PLAN",
        ),
    ] = None,
    file: FileOption = None,
    k: Annotated[int, typer.Option("--k", help="how many similar past failures")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print the review as JSON")] = False,
    checklist: Annotated[
        ChecklistFormat | None,
        typer.Option("--checklist", help="print only the checklist, as markdown or csv"),
    ] = None,
) -> None:
    """Review a planned change: the past failures it risks repeating, its risks (root causes
    its statements point to) and a checklist of the countermeasures that worked."""
    settings = get_settings()
    text = read_input(plan, file, "the plan", settings.max_query_chars)
    check_k(k, settings.max_k)
    result = review_plan(shared.snapshot(settings), text, k)
    if checklist is ChecklistFormat.markdown:
        typer.echo(checklist_markdown(result), nl=False)
        return
    if checklist is ChecklistFormat.csv:
        typer.echo(checklist_csv(result), nl=False)
        return
    if as_json:
        return shared.echo_json(result.model_dump(mode="json"))
    typer.echo(f"similar past failures ({result.match_strength}):")
    for f in result.similar_failures:
        steps = ", ".join(map(str, f.matched_steps)) or "-"
        typer.echo(f"  {f.case_id}  {f.score:7.3f}  steps {steps:<10} {f.title[:50]}")
    typer.echo("risks:")
    for r in result.risks:
        cases = ", ".join(c.case_id for c in r.cases)
        typer.echo(f"  {r.score:.2f}  {r.concept.id}  {r.concept.label_ja}  ({cases})")
        typer.echo(f"        plan: 「{r.plan_sentence[:60]}」")
    typer.echo("checklist:")
    for item in result.checklist:
        cases = ", ".join(dict.fromkeys(c.case_id for c in item.cases))
        typer.echo(f"  [ ] {item.item}  ({item.support_count} cases: {cases})")


def register(app: typer.Typer) -> None:
    app.command("review")(review)
