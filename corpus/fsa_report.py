"""Parser for the text of the FSA's 「金融機関のシステム障害に関する分析レポート」.

The seed (``shared/seeds/fsa-2019-system-failure-report.txt``) is text extracted from
the June 2019 PDF. :func:`parse_report` turns it into :class:`~corpus.schema.Case`
objects plus the report-level data (glossary, 主な障害傾向, 障害事象別割合). Another
edition printed in the same layout parses with ``year=YYYY`` (ids ``fsaYYYY-NN``).

Layout and the rules chosen for its PDF artefacts
-------------------------------------------------
Line numbers below are 1-based lines of the 2019 seed; every PDF line is followed by
an empty line, and there are no form feeds.

* **Sections.** ``【…】`` parts, ``１．…`` sections, ``（１）…`` subsections and circled
  items ``①…`` are recognised by their shape, not by their exact wording. The cases live
  in the section whose title ends with 事例 (``２．事例``); each circled item there is a
  theme (①…⑧), taken as such only when its number is the next one in sequence. The 2020
  edition numbers its themes ``（１）…（継続）`` instead: a ``（N）`` line there is a theme on
  the same terms, its （継続）/（新規） tag dropped from the label.
* **Pages.** A page starts with a line that begins with one space (sector lines below
  ``＜業態等＞`` begin with a space too). The parser needs page starts only to end a
  footnote. The one printed page number (``14``, line 713) and the end mark ``以上``
  (line 1741, printed among the headings at the top of the last page) are dropped
  wherever they occur: any line of 1-3 digits alone, any line that is exactly 以上.
* **Titles (➢ headings).** Headings are printed at the top of each page, ahead of the
  cases they name, and a heading of the next page can appear in the middle of a case
  (line 563 sits between two causes of fsa2019-05). So the nearest preceding heading is
  the wrong rule. Headings are put in a queue and each ``＜業態等＞`` block takes the
  next one: the 2019 seed has 41 of each and heading *n* names the case(s) of block
  *n*. A ``＜事象＞`` with no ``＜業態等＞`` of its own continues the title group of the
  case before it and inherits its title, theme and sectors (fsa2019-10, -11 and -12
  after fsa2019-09). The theme of a case is the theme under which its heading was
  printed. A heading that does not fit on one line wraps (lines 647/649 ``…残高情報の
  誤更`` / ``新``, and 981/983): a plain line directly after a heading is taken as its
  continuation when it is short (at most 20 characters) and does not end with 。.
  Parsing fails if a heading is left over or a ``＜業態等＞`` finds the queue empty.
* **Footnotes.** A footnote starts with a line ``N …`` where ``N`` is the next footnote
  number (1, 2, … in order) and the text is ``「TERM」とは…`` or, for a footnote without
  a quoted term (footnote 3), ``N`` is also found glued to a word in the body
  (``ガイドライン等3``). It continues on the following lines until its text ends with
  。, a page starts, a marker line (``＜…＞``, ``○``, a bullet, ``➢``) comes, or the next
  footnote starts. Ending at 。 matters: footnote 8 (lines 1230-1232) is followed,
  on the same page, by the rest of a cause of fsa2019-26 (line 1234); footnote 7
  (line 715) is printed at the top of its page, before the bullet that ends fsa2019-09
  and before its own reference in fsa2019-12. Every footnote of the 2019 seed ends in 。
  on its last line. Footnote text never goes into a case or a trend; it becomes the
  **glossary**, one entry per footnote keyed by its term without the parenthesised
  expansion (``API`` for 「API（Application Programming Interface）」; footnote 3 is
  keyed by the word it is attached to, ``各種ガイドライン等``) with the whole footnote
  text as the definition (footnote 5 also defines 不正オーソリ: it stays in the オーソリ
  entry).
* **Footnote references** are the footnote's number glued to the term
  (``データパッチ7``, ``リスクベース認証6``, ``SSL 証明書8``): ``TERM`` + ``N`` is
  replaced by ``TERM`` in every text the parser returns (titles included).
* **Markers.** ``＜業態等＞ ＜事象＞ ＜原因＞ ＜対策＞`` (trailing spaces ignored) open
  the blocks of a case. An event item starts with ○; cause and countermeasure items
  start with a bullet, which the PDF gives as private-use characters (U+F075 for causes
  and U+F06C for countermeasures in 2019; any U+E000-U+F8FF character or ●■◆▪• is
  accepted). A line without a marker continues the item before it, so parenthesised
  continuation lines such as ``（有識者の作業状況…が前提）`` (line 528) stay with their
  bullet. Markers are removed from the text.
* **Joining lines and spacing.** Lines of one item are joined without a space: the
  spaces at PDF line ends are layout, not text. The only exception is the boundary
  between a Latin letter or digit and Japanese (or another Latin/digit character),
  which gets one space, because that is how the PDF itself spaces such runs within a
  line (``IB に関する OTP 認証``: 146 spaced boundaries against 12 unspaced ones in
  the seed, footnote references aside): ``個人`` + ``IB、法人 IB`` gives
  ``個人 IB、法人 IB``. Within a line the original spacing between Japanese and Latin
  runs is kept as printed (it is inconsistent: ``CP の作成`` but ``CPが策定``; search
  should normalise it, not the corpus); runs of spaces are collapsed and
  spaces between two Japanese characters or next to Japanese punctuation (``認証 （``)
  are removed. Full-width letters (``Ａ社``) and the report's wording are not changed.
* **Sectors.** The ``＜業態等＞`` text is split on 、 (and commas) only.
  ``信用金庫及び信用組合`` stays one sector: it is one category name in FSA usage, and
  及び also occurs inside other names.
* **Overview data.** ``２．主な障害傾向`` gives one trend per theme (（１）業態共通,
  matched to the case themes by their circled number, because the wording differs:
  ④ 取引量増加に起因する障害 in the overview, 取引量増加に伴う障害 over the cases) and per
  sector (（２）業態固有; key = the label without における障害). Themes ⑤-⑧ have no
  overview entry; the paragraph printed under their heading in 事例 is their trend.
  ``１．業態全体の障害傾向（事象別）`` is the overall trend. Trend text keeps paragraphs
  (one per line); a paragraph ends at a line ending in 。 and a ・ item starts one.
* **障害事象別割合 (図表１).** The pie chart's percentages and labels come out as two
  separate runs (12 percentages, some several to a line, then 12 labels). They are
  paired in order, the n-th percentage with the n-th label; the parser fails when the
  counts differ and warns when the sum is not 100±2 (2019: exactly 100). The pairing
  cannot be checked against the PDF from the text alone; it agrees with the prose
  (ソフトウエア障害 and 管理面・人的要因 together 約６割 = 36 % + 25 %). The labels keep
  the figure's spelling (ソフトウエア, ハードウエア).

Not parsed, or kept as printed
------------------------------
* 【はじめに】, ``１．集計期間`` and ``３．今後の金融庁の取組`` are not kept.
* Typos of the original are kept: 検知でなかった (fsa2019-25), テストデータ使用した
  (fsa2019-40), 太宗 (overview), ``Control OBjectives`` (footnote 3).
* ``Source.lines`` spans from the case's ``＜業態等＞`` (or ``＜事象＞``) line to its last
  text line, so it can include page-top headings, a page number or a footnote that
  the PDF printed in the middle of the case; none of those is in the case's fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kizuki.corpus.exceptions import ReportParseError as ReportParseError
from kizuki.corpus.schema import Case, Source, Theme
from pydantic import BaseModel, ConfigDict

DEFAULT_REPORT_NAME = "金融庁「金融機関のシステム障害に関する分析レポート」"

#: Theme ids of the 2019 edition, keyed by the label printed over the cases.
#: A label not listed here gets ``theme_N`` (N = its circled number); pass
#: ``theme_ids`` to :func:`parse_report` to name the themes of another edition.
THEME_IDS: dict[str, str] = {
    "サードパーティに起因する障害": "third_party",
    "レガシーシステムにおける有識者不足に起因する障害": "legacy_expertise",
    "システム統合・更改に関する障害": "integration_renewal",
    "取引量増加に伴う障害": "transaction_volume",
    "委託先に起因する障害": "outsourcing",
    "作業手順誤りに起因する障害": "procedure_error",
    "固有の商品特性の理解不足に起因する障害": "product_understanding",
    "設計時の基本的な事項の考慮漏れに起因する障害": "design_basics",
}

_HEADING_WRAP_MAX_CHARS = 20
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_EVENT_MARKS = "○◯〇"
_OTHER_BULLETS = "●■◆▪•"

_PART_RE = re.compile(r"^【(.+)】$")
_SECTION_RE = re.compile(r"^([０-９0-9]+)．\s*(\S.*)$")
_SUBSECTION_RE = re.compile(r"^[（(]([０-９0-9]+)[）)]\s*(\S.*)$")
_ITEM_RE = re.compile(rf"^([{_CIRCLED}])\s*(\S.*)$")
_MARKER_RE = re.compile(r"^＜(.+?)＞$")
_FIGURE_RE = re.compile(r"^図表\s*[０-９0-9]*\s*「(.+)」$")
_PERCENT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_PAGE_NUMBER_RE = re.compile(r"^[-－–]?\s*\d{1,3}\s*[-－–]?$")
_FOOTNOTE_RE = re.compile(r"^(\d{1,2})\s+(\S.*)$")
_QUOTED_TERM_RE = re.compile(r"^「([^」]+)」とは")
_PAREN_RE = re.compile(r"（[^）]*）|\([^)]*\)")
_END_MARK = "以上"
#: The 2020 edition tags each theme as carried over or new: （継続） / （新規）.
_THEME_STATUS_RE = re.compile(r"[（(](継続|新規)[）)]\s*$")


def _digits(text: str) -> int:
    """A number printed in full- or half-width digits."""
    return int(unicodedata.normalize("NFKC", text))


class Trend(BaseModel):
    """One overview paragraph group of the report (主な障害傾向 and the like)."""

    model_config = ConfigDict(frozen=True)

    scope: str  # "overall", "theme" or "sector"
    key: str  # "all", a theme id, or a sector name
    label: str  # the heading as printed (footnote references removed)
    section: str  # where it was printed, e.g. "主な障害傾向 / 業態共通"
    text: str  # paragraphs, one per line
    lines: tuple[int, int]


class Footnote(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    term: str  # glossary key: the quoted term without its parenthesis, or the word it annotates
    full_term: str  # the quoted term as printed ("" for a footnote without one)
    text: str  # the whole footnote without its number
    lines: tuple[int, int]


class ReportMetadata(BaseModel):
    """Report-level data kept beside the cases (``corpus/data/fsaYYYY_report.json``)."""

    model_config = ConfigDict(frozen=True)

    report: str
    year: int
    themes: list[Theme]
    glossary: dict[str, str]  # term -> definition (the footnote text), in footnote order
    event_types_title: str
    event_types: dict[str, float]  # 障害事象別割合: event type -> percent, in figure order
    trends: list[Trend]


class ParsedReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    cases: list[Case]
    footnotes: list[Footnote]
    metadata: ReportMetadata
    notes: list[str]  # layout irregularities handled on the way, with line numbers

    @property
    def glossary(self) -> dict[str, str]:
        return self.metadata.glossary

    @property
    def trends(self) -> list[Trend]:
        return self.metadata.trends

    @property
    def event_types(self) -> dict[str, float]:
        return self.metadata.event_types


# -- text helpers ---------------------------------------------------------------------------


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _is_japanese(ch: str) -> bool:
    """Kana, kanji and the prolonged sound mark (not punctuation)."""
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or ch == "々"
    )


def _is_wide_punct(ch: str) -> bool:
    return not ch.isascii() and unicodedata.category(ch).startswith(("P", "S")) and ch != "々"


def _is_bullet(ch: str) -> bool:
    return 0xE000 <= ord(ch) <= 0xF8FF or ch in _OTHER_BULLETS


def _join(parts: Iterable[str]) -> str:
    """Rejoin PDF lines of one item: no space, except where Latin meets Latin/Japanese."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out:
            a, b = out[-1], part[0]
            if (_is_latin(a) and (_is_latin(b) or _is_japanese(b))) or (
                _is_japanese(a) and _is_latin(b)
            ):
                out += " "
        out += part
    return out


