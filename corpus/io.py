"""Reading and writing cases as JSONL and CSV, with validation that names file, line, field.

Formats
-------
**JSONL** (canonical, ``corpus/data/*.jsonl``): one case per line,
``json.dumps(case.to_json_dict(), ensure_ascii=False)``, keys in the order of
:class:`~corpus.schema.Case`, ``\\n`` after every line, UTF-8. When reading, blank lines
are skipped and key order does not matter.

**CSV** (for people keeping incident records in a spreadsheet): a header row, then one
case per record, columns

    id, theme_id, theme_label, title, sectors, event, causes, countermeasures,
    source_report, source_year, source_lines

Only ``id`` and ``event`` are required; the other columns may be left out. The list
cells ``sectors``, ``causes`` and ``countermeasures`` hold one item per line (a newline
inside the quoted cell, as spreadsheets write it); empty lines in a cell are ignored.
``theme_id`` and ``theme_label`` go together; ``source_report`` is needed when
``source_year`` or ``source_lines`` (``START-END``) is given.

Validation
----------
Every row is checked against the Case model and ids must be unique within the file.
Loading validates the *whole* file first and returns cases only when every row is
valid, so a caller never sees (or stores) part of a file. All bad rows are collected
(the first :data:`MAX_REPORTED_ERRORS` are kept, ``total`` counts them all) and raised
together as one :class:`CorpusImportError`. Each error reads ``FILE:LINE:FIELD: message``
(``cases.csv:3:event: must not be empty``; ``FILE:LINE: message`` when no one field is at
fault), the form compilers use, so editors jump to it; the exception's message is the
first error followed by how many more there are. CSV line numbers are those of the first physical line of the record. Files larger
than ``max_bytes`` (50 MB by default, ``KIZUKI_MAX_IMPORT_BYTES``) and files that are
not UTF-8 (a spreadsheet's Shift_JIS export, say) are refused with a message saying so;
a UTF-8 byte-order mark is accepted.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from kizuki.corpus.editions import ReportImport, read_report
from kizuki.corpus.exceptions import CorpusImportError as CorpusImportError
from kizuki.corpus.exceptions import RowError as RowError
from kizuki.corpus.pdf_text import PdfTextError, is_pdf, pdf_text
from kizuki.corpus.schema import Case
from pydantic import ValidationError

DEFAULT_MAX_BYTES = 50_000_000
MAX_REPORTED_ERRORS = 50

CSV_COLUMNS = (
    "id",
    "theme_id",
    "theme_label",
    "title",
    "sectors",
    "event",
    "causes",
    "countermeasures",
    "source_report",
    "source_year",
    "source_lines",
)
CSV_REQUIRED = ("id", "event")
_CSV_LIST_COLUMNS = ("sectors", "causes", "countermeasures")

FORMATS = ("jsonl", "csv", "fsa-report")
_SUFFIX_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".pdf": "fsa-report",
    ".txt": "fsa-report",
}


class _Errors:
    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[RowError] = []
        self.total = 0

    def add(self, line: int | None, field: str | None, message: str) -> None:
        self.total += 1
        if len(self.items) < MAX_REPORTED_ERRORS:
            self.items.append(RowError(self.file, line, field, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise CorpusImportError(self.items, self.total)


# -- writing ------------------------------------------------------------------------------


def dumps_jsonl(cases: Iterable[Case]) -> str:
    """The canonical JSONL text of ``cases`` (the committed corpus file is exactly this)."""
    return "".join(json.dumps(c.to_json_dict(), ensure_ascii=False) + "\n" for c in cases)


def write_jsonl(cases: Iterable[Case], path: str | Path) -> None:
    Path(path).write_bytes(dumps_jsonl(cases).encode("utf-8"))


def _case_to_row(case: Case) -> dict[str, str]:
    src = case.source
    return {
        "id": case.id,
        "theme_id": case.theme.id if case.theme else "",
        "theme_label": case.theme.label if case.theme else "",
        "title": case.title,
        "sectors": "\n".join(case.sectors),
        "event": case.event,
        "causes": "\n".join(case.causes),
        "countermeasures": "\n".join(case.countermeasures),
        "source_report": src.report if src else "",
        "source_year": str(src.year) if src and src.year is not None else "",
        "source_lines": f"{src.lines[0]}-{src.lines[1]}" if src and src.lines else "",
    }


def dumps_csv(cases: Iterable[Case]) -> str:
    """CSV text with the columns of :data:`CSV_COLUMNS`; list items one per line in a cell."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for case in cases:
        writer.writerow(_case_to_row(case))
    return buf.getvalue()


