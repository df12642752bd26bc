"""``kizuki corpus …``: build the bundled corpus from the seed, import cases, show one.

* ``kizuki corpus build [--seed PATH] [--year 2019] [--output PATH]`` parses the report
  text and writes ``fsaYYYY.jsonl`` and ``fsaYYYY_report.json``: to ``--output`` (a file or
  an existing directory), else to the repository's ``corpus/data`` when run from a checkout
  of Kizuki, else to the working directory; never into the installed package.
* ``kizuki corpus import FILE [--format jsonl|csv|fsa-report] [--year YYYY] [--url URL]
  [--data-dir DIR] [--dry-run]`` validates the whole file (a report PDF or text: its layout
  and edition are read, :mod:`kizuki.corpus.editions`), then adds its cases to the case
  store in one transaction (the bundled seed is loaded into a new store first).
* ``kizuki corpus show ID [--file PATH] [--json]`` prints one case.
* ``kizuki corpus list [--sector S] [--data-dir DIR] [--json]`` lists the cases (id, sector,
  title): those of the case store, or the bundled corpus before the store exists.
* ``kizuki corpus delete ID [--yes] [--data-dir DIR]`` deletes one case from the store (a
  bundled one only with ``--yes``).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from kizuki.api.cli.shared import option_values
from kizuki.api.exceptions import CliError, OptionError
from kizuki.api.runtime.filters import case_facets, resolve_sector
from kizuki.corpus import seed_cases
from kizuki.corpus.editions import ReportImport
from kizuki.corpus.fsa_report import ReportParseError, parse_report
from kizuki.corpus.io import (
    CorpusImportError,
    detect_format,
    dumps_jsonl,
    load_cases,
    load_report,
    read_text,
)
from kizuki.corpus.settings import Settings, get_settings
from kizuki.corpus.store import open_store, store_exists

corpus_app = typer.Typer(
    help="The case corpus: build it from the FSA report, import more cases, list them, show one.",
    no_args_is_help=True,
)

#: The seed's place relative to the repository (and to the working directory).
SEED_RELATIVE = Path("..") / "shared" / "seeds"


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")


def _default_seed(year: int) -> Path:
    name = f"fsa-{year}-system-failure-report.txt"
    repo = Path(__file__).resolve().parents[2]
    candidates = [Path.cwd() / SEED_RELATIVE / name, repo / SEED_RELATIVE / name]
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in dict.fromkeys(candidates))
    raise CliError(f"seed text not found (looked at {looked}); pass --seed PATH")


def checkout_data_dir(cwd: Path) -> Path | None:
    """``corpus/data`` of the Kizuki checkout ``cwd`` is the root of, else None."""
    data = cwd / "corpus" / "data"
    try:
        project = tomllib.loads((cwd / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if project.get("project", {}).get("name") != "kizuki" or not data.is_dir():
        return None
    return data


def _outputs(out: str | None, year: int) -> tuple[Path, Path]:
    """Where ``--output`` puts the JSONL and its report: inside a folder when OUT is one,
    ends in a separator or has no suffix (``-o out/`` must not write a file called out),
    else the file OUT."""
    name = f"fsa{year}.jsonl"
    if out is None:
        cases_path = (checkout_data_dir(Path.cwd()) or Path.cwd()) / name
    elif Path(out).is_dir() or out.endswith(("/", os.sep)) or not Path(out).suffix:
        cases_path = Path(out) / name
    else:
        cases_path = Path(out)
    return cases_path, cases_path.with_name(f"{cases_path.stem}_report.json")


@corpus_app.command()
def build(
    seed: Annotated[
        Path | None,
        typer.Option(help="Report text (default: ../shared/seeds/fsa-YEAR-….txt)."),
    ] = None,
    year: Annotated[int, typer.Option(help="Edition year; case ids are fsaYEAR-NN.")] = 2019,
    out: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            "--out",
            metavar="PATH",
            help="Output JSONL file, or a directory (an existing one, or a name ending in / "
            "or without a suffix) to write fsaYEAR.jsonl in (default: ./fsaYEAR.jsonl, or "
            "corpus/data/ when run at the root of a Kizuki checkout).",
        ),
    ] = None,
) -> None:
    """Parse the FSA report text and write the corpus JSONL and its report JSON.

    The report JSON (glossary, trends, event types) goes beside the JSONL as
    fsaYEAR_report.json. Nothing is written into the installed package.
    """
    seed_path = seed if seed is not None else _default_seed(year)
    try:
        text = read_text(seed_path, max_bytes=_settings().max_import_bytes)
        parsed = parse_report(text, year=year)
    except CorpusImportError as exc:
        _report(exc, "nothing was written")
    except ReportParseError as exc:
        raise CliError(f"{seed_path}: {exc}") from None
    cases_path, report_path = _outputs(out, year)
    cases_path.parent.mkdir(parents=True, exist_ok=True)
    cases_path.write_bytes(dumps_jsonl(parsed.cases).encode("utf-8"))
    meta = json.dumps(parsed.metadata.model_dump(mode="json"), ensure_ascii=False, indent=2)
    report_path.write_bytes((meta + "\n").encode("utf-8"))
    m = parsed.metadata
    typer.echo(
        f"wrote {len(parsed.cases)} cases to {cases_path.resolve()}\n"
        f"wrote {len(m.glossary)} glossary terms, {len(m.trends)} trends and "
        f"{len(m.event_types)} event types to {report_path.resolve()}"
    )


def _report(exc, outcome: str) -> NoReturn:
    """Every problem of a file on stderr, ``FILE:LINE:FIELD: message`` each (the first
    ``MAX_REPORTED_ERRORS``, then how many more), then one ``error:`` line."""
    if exc.total == 1:
        raise CliError(f"{exc.errors[0]} ({outcome})")
    for problem in exc.errors:
        typer.echo(str(problem), err=True)
    if exc.total > len(exc.errors):
        typer.echo(
            f"… and {exc.total - len(exc.errors)} more (only the first {len(exc.errors)} "
            "are listed)",
            err=True,
        )
    raise CliError(f"{exc.errors[0].file}: {exc.total} errors ({outcome})")


def _settings(data_dir: Path | None = None):

    return get_settings() if data_dir is None else Settings(data_dir=data_dir)


@corpus_app.command("import")
def import_cases(
    file: Annotated[
        Path, typer.Argument(help="JSONL or CSV cases, or an FSA report as PDF or text.")
    ],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="jsonl, csv or fsa-report (default: from the file name; .pdf and .txt are "
            "reports).",
        ),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(
            min=1990, max=2100, help="Edition year of a report (default: from its cover)."
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(help="Where the report is published (default: the FSA's PDF, if known)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Kizuki data directory (default: KIZUKI_DATA_DIR).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only validate the file; store nothing.")
    ] = False,
) -> None:
    """Validate a file of cases and add all of them to the case store, or none.

    \b
    JSONL: one case per line, a JSON object with the fields
      {"id": "mybank-2024-001", "title": "…", "sectors": ["地域銀行"],
       "theme": {"id": "procedure_error", "label": "…"}, "event": "…",
       "causes": ["…"], "countermeasures": ["…"],
       "source": {"report": "…", "year": 2024, "lines": [12, 30]}}
    Only "id" and "event" are required.

    \b
    CSV (UTF-8, a header row; Excel's "CSV UTF-8" works): the columns
      id, theme_id, theme_label, title, sectors, event, causes,
      countermeasures, source_report, source_year, source_lines
    Only id and event are required; other columns may be left out.
    sectors, causes and countermeasures hold one item per line of the
    cell; theme_id and theme_label go together; source_lines is START-END.

    \b
    Ids: 1-64 of A-Z a-z 0-9 _ . - , starting with a letter or digit, not
    starting with cause. cm. sector. or theme. ; unique in the file and
    the store.

    \b
    FSA report (PDF or its text, any edition): the layout (2019-2020 or
    2021 and later) and the edition are read from the text; each case
    keeps its report, year, edition, URL and page. --dry-run lists them.

    Samples: corpus/samples/cases.jsonl and cases.csv in the repository.
    Every problem is listed as FILE:LINE:FIELD (the first 50, then a count);
    then one error: line, and nothing is stored.
    """
    settings = _settings(data_dir)
    if url is not None and not re.fullmatch(r"https?://\S+", url):
        raise OptionError(f"--url must be an http(s) address, got {url!r}")
    fmt, report = format, None
    try:
        fmt = fmt or detect_format(file)
        if fmt == "fsa-report":
            report = load_report(
                file,
                year=year,
                url=url,
                max_bytes=settings.max_import_bytes,
                known_ids=_stored_ids(settings),
            )
            cases = report.cases
        else:
            cases = load_cases(
                file, fmt, max_bytes=settings.max_import_bytes, known_ids=_stored_ids(settings)
            )
    except CorpusImportError as exc:
        _report(exc, "the file is not valid (dry run)" if dry_run else "nothing was imported")
    if dry_run:
        if report is not None:
            _describe_report(report)
        typer.echo(f"{file}: {len(cases)} valid cases (dry run, nothing stored)")
        return

    store = open_store(settings)
    store.ensure_seeded(seed_cases())
    try:
        added = store.add_cases(cases)
    except ValueError as exc:  # another process stored one of the ids meanwhile
        raise CliError(f"{file}: {exc}; nothing was imported") from None
    typer.echo(f"imported {added} cases from {file} into {store.where}")


def _describe_report(report: ReportImport) -> None:
    """What a report import would store: its layout, edition, and each case with its page."""
    typer.echo(f"layout: {report.layout_label}")
    edition = f", {report.edition}" if report.edition else ""
    typer.echo(f"edition: {report.title} ({report.year}{edition}) {report.url or '(no URL)'}")
    for case in report.cases:
        page = case.source.page if case.source and case.source.page else "?"
        sectors = "、".join(case.sectors)
        theme = case.theme.label if case.theme else ""
        typer.echo(f"  {case.id}  p.{page}  {theme} / {case.title}  [{sectors}]")


def _stored_ids(settings) -> set[str]:
    """The ids an import must not reuse: the store's, or (before the store exists, which
    checking a file must not create) those of the bundled corpus it will be seeded with."""
    if store_exists(settings):
        return set(open_store(settings).origins())
    return {c.id for c in seed_cases()}


@corpus_app.command("delete")
def delete_case(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Case id, e.g. mybank-2024-001.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm deleting a bundled case (fsa2019-…).")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Kizuki data directory (default: KIZUKI_DATA_DIR).")
    ] = None,
) -> None:
    """Delete one case from the case store (as DELETE /cases/ID does).

    An imported case goes at once (import its file again to bring it back). A bundled case
    needs --yes: it is not loaded again, because the bundled corpus is loaded only into a
    new store. A running server follows the change; its judgements are kept but ignored.
    """
    settings = _settings(data_dir)
    if not store_exists(settings):
        raise CliError(f"no case store at {settings.store_path}: nothing to delete")
    store = open_store(settings)
    origin = store.origins().get(case_id)
    if origin is None:
        raise CliError(f"no case {case_id!r} in {store.where}; see `kizuki corpus list`")
    if origin == "seed" and not yes:
        raise CliError(
            f"{case_id} is a bundled case: it will not come back once deleted; "
            "add --yes to delete it anyway"
        )
    if not store.delete_case(case_id):  # another process deleted it meanwhile
        raise CliError(f"no case {case_id!r} in {store.where}")
    typer.echo(f"deleted {case_id} ({origin}) from {store.where}: {store.count()} cases left")


@corpus_app.command("list")
def list_cases(
    sector: Annotated[
        str | None, typer.Option(help="Only cases of this sector (e.g. 主要行等).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Kizuki data directory (default: KIZUKI_DATA_DIR).")
    ] = None,
) -> None:
    """List the cases: id, sectors and title (the ids every other command takes)."""
    settings = _settings(data_dir)
    if store_exists(settings):
        store = open_store(settings)
        cases, origins, where = store.all_cases(), store.origins(), store.where
    else:
        cases = seed_cases()
        origins = {c.id: "seed" for c in cases}
        where = f"the bundled corpus (no case store at {settings.store_path} yet)"
    if sector is not None:
        sector = option_values(resolve_sector, case_facets(cases)[0], sector)
        cases = [c for c in cases if sector in c.sectors]
    if as_json:
        rows = [
            {
                "id": c.id,
                "title": c.title,
                "sectors": list(c.sectors),
                "theme": c.theme.id if c.theme else None,
                "origin": origins.get(c.id, ""),
            }
            for c in cases
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{len(cases)} cases in {where}")
    width = max((len(c.id) for c in cases), default=2)
    for c in cases:
        sectors = "、".join(c.sectors) or "-"
        typer.echo(f"{c.id:<{width}}  {sectors}  {c.title or '-'}")


@corpus_app.command()
def show(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Case id, e.g. fsa2019-14.")],
    file: Annotated[Path | None, typer.Option(help="Look in this JSONL/CSV file instead.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the case as JSON.")] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Kizuki data directory (default: KIZUKI_DATA_DIR).")
    ] = None,
) -> None:
    """Print one case (from the case store, else the bundled corpus, or from --file)."""
    case = None
    if file is not None:
        try:
            case = next((c for c in load_cases(file) if c.id == case_id), None)
        except CorpusImportError as exc:
            _report(exc, f"cannot look for {case_id} in it")
    else:
        settings = _settings(data_dir)
        if store_exists(settings):
            case = open_store(settings).get(case_id)
        if case is None:
            case = next((c for c in seed_cases() if c.id == case_id), None)
    if case is None:
        raise CliError(f"no case {case_id!r}")
    if as_json:
        typer.echo(json.dumps(case.to_json_dict(), ensure_ascii=False, indent=2))
        return
    lines = [f"{case.id}  {case.title}".rstrip()]
    if case.theme:
        lines.append(f"テーマ: {case.theme.label} ({case.theme.id})")
    if case.sectors:
        lines.append(f"業態等: {'、'.join(case.sectors)}")
    lines += ["", "＜事象＞", case.event, "", "＜原因＞"]
    lines += [f"- {c}" for c in case.causes] + ["", "＜対策＞"]
    lines += [f"- {c}" for c in case.countermeasures]
    if case.source:
        span = f", lines {case.source.lines[0]}-{case.source.lines[1]}" if case.source.lines else ""
        year = f" ({case.source.year})" if case.source.year else ""
        lines += ["", f"出典: {case.source.report}{year}{span}"]
    typer.echo("\n".join(lines))