def _normalize_spaces(text: str) -> str:
    """Collapse space runs; drop spaces inside Japanese runs and next to wide punctuation."""
    text = re.sub(r"[ \t\u3000\f\v]+", " ", text.strip())
    chars = list(text)
    keep = []
    for i, ch in enumerate(chars):
        if ch == " " and 0 < i < len(chars) - 1:
            a, b = chars[i - 1], chars[i + 1]
            if (_is_japanese(a) and _is_japanese(b)) or _is_wide_punct(a) or _is_wide_punct(b):
                continue
        keep.append(ch)
    return "".join(keep)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _circled_number(ch: str) -> int:
    return _CIRCLED.index(ch) + 1


# -- footnotes ------------------------------------------------------------------------------


@dataclass
class _Footnote:
    number: int
    full_term: str
    term: str
    parts: list[str]
    first: int
    last: int

    @property
    def anchors(self) -> list[str]:
        return list(dict.fromkeys(a for a in (self.full_term, self.term) if a))


def _glued_ref(number: int) -> re.Pattern[str]:
    return re.compile(rf"(?<=[^\s\d０-９]){number}(?![\d０-９%％.．])")


def _is_marker_line(s: str) -> bool:
    return bool(
        _MARKER_RE.match(s)
        or s[:1] in _EVENT_MARKS
        or (s and _is_bullet(s[0]))
        or s.startswith("➢")
        or _ITEM_RE.match(s)
    )


