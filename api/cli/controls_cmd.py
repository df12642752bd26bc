"""``kizuki controls``: the failures seen through the control frameworks auditors use.

Where the failures concentrate by NIST CSF 2.0 function, which controls the recorded
countermeasures implement most, and which failed controls have cases with no recorded
countermeasure; ``--csv FILE`` writes every control row for an audit working paper. The
same table as ``GET /analytics/controls`` (``api.runtime.reads.controls_table``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from kizuki.api.cli import shared
from kizuki.api.cli.graph_cmd import _filtered_snapshot
from kizuki.api.exceptions import OptionError
from kizuki.api.runtime.reads import controls_csv, controls_table

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("controls")(controls_cmd)


def controls_cmd(
    framework: Annotated[
        str, typer.Option(help="nist_csf_2 (NIST CSF 2.0) or iso27001_2022 (Annex A).")
    ] = "nist_csf_2",
    sector: Annotated[str | None, typer.Option(help="Only cases of this sector.")] = None,
    theme: Annotated[str | None, typer.Option(help="Only cases of this theme.")] = None,
    limit: Annotated[int, typer.Option(help="Rows per list (text output).")] = 10,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", help="Write every control row as CSV ('-': standard output)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Failures by control framework: CSF functions, controls implemented, gaps."""
    if framework not in ("nist_csf_2", "iso27001_2022"):
        raise OptionError(f"--framework must be nist_csf_2 or iso27001_2022, not {framework!r}")
    if not 1 <= limit <= 200:
        raise OptionError(f"--limit must be 1 to 200, not {limit}")
    snap = _filtered_snapshot(sector, theme)
    table = controls_table(snap, framework, sector=sector, theme=theme, limit=200)  # type: ignore[arg-type]
    if csv_path is not None:
        text = controls_csv(table)
        if str(csv_path) == "-":
            typer.echo(text, nl=False)
        else:
            csv_path.write_text(text, encoding="utf-8", newline="")
            typer.echo(f"wrote {len(table['controls'])} controls to {csv_path}", err=True)
        return
    if as_json:
        return shared.echo_json(table)
    rows = {r["control"]: r for r in table["controls"]}
    typer.echo(f"{table['framework_title']} over {table['n_cases']} cases")
    typer.echo("failed causes by CSF function:")
    for f in table["functions"]:
        typer.echo(
            f"  {f['function']}  {f['label_en']:<9} {f['n_causes']:>3} ({f['share']:4.0%})"
            f"  in {f['n_cases']} cases"
        )
    typer.echo("controls the recorded countermeasures implement most (cases):")
    for control in table["most_implemented"][:limit]:
        r = rows[control]
        typer.echo(f"  {r['n_countermeasure']:>3}  {control:<9} {r['title']}")
    typer.echo("failed controls with cases that record no countermeasure for them:")
    for control in table["unanswered"][:limit]:
        r = rows[control]
        shown = ", ".join(r["unanswered_case_ids"][:6])
        more = f", … {r['n_unanswered'] - 6} more" if r["n_unanswered"] > 6 else ""
        typer.echo(
            f"  {r['n_unanswered']:>3}/{r['n_failed']:<3} {control:<9} {r['title']}  ({shown}{more})"
        )
