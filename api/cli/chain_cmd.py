"""``kizuki chain CASE`` and ``kizuki paths``: how failures unfold.

``chain`` prints a case's cause chain (the reviewed one for a bundled case, the one read
from the text for an imported case) step by step with its evidence; ``paths`` the most
frequent 2- and 3-step cause sequences over all chains, overall or per sector / theme, with
the earliest step an adopted countermeasure would have cut. Both read the same tables as
``GET /chains/{case_id}`` and ``GET /analytics/paths`` (``api.runtime.reads``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from kizuki.api.cli import shared
from kizuki.api.cli.graph_cmd import _filtered_snapshot, _short
from kizuki.api.exceptions import OptionError
from kizuki.api.runtime.reads import case_chain_or_404, paths_table
from kizuki.corpus.settings import get_settings

__all__ = ["register"]

_JSON_OPT = typer.Option("--json", help="Print JSON instead of text.")


def register(app: typer.Typer) -> None:
    app.command("chain")(chain_cmd)
    app.command("paths")(paths_cmd)


def chain_cmd(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. fsa2019-05.")],
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """How a case's failure unfolded: its steps in order, typed, with their evidence."""
    view = case_chain_or_404(shared.snapshot(get_settings()), case_id)  # NotFound: one line
    if as_json:
        return shared.echo_json(view)
    typer.echo(f"{view['case_id']}  ({view['source']})")
    for step in view["steps"]:
        concept = f"  {step['concept']} {step['concept_label_ja']}" if step["concept"] else ""
        typer.echo(f"  {step['position']}. {step['type_label_ja']} ({step['type']}){concept}")
        if step["summary_ja"]:
            typer.echo(f"       {step['summary_ja']}")
        typer.echo(f"       {step['field']}: 「{_short(step['evidence'])}」")


def paths_cmd(
    by: Annotated[str | None, typer.Option("--by", help="Per sector or theme.")] = None,
    sector: Annotated[str | None, typer.Option(help="Only cases of this sector.")] = None,
    theme: Annotated[str | None, typer.Option(help="Only cases of this theme.")] = None,
    length: Annotated[int | None, typer.Option(help="Only paths of 2 or of 3 steps.")] = None,
    min_support: Annotated[
        int | None, typer.Option(help="Minimum cases (default 2 overall, 1 per group).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Paths per group.")] = 10,
    as_json: Annotated[bool, _JSON_OPT] = False,
) -> None:
    """Common failure paths: the most frequent cause sequences of the chains, with where an
    adopted countermeasure would have cut them earliest."""
    if by not in (None, "sector", "theme"):
        raise OptionError(f"--by must be sector or theme, not {by!r}")
    if length is not None and length not in (2, 3):
        raise OptionError(f"--length must be 2 or 3, not {length}")
    if min_support is not None and min_support < 1:
        raise OptionError(f"--min-support must be 1 or more, not {min_support}")
    if not 1 <= limit <= 100:
        raise OptionError(f"--limit must be 1 to 100, not {limit}")
    snap = _filtered_snapshot(sector, theme)
    table = paths_table(
        snap,
        by or "all",
        sector=sector,
        theme=theme,
        length=length,
        min_support=min_support,
        limit=limit,
    )
    if as_json:
        return shared.echo_json(table)
    group = None
    typer.echo(f"common failure paths over {table['n_cases']} cases")
    for row in table["rows"]:
        if by and row[by] != group:
            group = row[by]
            typer.echo(f"{row[f'{by}_label_ja']} ({group})")
        cut = row["cut"]
        where = (
            f"  cut at step {cut['step']} by {cut['countermeasures'][0]['id']}"
            if cut
            else "  (no adopted countermeasure)"
        )
        typer.echo(f"  {row['support']:>3}  {' → '.join(row['labels_ja'])}{where}")
        typer.echo(f"       {', '.join(row['case_ids'][:8])}")