def _find_footnotes(lines: list[str], notes: list[str]) -> tuple[list[_Footnote], set[int]]:
    """Footnotes in order 1, 2, …; returns them and the 0-based indexes of their lines."""
    whole = "\n".join(lines)
    footnotes: list[_Footnote] = []
    used: set[int] = set()
    expected = 1
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        m = _FOOTNOTE_RE.match(s)
        if not m or int(m.group(1)) != expected:
            i += 1
            continue
        body = m.group(2)
        quoted = _QUOTED_TERM_RE.match(body)
        if not quoted and not _glued_ref(expected).search(whole):
            i += 1
            continue
        parts = [body]
        first = last = i
        j = i + 1
        while not parts[-1].rstrip().endswith("。"):
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j >= len(lines):
                break
            raw, nxt = lines[j], lines[j].strip()
            nm = _FOOTNOTE_RE.match(nxt)
            if (
                raw.startswith(" ")
                or _is_marker_line(nxt)
                or (nm and int(nm.group(1)) == expected + 1)
            ):
                notes.append(f"line {i + 1}: footnote {expected} does not end with 。")
                break
            parts.append(nxt)
            last = j
            j += 1
        full_term = quoted.group(1) if quoted else ""
        term = _PAREN_RE.sub("", full_term).strip() if quoted else ""
        footnotes.append(_Footnote(expected, full_term, term, parts, first + 1, last + 1))
        used.update(range(first, last + 1))
        expected += 1
        i = last + 1

    # A footnote without a quoted term is keyed by the word its number is glued to.
    for fn in footnotes:
        if fn.term:
            continue
        pattern = _glued_ref(fn.number)
        before: list[str] = []
        after: list[str] = []
        for k, line in enumerate(lines):
            if k in used:
                continue
            for m in pattern.finditer(line):
                word = re.search(r"[\u30a0-\u30ff\u3400-\u9fffー々]+$", line[: m.start()])
                if word:
                    (before if k < fn.first - 1 else after).append(word.group(0))
        if not before and not after:
            raise ReportParseError(f"footnote {fn.number} has no term and no reference", fn.first)
        fn.term = before[-1] if before else after[0]
    return footnotes, used


