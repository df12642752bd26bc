"""Any edition of the FSA report, as a PDF or its text: layout, edition, cases with pages.

:func:`read_report` is what ``kizuki corpus import REPORT.pdf`` (or ``.txt``) runs:

1. **Text.** A PDF's text layer is read page by page (:mod:`corpus.pdf_text`); a text file
   is read as it is. A form feed starts a page (``pdftotext`` and our PDF reader write
   one); a text without form feeds has its pages ended by their printed page number.
2. **Page furniture.** Lines that are no part of the report's text are blanked (so line
   numbers keep pointing into the input): a running header (a line of 10 or more
   characters printed at the top of two or more pages), and table-of-contents lines
   (dot leaders ending in a page number). Page numbers are kept for step 4 and dropped
   by the parsers.
3. **Layout.** Matched after NFKC, so ``＜業態等＞`` and ``<業態等>`` are one marker:
   ``➢`` headings with ``＜業態等＞`` blocks are the 2019 layout (2019 and 2020 editions,
   parsed by :mod:`corpus.fsa_report`); ``第N節`` with ``<業態>`` and ``<事象N>`` blocks is the
   later layout (:mod:`corpus.fsa_sections`). Anything else is refused: no layout, no
   guess.
4. **Edition and pages.** The cover's date line (``令和2年6月`` or ``2024年6月``, alone on
   its line within the first lines) gives the year, and the cover lines above it the
   title; ``--year`` is needed when the text has no cover (the 2019 seed). Each case's
   page is the printed page number of the page it starts on (its ``＜業態等＞`` or title
   line), else the PDF's page index; the URL is the FSA's PDF where it is known
   (:data:`KNOWN_EDITIONS`) or given.
5. **All or nothing.** A case block the parser cannot place makes the whole import fail,
   listing each such line with its page, beside the count of cases it did recognise.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from kizuki.corpus.exceptions import CorpusImportError, ReportParseError, RowError
from kizuki.corpus.fsa_report import _PAGE_NUMBER_RE, DEFAULT_REPORT_NAME, parse_report
from kizuki.corpus.fsa_sections import parse_sections
from kizuki.corpus.schema import Case, Source, Theme

REPORT_TITLE = "金融機関のシステム障害に関する分析レポート"

#: The FSA's PDF of each edition where it is known: the addresses as third parties cite
#: them (arts-crafts.co.jp, perfectwin.jp), not fetched by us; ``--url`` overrides.
KNOWN_EDITIONS: dict[int, str] = {
    2020: "https://www.fsa.go.jp/news/r1/20200630-2/system_01.pdf",
    2024: "https://www.fsa.go.jp/news/r5/sonota/20240626/01.pdf",
}

LAYOUTS = {
    "2019": "2019 layout (➢ headings, ＜業態等＞ ＜事象＞ ＜原因＞ ＜対策＞; editions 2019-2020)",
    "sections": "later layout (第N節, numbered titles, <業態> <事象N> <原因N> <対策>; 2021-)",
}

_TOC_RE = re.compile(r"(\.{4,}|…{2,}|・{4,}|‥{2,})\s*\d{1,3}$")
_ERA_DATE_RE = re.compile(r"^(令和|平成)(元|\d{1,2})年(\d{1,2})月$")
_WESTERN_DATE_RE = re.compile(r"^(20\d\d)年(\d{1,2})月(?:\d{1,2}日)?$")
_ERA_START = {"令和": 2018, "平成": 1988}
_OLD_MARKER_RE = re.compile(r"^<(業態等|事象|原因|対策)>$")
_HEADER_MIN_CHARS = 10
_COVER_LINES = 12


@dataclass(frozen=True)
class ReportImport:
    """One report read: its layout, edition and cases (each with its page)."""

    layout: str
    title: str
    year: int
    edition: str | None
    url: str | None
    cases: list[Case]

    @property
    def layout_label(self) -> str:
        return LAYOUTS[self.layout]


def _nfkc(line: str) -> str:
    return unicodedata.normalize("NFKC", line).strip()


def split_lines(text: str) -> tuple[list[str], list[int]]:
    """The lines of ``text`` and, per line, its physical page (0-based; a form feed at the
    start of a line starts a page)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines, pages, page = [], [], 0
    for line in text.split("\n"):
        if "\f" in line:
            page += line.count("\f")
            line = line.replace("\f", "")
        lines.append(line)
        pages.append(page)
    return lines, pages