def write_csv(cases: Iterable[Case], path: str | Path, *, excel_bom: bool = False) -> None:
    """Write CSV; ``excel_bom`` adds a UTF-8 BOM so that Excel opens Japanese text right."""
    data = dumps_csv(cases).encode("utf-8")
    Path(path).write_bytes((b"\xef\xbb\xbf" if excel_bom else b"") + data)


# -- reading ------------------------------------------------------------------------------


def read_text(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """UTF-8 text of a file, refusing files over ``max_bytes`` and non-UTF-8 bytes."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CorpusImportError([RowError(name, None, None, "no such file")]) from None
    if path.is_dir():
        raise CorpusImportError([RowError(name, None, None, "is a directory, not a file")])
    if size > max_bytes:
        raise CorpusImportError(
            [
                RowError(
                    name, None, None, f"file is {_mb(size)}, more than the {_mb(max_bytes)} limit"
                )
            ]
        )
    with path.open("rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew since stat, or a pipe
        raise CorpusImportError(
            [RowError(name, None, None, f"file is more than the {_mb(max_bytes)} limit")]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusImportError(
            [
                RowError(
                    name,
                    line,
                    None,
                    f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                    "save the file as UTF-8",
                )
            ]
        ) from None


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n % 1_000_000 else f"{n // 1_000_000} MB"


_FRIENDLY = {
    "missing": "is required",
    "string_too_short": "must not be empty",
    "extra_forbidden": "unknown field",
    "string_type": "must be text",
    "list_type": "must be a list",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "tuple_type": "must be a pair of line numbers",
}


def _pydantic_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, message) pairs in plain words."""
    out = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        field = ".".join(loc) or "case"
        kind = err["type"]
        message = _FRIENDLY.get(kind)
        if message is None:
            message = str(err["msg"])
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            prefix = f"{field}: "
            if message.startswith(prefix):
                message = message[len(prefix) :]
        out.append((field, message))
    return out


def _validate(
    data: dict[str, Any],
    line: int,
    errors: _Errors,
    field_names: dict[str, str] | None = None,
) -> Case | None:
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        for field, message in _pydantic_errors(exc):
            if field_names:
                field = field_names.get(field, field)
            errors.add(line, field, message)
        return None


class _Ids:
    """Every row's id, checked as the rows are read: each repeat of an id in the file and
    each id already in the store (``known``) is its own error, on its own line."""

    def __init__(self, errors: _Errors, known: Collection[str]) -> None:
        self.errors = errors
        self.known = known
        self.first_seen: dict[str, int | None] = {}

    def check(self, line: int | None, case_id: Any) -> bool:
        """False (and the error recorded) when ``case_id`` is taken; other ids pass."""
        if not isinstance(case_id, str) or not case_id:
            return True  # a missing or malformed id is the model's error
        if case_id in self.known:
            self.errors.add(line, "id", f"case id {case_id!r} is already in the store")
            return False
        if case_id in self.first_seen:
            first = self.first_seen[case_id]
            where = f" (first on line {first})" if first is not None else ""
            self.errors.add(line, "id", f"duplicate id {case_id!r}{where}")
            return False
        self.first_seen[case_id] = line
        return True


def parse_jsonl(text: str, name: str = "<jsonl>", known_ids: Collection[str] = ()) -> list[Case]:
    """Cases from JSONL text; raises :class:`CorpusImportError` listing every bad line.
    ``known_ids``: ids already stored, which the file must not reuse."""
    errors = _Errors(name)
    ids = _Ids(errors, known_ids)
    cases: list[Case] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.add(number, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(data, dict):
            errors.add(number, None, "expected a JSON object with the case's fields")
            continue
        case = _validate(data, number, errors)
        if ids.check(number, data.get("id")) and case is not None:
            cases.append(case)
    if not cases and not errors.items:
        errors.add(None, None, "no cases found")
    errors.raise_if_any()
    return cases


_CSV_FIELD_NAMES = {
    "theme.id": "theme_id",
    "theme.label": "theme_label",
    "source.report": "source_report",
    "source.year": "source_year",
    "source.lines": "source_lines",
    "theme": "theme_id",
    "source": "source_report",
}


def _csv_row_to_dict(row: dict[str, str], line: int, errors: _Errors) -> dict[str, Any]:
    """The case fields of a CSV row. A cell that cannot be used (a theme without its label,
    ``source_lines`` not ``START-END``) is recorded and left out, so that the model still
    checks the row's other cells: every error of a row is reported at once."""
    data: dict[str, Any] = {"id": row.get("id", ""), "event": row.get("event", "")}
    if "title" in row:
        data["title"] = row["title"]
    for col in _CSV_LIST_COLUMNS:
        if col in row:
            data[col] = [item.strip() for item in row[col].splitlines() if item.strip()]

    theme_id, theme_label = row.get("theme_id", "").strip(), row.get("theme_label", "").strip()
    if theme_id and theme_label:
        data["theme"] = {"id": theme_id, "label": theme_label}
    elif theme_id or theme_label:
        missing = "theme_label" if theme_id else "theme_id"
        errors.add(line, missing, "must be given together with theme_id and theme_label")

    report = row.get("source_report", "").strip()
    year = row.get("source_year", "").strip()
    lines = row.get("source_lines", "").strip()
    if report:
        source: dict[str, Any] = {"report": report}
        if year:
            source["year"] = year
        if lines:
            parts = lines.replace("–", "-").split("-")
            if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
                source["lines"] = (int(parts[0]), int(parts[1]))
            else:
                errors.add(line, "source_lines", "must look like START-END, e.g. 12-30")
        data["source"] = source
    elif year or lines:
        errors.add(line, "source_report", "is required when source_year or source_lines is set")
    return data


#: A quoted CSV cell, closing quote included (``""`` is a quote inside it).
_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*"')
#: The rest of a cell up to the next comma or line end (Python's reader keeps what follows
#: a closing quote, and a quote inside an unquoted cell is a plain character).
_UNQUOTED = re.compile(r"[^,\r\n]*")
_LINE_END = re.compile(r"\r\n|\r|\n")


def _unterminated_quote(text: str, start_line: int) -> int | None:
    """The line where a quoted cell opens and never closes, scanning the records from
    ``start_line`` to the end (None when every quote closes). Python's reader reads such a
    cell to the end of the file and says nothing; this says where the quote is."""
    start = 0
    for _ in range(start_line - 1):
        found = _LINE_END.search(text, start)
        if found is None:
            return None
        start = found.end()
    pos = start
    while pos < len(text):
        if text[pos] == '"':
            quoted = _QUOTED.match(text, pos)
            if quoted is None:
                return start_line + len(_LINE_END.findall(text, start, pos))
            pos = quoted.end()
        pos = _UNQUOTED.match(text, pos).end()
        if pos < len(text):
            pos += 2 if text.startswith("\r\n", pos) else 1  # a comma or a line end
    return None


def parse_csv(text: str, name: str = "<csv>", known_ids: Collection[str] = ()) -> list[Case]:
    """Cases from CSV text (see the module docstring for the columns). ``known_ids``: ids
    already stored, which the file must not reuse."""
    errors = _Errors(name)
    buffer = io.StringIO(text, newline="")
    reader = csv.reader(buffer)
    try:
        header = next(reader)
    except StopIteration:
        errors.add(None, None, "empty file: expected a header row and cases")
        errors.raise_if_any()
        raise AssertionError from None  # unreachable
    except csv.Error as exc:
        errors.add(1, None, f"unreadable CSV: {exc}")
        errors.raise_if_any()
        raise AssertionError from None
    header = [h.strip() for h in header]
    for col in header:
        if col not in CSV_COLUMNS:
            errors.add(1, col, f"unknown column (known: {', '.join(CSV_COLUMNS)})")
    for col in {c for c in header if header.count(c) > 1}:
        errors.add(1, col, "column appears more than once")
    for col in CSV_REQUIRED:
        if col not in header:
            errors.add(1, col, "missing column")
    errors.raise_if_any()

    ids = _Ids(errors, known_ids)
    cases: list[Case] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a cell over the size limit: often a lost quote
            _csv_error(text, start, errors, f"unreadable CSV: {exc}")
            break
        if not any(c.strip() for c in cells):
            continue  # blank line
        if buffer.tell() >= len(text):  # the last record: a lost quote ends here too
            opened = _unterminated_quote(text, start)
            if opened is not None:  # it swallowed the rest of the file
                _csv_error(text, start, errors, None, opened)
                break
        if len(cells) != len(header):
            errors.add(start, None, f"expected {len(header)} cells, found {len(cells)}")
            continue
        before = errors.total
        data = _csv_row_to_dict(dict(zip(header, cells, strict=True)), start, errors)
        case = _validate(data, start, errors, _CSV_FIELD_NAMES)
        if ids.check(start, data["id"]) and case is not None and errors.total == before:
            cases.append(case)
    if not cases and not errors.items:
        errors.add(None, None, "no cases found")
    errors.raise_if_any()
    return cases


def _csv_error(
    text: str, start: int, errors: _Errors, message: str | None, opened: int | None = None
) -> None:
    """An error that ends the reading at the record starting on line ``start``: an
    unterminated quote when there is one, else ``message``."""
    if opened is None:
        opened = _unterminated_quote(text, start)
    if opened is not None:
        message = (
            f'unterminated quoted cell starting on line {opened}: its closing " is missing, '
            "so the rest of the file was read into it"
        )
    errors.add(start, None, message or "unreadable CSV")


def detect_format(path: str | Path) -> str:
    """``jsonl`` or ``csv`` from the file name; anything else must be named explicitly."""
    fmt = _SUFFIX_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise CorpusImportError(
            [
                RowError(
                    str(path),
                    None,
                    None,
                    "cannot tell the format from the file name "
                    "(.jsonl, .csv, .pdf or .txt); pass it explicitly (jsonl, csv, fsa-report)",
                )
            ]
        )
    return fmt


def report_text(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The text of a report file: a PDF's text layer (whatever its name), else UTF-8 text."""
    name = str(path)
    try:
        pdf = Path(path).is_file() and is_pdf(path)
    except OSError:
        pdf = False
    if not pdf:
        return read_text(path, max_bytes)
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise CorpusImportError(
            [RowError(name, None, None, f"{_mb(size)} is larger than the limit {_mb(max_bytes)}")]
        )
    try:
        return pdf_text(path)
    except PdfTextError as exc:
        raise CorpusImportError([RowError(name, None, None, str(exc))]) from None


def load_report(
    path: str | Path,
    *,
    year: int | None = None,
    url: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    known_ids: Collection[str] = (),
) -> ReportImport:
    """One edition of the FSA report (PDF or text), its cases checked against the store's
    ids: all of them, or CorpusImportError (see :mod:`corpus.editions`)."""
    name = str(path)
    report = read_report(report_text(path, max_bytes), name, year=year, url=url)
    errors = _Errors(name)
    ids = _Ids(errors, known_ids)
    for case in report.cases:
        ids.check(case.source.lines[0] if case.source and case.source.lines else None, case.id)
    errors.raise_if_any()
    return report


def load_cases(
    path: str | Path,
    format: str | None = None,
    *,
    year: int | None = None,
    url: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    known_ids: Collection[str] = (),
) -> list[Case]:
    """Validated cases from a JSONL, CSV or report-text file: all of them or an error.

    ``format`` is ``jsonl``, ``csv`` or ``fsa-report`` (an edition of the FSA report as
    a PDF or its text, :func:`load_report`; ``year`` overrides the cover's and gives the
    ids ``fsaYYYY-NN``). ``None`` picks the format from the file's suffix (``.pdf`` and
    ``.txt`` are reports). ``known_ids`` are ids already stored: each row that reuses one is an
    error of its own (``FILE:LINE:id``).
    """
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    name = str(path)
    if fmt == "fsa-report":
        return load_report(path, year=year, url=url, max_bytes=max_bytes, known_ids=known_ids).cases
    text = read_text(path, max_bytes)
    if fmt == "jsonl":
        return parse_jsonl(text, name, known_ids)
    return parse_csv(text, name, known_ids)