class _RefStripper:
    """Removes footnote reference digits glued to their terms (``データパッチ7``)."""

    def __init__(self, footnotes: list[_Footnote]) -> None:
        self._patterns = [
            (re.compile(re.escape(anchor) + rf"{fn.number}(?![\d０-９])"), anchor, fn.number)
            for fn in footnotes
            for anchor in sorted(fn.anchors, key=len, reverse=True)
        ]

    def __call__(self, text: str) -> str:
        for pattern, anchor, _ in self._patterns:
            text = pattern.sub(lambda _m, a=anchor: a, text)
        return text

    def count(self, text: str) -> dict[int, int]:
        """How many references to each footnote ``text`` holds."""
        counts: dict[int, int] = {}
        for pattern, _, number in self._patterns:
            counts[number] = counts.get(number, 0) + len(pattern.findall(text))
        return counts


# -- cases ----------------------------------------------------------------------------------


@dataclass
class _Heading:
    title_parts: list[str]
    theme: Theme
    line: int
    used: bool = False


@dataclass
class _CaseDraft:
    heading: _Heading
    start: int
    inherited: bool = False
    sector_parts: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    events: list[list[str]] = field(default_factory=list)
    causes: list[list[str]] = field(default_factory=list)
    countermeasures: list[list[str]] = field(default_factory=list)
    block: str = "sectors"
    end: int = 0