def printed_pages(lines: list[str], physical: list[int]) -> list[int | None]:
    """The printed page number of each line: the number printed on its page (a line that
    is only a page number ends a page when there are no form feeds); else, in a text with
    form feeds, the 1-based page index; else None (a cover)."""
    has_feeds = physical[-1] > 0 if physical else False
    out: list[int | None] = [None] * len(lines)
    segment: list[int] = []

    def close(number: int | None, page: int | None) -> None:
        for k in segment:
            out[k] = number if number is not None else (page + 1 if page is not None else None)
        segment.clear()

    for k, line in enumerate(lines):
        if segment and physical[k] != physical[segment[-1]]:
            close(None, physical[segment[-1]] if has_feeds else None)
        segment.append(k)
        s = _nfkc(line)
        if s and _PAGE_NUMBER_RE.match(s):
            close(int(re.sub(r"\D", "", s)), None)
    if segment:
        close(None, physical[segment[-1]] if has_feeds else None)
    return out if has_feeds else _only_consecutive(lines, out)


def _only_consecutive(lines: list[str], pages: list[int | None]) -> list[int | None]:
    """Without form feeds a page number is believed only when the page before or after
    it is numbered one apart: the 2019 seed keeps one stray ``14`` of all its numbers, and
    every line above it is not on page 14."""
    numbers = list(dict.fromkeys(p for p in pages if p is not None))
    trusted = {
        n
        for k, n in enumerate(numbers)
        if (k > 0 and numbers[k - 1] == n - 1) or (k + 1 < len(numbers) and numbers[k + 1] == n + 1)
    }
    return [p if p in trusted else None for p in pages]


def _page_starts(lines: list[str], physical: list[int]) -> set[int]:
    """Indexes of the first non-blank line of each page."""
    starts, new_page = set(), True
    for k, line in enumerate(lines):
        if k and physical[k] != physical[k - 1]:
            new_page = True
        s = _nfkc(line)
        if not s:
            continue
        if new_page:
            starts.add(k)
            new_page = False
        if _PAGE_NUMBER_RE.match(s):
            new_page = True
    return starts


def strip_furniture(lines: list[str], physical: list[int]) -> list[str]:
    """Running headers and contents lines blanked; 2019-layout markers made full-width."""
    starts = _page_starts(lines, physical)
    counts = Counter(_nfkc(lines[k]) for k in starts)
    headers = {s for s, n in counts.items() if n >= 2 and len(s) >= _HEADER_MIN_CHARS}
    out = []
    for line in lines:
        s = _nfkc(line)
        if s in headers or _TOC_RE.search(s):
            out.append("")
            continue
        m = _OLD_MARKER_RE.match(s)
        out.append(f"＜{m.group(1)}＞" if m else line)
    return out


def detect_layout(lines: list[str]) -> str | None:
    """``2019``, ``sections`` or None, from the case markers the text holds."""
    seen = {_nfkc(line) for line in lines}
    if "<業態等>" in seen and any(s.startswith("➢") for s in seen):
        return "2019"
    if (
        "<業態>" in seen
        and any(re.match(r"^<事象\d*>$", s) for s in seen)
        and any(re.match(r"^第\s*\d+\s*節", s) for s in seen)
    ):
        return "sections"
    return None


