"""Parser for the case chapter of the later editions of the FSA report (2021 and after).

The 2019 and 2020 editions print ➢ headings queued at the page top and ``＜業態等＞``
blocks (:mod:`corpus.fsa_report`). The later editions print the cases of 第3部 第2章 under
``第N節`` headings (one per kind of failure), each case as a numbered title followed by
its blocks::

    第2節 システム統合・更改に伴い発生したシステム障害
    1.メモリ領域不足に起因した…
    <業態>
    資金清算機関
    <事象1>            (then <原因1>, <事象2>, <原因2>, …, <対策>)

Rules, for the artefacts of a PDF's text (``docs/editions.md`` lists what was seen of
each edition and what was not):

* Every line is matched after NFKC, so ``＜業態＞`` and ``<業態>``, ``１．`` and ``1.`` are
  the same marker; the text itself is kept as printed (``８割`` stays full-width).
* A title is ``N.`` or ``N．`` followed by text, where N is 1 after a 節 heading and then
  the next number: a sentence that starts with ``1.5倍`` inside an event is not a title.
  A title that wraps continues until the ``<業態>`` line.
* ``<事象N>`` and ``<原因N>`` come in pairs (N = 1, 2, …; an unnumbered ``<事象>`` counts as
  1); the events are kept in order, one per line of ``event``, and the causes of every
  pair are one list. ``<対策>`` closes the case's blocks.
* A cause or countermeasure item starts with ``・``, ``○``, ``-`` or a private-use bullet; a
  block with a single item may have no bullet. A line without a bullet continues the
  item before it; lines are joined without a space (a word broken across lines, such as
  ``オンプレ`` / ``ミス環境``, comes back whole).
* Page numbers (``- 31 -``, ``31``) and footnotes (``1 「外字」とは…`` at the page bottom)
  are dropped, and footnote references glued to a term (``外字1``) removed, with the
  helpers of :mod:`corpus.fsa_report`. Running headers are removed before this parser
  runs (:mod:`corpus.editions`).
* Anything inside the case chapter that fits none of these is reported with its line,
  never dropped silently: a case without ``<業態>`` or ``<事象1>``, a ``<原因N>`` without
  its ``<事象N>``, text before the first title.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from kizuki.corpus.fsa_report import (
    _PAGE_NUMBER_RE,
    _find_footnotes,
    _is_bullet,
    _join,
    _normalize_spaces,
    _RefStripper,
)

_SECTION_RE = re.compile(r"^第\s*(\d+)\s*節\s*(\S.*)$")
_CHAPTER_RE = re.compile(r"^第\s*(\d+)\s*[章部]\s*(.*)$")
_TITLE_RE = re.compile(r"^(\d{1,2})\s*[.]\s*(\S.*)$")
_MARKER_RE = re.compile(r"^<\s*(業態等?|事象|原因|対策)\s*(\d*)\s*>$")
_ITEM_MARKS = "・○-‐－"

#: Theme ids of the later editions' 節, by a phrase of their label (the labels of 節 1, 3
#: and 4 were seen only paraphrased, so the phrase, not the whole label, is matched).
SECTION_THEMES: tuple[tuple[str, str], ...] = (
    ("サイバー攻撃", "cyber_attack"),
    ("統合・更改", "integration_renewal"),
    ("運用・保守", "operations_maintenance"),
    ("普段とは異なる", "unusual_work"),
    ("プログラム更新", "unusual_work"),
)


@dataclass
class SectionCase:
    """One case as printed: its title, 節, blocks and the lines it spans (1-based)."""

    number: int
    title_parts: list[str]
    theme_label: str
    theme_id: str
    start: int
    end: int = 0
    sector_parts: list[str] = field(default_factory=list)
    events: list[list[str]] = field(default_factory=list)
    causes: list[list[str]] = field(default_factory=list)
    countermeasures: list[list[str]] = field(default_factory=list)
    block: str = "title"
    pair: int = 0
    #: Items before this index belong to an earlier <原因N> block: never continued.
    block_start: int = 0


@dataclass
class SectionsParse:
    """What the parser recognised, and each line it could not place (line, why)."""

    cases: list[dict]
    problems: list[tuple[int, str]]


def theme_id_for(label: str, number: int) -> str:
    """The theme id of a 節 label: a known kind of failure, else ``section_N``."""
    for phrase, theme_id in SECTION_THEMES:
        if phrase in label:
            return theme_id
    return f"section_{number}"


def _nfkc(line: str) -> str:
    return unicodedata.normalize("NFKC", line).strip()


class _Parser:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.notes: list[str] = []
        self.footnotes, self.footnote_lines = _find_footnotes(lines, self.notes)
        self.strip_refs = _RefStripper(self.footnotes)
        self.cases: list[SectionCase] = []
        self.problems: list[tuple[int, str]] = []
        self.theme: tuple[str, str] | None = None
        self.next_number = 1
        self.open: SectionCase | None = None

    def clean(self, parts: list[str]) -> str:
        return _normalize_spaces(self.strip_refs(_join(parts)))

    def parse(self) -> SectionsParse:
        for index, raw in enumerate(self.lines):
            s = raw.strip()
            if not s or index in self.footnote_lines:
                continue
            n = _nfkc(s)
            if _PAGE_NUMBER_RE.match(n):
                continue
            self._line(index + 1, s, n)
        self._close()
        return SectionsParse(
            [self._finish(c) for c in self.cases if c.block != "bad"], self.problems
        )

    def _line(self, no: int, s: str, n: str) -> None:
        m = _SECTION_RE.match(n)
        if m:
            self._close()
            label = _normalize_spaces(m.group(2))
            self.theme = (label, theme_id_for(label, int(m.group(1))))
            self.next_number = 1
            return
        if _CHAPTER_RE.match(n) and self.open is None:
            return
        m = _TITLE_RE.match(n)
        if m and self.theme is not None and int(m.group(1)) == self.next_number:
            self._close()
            self.next_number += 1
            label, theme_id = self.theme
            self.open = SectionCase(int(m.group(1)), [m.group(2)], label, theme_id, no, no)
            return
        if self.theme is None:
            return  # the cover, the contents and the chapters before the cases
        case = self.open
        if case is None:
            self.problems.append((no, f"text outside any case: {s[:40]!r}"))
            return
        if case.block == "bad":
            case.end = no  # the case's first problem is reported; the rest of it follows
            return
        m = _MARKER_RE.match(n)
        if m:
            self._marker(case, no, m.group(1), int(m.group(2) or 1))
            return
        self._text(case, no, s)

    def _marker(self, case: SectionCase, no: int, name: str, number: int) -> None:
        case.end = no
        if name.startswith("業態"):
            if case.block != "title":
                self._bad(case, no, f"a second <{name}> in case {case.number}")
                return
            case.block = "sectors"
        elif name == "事象":
            if number != case.pair + 1 or case.block not in ("sectors", "causes"):
                self._bad(case, no, f"<事象{number}> out of order in case {case.number}")
                return
            case.pair, case.block = number, "event"
            case.events.append([])
        elif name == "原因":
            if number != case.pair or case.block != "event":
                self._bad(case, no, f"<原因{number}> without its <事象{number}>")
                return
            case.block, case.block_start = "causes", len(case.causes)
        else:
            if case.block != "causes":
                self._bad(case, no, f"<対策> before any <原因> in case {case.number}")
                return
            case.block, case.block_start = "countermeasures", 0

    def _text(self, case: SectionCase, no: int, s: str) -> None:
        case.end = no
        if case.block == "title":
            case.title_parts.append(s)
        elif case.block == "sectors":
            case.sector_parts.append(s)
        elif case.block == "event":
            case.events[-1].append(s.lstrip("○◯〇").strip())
        elif case.block in ("causes", "countermeasures"):
            items = case.causes if case.block == "causes" else case.countermeasures
            if s[0] in _ITEM_MARKS or _is_bullet(s[0]):
                items.append([s[1:].strip()])
            elif len(items) > case.block_start:
                items[-1].append(s)
            else:
                items.append([s])

    def _bad(self, case: SectionCase, no: int, why: str) -> None:
        self.problems.append((no, why))
        case.block = "bad"

    def _close(self) -> None:
        case = self.open
        if case is None:
            return
        self.open = None
        self.cases.append(case)
        if case.block == "bad":
            return
        missing = [
            what
            for what, ok in (
                ("<業態>", bool(case.sector_parts)),
                ("<事象1>", bool(case.events and case.events[0])),
                ("<原因1>", bool(case.causes)),
            )
            if not ok
        ]
        if missing:
            title = self.clean(case.title_parts)
            self.problems.append(
                (case.start, f"case {case.number} {title[:30]!r} has no {' or '.join(missing)}")
            )
            case.block = "bad"

    def _finish(self, case: SectionCase) -> dict:
        sectors = [s.strip() for s in re.split(r"[、,，]", self.clean(case.sector_parts))]
        return {
            "title": self.clean(case.title_parts),
            "theme_label": case.theme_label,
            "theme_id": case.theme_id,
            "sectors": [s for s in sectors if s],
            "event": "\n".join(self.clean(parts) for parts in case.events if parts),
            "causes": [self.clean(item) for item in case.causes],
            "countermeasures": [self.clean(item) for item in case.countermeasures],
            "lines": (case.start, max(case.end, case.start)),
        }


def parse_sections(lines: list[str]) -> SectionsParse:
    """The cases of a later edition's case chapter, and what could not be placed."""
    return _Parser(lines).parse()