@dataclass
class _Bucket:
    section: str
    subsection: str
    item_number: int
    item_label: str
    lines: list[tuple[int, str]] = field(default_factory=list)


def _paragraphs(lines: list[tuple[int, str]]) -> str:
    paras: list[list[str]] = []
    current: list[str] = []
    for _, s in lines:
        if s.startswith("・") and current:
            paras.append(current)
            current = []
        current.append(s)
        if s.endswith("。"):
            paras.append(current)
            current = []
    if current:
        paras.append(current)
    out = []
    for para in paras:
        text = _join(para)
        if text.startswith("・"):
            text = "・" + text[1:].lstrip()
        out.append(text)
    return "\n".join(out)


def _split_sectors(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"[、，,]", text) if s.strip()]


@dataclass
class _State:
    """Where the parser is: the section and its mode (``front``, ``part``, ``overview``,
    ``figure``, ``cases``), the overview bucket being filled, the ➢ headings waiting for
    their case, the current theme and its introduction, the case being read."""

    section: str = ""
    subsection: str = ""
    mode: str = "front"
    bucket: _Bucket | None = None
    queue: deque[_Heading] = field(default_factory=deque)
    headings: list[_Heading] = field(default_factory=list)
    theme: Theme | None = None
    intro: list[tuple[int, str]] | None = None
    draft: _CaseDraft | None = None
    previous: _CaseDraft | None = None
    #: What the previous line was (``theme``, ``heading``, ``heading-wrap``, ``text``).
    last_kind: str = ""
    event_markers: int = 0


