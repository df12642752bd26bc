"""``kizuki review PLAN``: a planned change checked against past failures."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from api.cli import CliError
from corpus.settings import get_settings


class ChecklistFormat(StrEnum):
    markdown = "markdown"
    csv = "csv"


def _read_plan(plan: str) -> str:
    """The plan text: '-' reads standard input, an existing file is read, else the text."""
    if plan == "-":
        plan = sys.stdin.read()
    elif len(plan) < 1024 and "\n" not in plan and Path(plan).is_file():
        try:
            plan = Path(plan).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {plan}: {exc}") from None
    if not plan.strip():
        raise CliError("the plan is empty")
    limit = get_settings().max_query_chars
    if len(plan) > limit:
        raise CliError(f"the plan has {len(plan)} characters; the limit is {limit}")
    return plan.strip()


def review(
    plan: Annotated[
        str, typer.Argument(help="the plan: its text, a UTF-8 file, or '-' for standard input")
    ],
    k: Annotated[int, typer.Option("--k", help="how many similar past failures")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print the review as JSON")] = False,
    checklist: Annotated[
        ChecklistFormat | None,
        typer.Option("--checklist", help="print only the checklist, as markdown or csv"),
    ] = None,
) -> None:
    """Review a planned change: the past failures it risks repeating, its risks (root causes
    its statements point to) and a checklist of the countermeasures that worked."""
    from api.engine import get_searcher
    from graph.review import checklist_csv, checklist_markdown
    from graph.review import review as run_review

    text = _read_plan(plan)
    limit = get_settings().max_k
    if not 1 <= k <= limit:
        raise CliError(f"--k must be between 1 and {limit}, not {k}")
    result = run_review(get_searcher(get_settings()), text, k=k)
    if checklist is ChecklistFormat.markdown:
        typer.echo(checklist_markdown(result), nl=False)
        return
    if checklist is ChecklistFormat.csv:
        typer.echo(checklist_csv(result), nl=False)
        return
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
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