def read_cover(lines: list[str]) -> tuple[str | None, int | None, str | None]:
    """(title, year, edition) from the cover: the date alone on a line among the first
    non-blank lines, and the lines above it when they name a report."""
    seen: list[str] = []
    for line in lines:
        s = _nfkc(line).replace(" ", "")
        if not s:
            continue
        if len(seen) >= _COVER_LINES:
            break
        era, western = _ERA_DATE_RE.match(s), _WESTERN_DATE_RE.match(s)
        if era or western:
            if era:
                n = 1 if era.group(2) == "元" else int(era.group(2))
                year = _ERA_START[era.group(1)] + n
            else:
                year = int(western.group(1))
            above = "".join(seen)
            title = above if "レポート" in above or "報告" in above else None
            return title, year, line.strip()
        seen.append(s)
    return None, None, None


def read_report(
    text: str,
    name: str,
    *,
    year: int | None = None,
    url: str | None = None,
) -> ReportImport:
    """The cases of one edition, with their edition and page; CorpusImportError when the
    layout is not recognised or any case block cannot be placed (nothing is returned)."""
    lines, physical = split_lines(text)
    pages = printed_pages(lines, physical)
    clean = strip_furniture(lines, physical)
    layout = detect_layout(clean)
    if layout is None:
        raise CorpusImportError(
            [
                RowError(
                    name,
                    None,
                    None,
                    "not an FSA system-failure report in a known layout: found neither "
                    "➢ headings with ＜業態等＞ blocks (2019, 2020) nor 第N節 with <業態> and "
                    "<事象N> blocks (2021 and later)",
                )
            ]
        )
    title, cover_year, edition = read_cover(clean)
    year = year or cover_year
    if year is None:
        raise CorpusImportError(
            [
                RowError(
                    name,
                    None,
                    None,
                    "the report year is required: the text has no cover date "
                    "(令和N年M月 or YYYY年M月); pass --year",
                )
            ]
        )
    title = title or REPORT_TITLE
    url = url or KNOWN_EDITIONS.get(year)
    report = f"金融庁「{title}」" if title else DEFAULT_REPORT_NAME
    if layout == "2019":
        cases = _cases_2019(clean, name, year, report)
    else:
        cases = _cases_sections(clean, name, year, report, pages)
    attribution = {"edition": edition, "url": url}
    cases = [_attributed(case, attribution, pages) for case in cases]
    return ReportImport(layout, title, year, edition, url, cases)


def _page_of(pages: list[int | None], line: int) -> int | None:
    return pages[line - 1] if 0 < line <= len(pages) else None


def _attributed(case: Case, attribution: dict, pages: list[int | None]) -> Case:
    source = case.source
    assert source is not None and source.lines is not None
    update = {**attribution, "page": _page_of(pages, source.lines[0])}
    return case.model_copy(update={"source": Source(**{**source.model_dump(), **update})})


def _cases_2019(lines: list[str], name: str, year: int, report: str) -> list[Case]:
    try:
        return parse_report("\n".join(lines), year=year, report_name=report).cases
    except ReportParseError as exc:
        message = str(exc)
        if exc.line is not None:
            message = message.split(": ", 1)[1]
        raise CorpusImportError([RowError(name, exc.line, None, message)]) from None


def _cases_sections(
    lines: list[str], name: str, year: int, report: str, pages: list[int | None]
) -> list[Case]:
    parsed = parse_sections(lines)
    if parsed.problems or not parsed.cases:
        errors = [
            RowError(name, line, None, f"(page {_page_of(pages, line) or '?'}) {why}")
            for line, why in parsed.problems
        ]
        if not parsed.cases:
            errors.append(RowError(name, None, None, "no case found under the 第N節 headings"))
        errors.append(
            RowError(
                name,
                None,
                None,
                f"{len(parsed.cases)} cases were recognised, {len(parsed.problems)} "
                "passages were not (nothing is stored)",
            )
        )
        raise CorpusImportError(errors)
    cases = []
    for n, draft in enumerate(parsed.cases, start=1):
        cases.append(
            Case(
                id=f"fsa{year}-{n:02d}",
                theme=Theme(id=draft["theme_id"], label=draft["theme_label"]),
                title=draft["title"],
                sectors=draft["sectors"],
                event=draft["event"],
                causes=draft["causes"],
                countermeasures=draft["countermeasures"],
                source=Source(report=report, year=year, lines=draft["lines"]),
            )
        )
    return cases