class _Parser:
    def __init__(
        self, text: str, year: int, report_name: str, theme_ids: Mapping[str, str]
    ) -> None:
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        self.lines = text.split("\n")
        self.year = year
        self.report_name = report_name
        self.theme_ids = dict(theme_ids)
        self.notes: list[str] = []
        self.footnotes, self.footnote_lines = _find_footnotes(self.lines, self.notes)
        self.strip_refs = _RefStripper(self.footnotes)

        self.cases: list[Case] = []
        self.themes: dict[int, Theme] = {}
        self.buckets: list[_Bucket] = []
        self.figure_title = ""
        self.percents: list[float] = []
        self.labels: list[str] = []
        self.theme_intros: list[tuple[Theme, list[tuple[int, str]]]] = []

    # -- text of one field
    def clean(self, parts: Iterable[str]) -> str:
        return _normalize_spaces(self.strip_refs(_join(parts)))

    def parse(self) -> ParsedReport:
        """One pass over the lines: each line is dropped (page numbers, the end mark,
        footnotes), or changes where we are (part, section, figure), or belongs to the
        overview (trends, the figure), or to the case studies (themes, ➢ headings, the
        ＜…＞ blocks of a case and their text)."""
        st = _State()
        for index, raw in enumerate(self.lines):
            no = index + 1
            s = raw.strip()
            if not s or index in self.footnote_lines or self._dropped(no, s):
                continue
            if self._structure(st, s) or self._overview(st, no, s):
                continue
            self._case_line(st, no, s)
        self._close(st)
        self._check_complete(st)
        return self._result()

    def _dropped(self, no: int, s: str) -> bool:
        """Page numbers and the end mark: not the report's text."""
        if _PAGE_NUMBER_RE.match(s):
            self.notes.append(f"line {no}: page number {s!r} dropped")
            return True
        if s == _END_MARK:
            self.notes.append(f"line {no}: end mark 以上 dropped")
            return True
        return False

    def _structure(self, st: _State, s: str) -> bool:
        """A part (【…】), a numbered section or the event-type figure starts here."""
        m = _PART_RE.match(s)
        if m:
            self._close(st)
            st.section, st.subsection, st.mode, st.bucket = "", "", "part", None
            return True
        m = _SECTION_RE.match(s)
        if m:
            self._close(st)
            st.section, st.subsection = _normalize_spaces(m.group(2)), ""
            st.mode = "cases" if st.section.endswith("事例") else "overview"
            st.bucket = _Bucket(st.section, "", 0, "") if st.mode == "overview" else None
            if st.bucket:
                self.buckets.append(st.bucket)
            return True
        m = _FIGURE_RE.match(s)
        if m:
            st.mode, self.figure_title = "figure", _normalize_spaces(m.group(1))
            return True
        return False

    def _overview(self, st: _State, no: int, s: str) -> bool:
        """Lines outside the case studies: the figure's percentages and labels, the
        overview's (sub)sections and items and their text (kept as trends)."""
        if st.mode == "figure":
            found = _PERCENT_RE.findall(s)
            if found:
                self.percents.extend(float(p) for p in found)
            else:
                self.labels.append(_normalize_spaces(s))
            return True
        if st.mode not in ("overview", "part", "front"):
            return False
        if st.mode != "overview":
            return True  # はじめに and other text outside a numbered section
        m = _SUBSECTION_RE.match(s)
        if m:
            st.subsection = _normalize_spaces(m.group(2))
            st.bucket = _Bucket(st.section, st.subsection, 0, "")
            self.buckets.append(st.bucket)
            return True
        m = _ITEM_RE.match(s)
        if m:
            label = _normalize_spaces(self.strip_refs(m.group(2)))
            st.bucket = _Bucket(st.section, st.subsection, _circled_number(m.group(1)), label)
            self.buckets.append(st.bucket)
            return True
        assert st.bucket is not None
        st.bucket.lines.append((no, s))
        return True

    def _case_line(self, st: _State, no: int, s: str) -> None:
        """A line of the case studies: a theme (a circled number, only in sequence), a ➢
        heading or its wrapped continuation, a ＜…＞ marker, or text of the open block."""
        m = _ITEM_RE.match(s)
        sub = _SUBSECTION_RE.match(s)
        if (m and _circled_number(m.group(1)) == len(self.themes) + 1) or (
            sub and _digits(sub.group(1)) == len(self.themes) + 1
        ):
            self._close(st)
            number = len(self.themes) + 1
            printed = m.group(2) if m else _THEME_STATUS_RE.sub("", sub.group(2))
            label = _normalize_spaces(self.strip_refs(printed))
            st.theme = Theme(id=self.theme_ids.get(label, f"theme_{number}"), label=label)
            self.themes[number] = st.theme
            st.intro = []
            self.theme_intros.append((st.theme, st.intro))
            st.last_kind = "theme"
            return
        if s.startswith("➢"):
            if st.theme is None:
                raise ReportParseError("a ➢ heading before the first theme", no)
            heading = _Heading([s[1:].strip()], st.theme, no)
            st.queue.append(heading)
            st.headings.append(heading)
            st.intro = None
            st.last_kind = "heading"
            return
        if (
            st.last_kind == "heading"
            and not _is_marker_line(s)
            and not s.endswith("。")
            and len(s) <= _HEADING_WRAP_MAX_CHARS
        ):
            st.headings[-1].title_parts.append(s)
            self.notes.append(
                f"line {no}: {s!r} continues the heading of line {st.headings[-1].line}"
            )
            st.last_kind = "heading-wrap"
            return
        st.last_kind = "text"
        m = _MARKER_RE.match(s)
        if m:
            self._marker(st, no, m.group(1).strip())
            return
        if st.draft is None:
            if st.intro is not None:
                st.intro.append((no, s))
                return
            raise ReportParseError(f"text outside any case: {s[:40]!r}", no)
        self._add_text(st.draft, no, s)

    def _marker(self, st: _State, no: int, name: str) -> None:
        """A ＜…＞ marker: ＜業態等＞ opens a case (for the next ➢ heading), ＜事象＞ its
        event (or a case of its own that inherits the previous title and sectors),
        ＜原因＞ and ＜対策＞ the next blocks, in that order."""
        if name == "業態等":
            self._close(st)
            if not st.queue:
                raise ReportParseError("＜業態等＞ without a ➢ heading for it", no)
            heading = st.queue.popleft()
            heading.used = True
            st.draft = _CaseDraft(heading=heading, start=no, end=no)
        elif name == "事象":
            st.event_markers += 1
            if st.draft is not None and st.draft.block == "sectors":
                if not st.draft.sector_parts:
                    raise ReportParseError("empty ＜業態等＞ block", st.draft.start)
                st.draft.sectors = _split_sectors(self.clean(st.draft.sector_parts))
            else:
                self._close(st)
                if st.previous is None:
                    raise ReportParseError("＜事象＞ before any ＜業態等＞", no)
                st.draft = _CaseDraft(
                    heading=st.previous.heading,
                    start=no,
                    inherited=True,
                    sectors=list(st.previous.sectors),
                )
                self.notes.append(f"line {no}: case without ＜業態等＞ inherits title and sectors")
            st.draft.block = "event"
        elif name in ("原因", "対策"):
            if st.draft is None:
                raise ReportParseError(f"＜{name}＞ outside a case", no)
            wanted = "event" if name == "原因" else "causes"
            if st.draft.block != wanted:
                raise ReportParseError(f"＜{name}＞ after ＜{st.draft.block}＞ block", no)
            st.draft.block = "causes" if name == "原因" else "countermeasures"
        else:
            raise ReportParseError(f"unknown marker ＜{name}＞", no)
        st.draft.end = no

    def _close(self, st: _State) -> None:
        """The open case, if any, is complete: check it and keep it."""
        if st.draft is not None:
            self.cases.append(self._finish(st.draft))
            st.previous = st.draft
            st.draft = None

    def _check_complete(self, st: _State) -> None:
        """Every ➢ heading named a case, and every ＜事象＞ made one."""
        left = [h for h in st.headings if not h.used]
        if left:
            raise ReportParseError(
                f"{len(left)} ➢ heading(s) name no case: {_join(left[0].title_parts)!r}",
                left[0].line,
            )
        if not self.cases:
            raise ReportParseError("no ＜事象＞ blocks found (is this the report text?)")
        assert st.event_markers == len(self.cases)

    def _add_text(self, draft: _CaseDraft, no: int, s: str) -> None:
        if draft.block == "sectors":
            draft.sector_parts.append(s)
        elif draft.block == "event":
            if s[0] in _EVENT_MARKS:
                draft.events.append([s[1:]])
            elif draft.events:
                draft.events[-1].append(s)
            else:
                raise ReportParseError(f"event text without ○: {s[:40]!r}", no)
        else:
            items = draft.causes if draft.block == "causes" else draft.countermeasures
            if _is_bullet(s[0]):
                items.append([s[1:]])
            elif items:
                items[-1].append(s)
            else:
                raise ReportParseError(f"{draft.block} text without a bullet: {s[:40]!r}", no)
        draft.end = no

    def _finish(self, draft: _CaseDraft) -> Case:
        number = len(self.cases) + 1
        case_id = f"fsa{self.year}-{number:02d}"
        where = f"{case_id} (line {draft.start})"
        if draft.block == "sectors":
            raise ReportParseError(f"{where}: ＜業態等＞ without ＜事象＞", draft.start)
        event = "\n".join(self.clean(parts) for parts in draft.events)
        causes = [self.clean(parts) for parts in draft.causes]
        countermeasures = [self.clean(parts) for parts in draft.countermeasures]
        if not event:
            raise ReportParseError(f"{where}: empty ＜事象＞", draft.start)
        if not causes:
            raise ReportParseError(f"{where}: no ＜原因＞ item", draft.start)
        if not countermeasures:
            raise ReportParseError(f"{where}: no ＜対策＞ item", draft.start)
        return Case(
            id=case_id,
            theme=draft.heading.theme,
            title=self.clean(draft.heading.title_parts),
            sectors=draft.sectors,
            event=event,
            causes=causes,
            countermeasures=countermeasures,
            source=Source(report=self.report_name, year=self.year, lines=(draft.start, draft.end)),
        )

    def _result(self) -> ParsedReport:
        footnotes = [
            Footnote(
                number=fn.number,
                term=fn.term,
                full_term=fn.full_term,
                text=self.clean(fn.parts),
                lines=(fn.first, fn.last),
            )
            for fn in self.footnotes
        ]
        body = _join(line for k, line in enumerate(self.lines) if k not in self.footnote_lines)
        for number, hits in self.strip_refs.count(body).items():
            if not hits:
                self.notes.append(f"footnote {number}: no reference found in the text")
        glossary: dict[str, str] = {}
        for fn in footnotes:
            if fn.term in glossary:
                raise ReportParseError(f"footnote {fn.number}: term {fn.term!r} defined twice")
            glossary[fn.term] = fn.text

        if len(self.percents) != len(self.labels):
            raise ReportParseError(
                f"figure {self.figure_title!r}: {len(self.percents)} percentages "
                f"but {len(self.labels)} labels"
            )
        event_types = dict(zip(self.labels, self.percents, strict=True))
        total = sum(event_types.values())
        if event_types and abs(total - 100) > 2:
            self.notes.append(f"figure {self.figure_title!r}: percentages sum to {total}")

        return ParsedReport(
            cases=self.cases,
            footnotes=footnotes,
            metadata=ReportMetadata(
                report=self.report_name,
                year=self.year,
                themes=[self.themes[n] for n in sorted(self.themes)],
                glossary=glossary,
                event_types_title=self.figure_title,
                event_types=event_types,
                trends=self._trends(),
            ),
            notes=self.notes,
        )

    def _trends(self) -> list[Trend]:
        trends: list[Trend] = []

        def add(scope: str, key: str, label: str, where: str, lines: list[tuple[int, str]]):
            cleaned = [(no, self.strip_refs(s)) for no, s in lines]
            text = _normalize_paragraphs(_paragraphs(cleaned))
            if text:
                span = (lines[0][0], lines[-1][0])
                trends.append(
                    Trend(scope=scope, key=key, label=label, section=where, text=text, lines=span)
                )

        for b in self.buckets:
            if not b.lines:
                continue
            where = " / ".join(x for x in (b.section, b.subsection) if x)
            if "主な障害傾向" in b.section and b.item_number:
                if "業態共通" in b.subsection:
                    theme = self.themes.get(b.item_number)
                    if theme is None:
                        self.notes.append(f"trend {b.item_label!r}: no case theme {b.item_number}")
                        continue
                    add("theme", theme.id, b.item_label, where, b.lines)
                elif "業態固有" in b.subsection:
                    key = re.sub(r"における障害$", "", b.item_label)
                    add("sector", key, b.item_label, where, b.lines)
            elif "障害傾向" in b.section and not b.subsection and not b.item_number:
                add("overall", "all", b.section, where, b.lines)
        for theme, lines in self.theme_intros:
            if lines:
                add("theme", theme.id, theme.label, "事例", lines)
        # Overall first, then themes in report order, then sectors.
        theme_order = {t.id: n for n, t in self.themes.items()}
        scope_order = {"overall": 0, "theme": 1, "sector": 2}
        return sorted(trends, key=lambda t: (scope_order[t.scope], theme_order.get(t.key, 0)))


def _normalize_paragraphs(text: str) -> str:
    return "\n".join(_normalize_spaces(p) for p in text.split("\n") if p.strip())


def parse_report(
    text: str,
    year: int = 2019,
    report_name: str = DEFAULT_REPORT_NAME,
    theme_ids: Mapping[str, str] | None = None,
) -> ParsedReport:
    """Parse the text of one edition of the report; ids are ``fsa{year}-NN``.

    Raises :class:`ReportParseError` (a ``ValueError`` naming the line) when the text
    does not follow the layout described in this module's docstring.
    """
    if not 1900 <= year <= 2999:
        raise ValueError(f"year must be a four-digit year, got {year}")
    ids = THEME_IDS if theme_ids is None else theme_ids
    return _Parser(text, year, report_name, ids).parse()
