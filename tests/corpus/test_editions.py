"""Every edition's layout, as text and as a PDF printed in the bundled Japanese font.

The fixtures (``tests/corpus/editions``) are invented cases in the 2020 and 2024 layouts;
``expected.json`` holds what a correct parser extracts from each, page numbers included.
The PDFs are built here with reportlab, so the PDF path runs end to end: pdfminer's text
layer, page breaks, running headers, footnotes, broken words, numbered event/cause pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kizuki.corpus.editions import read_report
from kizuki.corpus.exceptions import CorpusImportError
from kizuki.corpus.io import load_report
from kizuki.corpus.pdf_text import PdfTextError, pdf_text
from report_pdfs import FIXTURES, build_pdf, build_scan_pdf, build_two_column_pdf

EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
SEED_TEXT = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "seeds"
    / "fsa-2019-system-failure-report.txt"
)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fields(case) -> dict:
    return {
        "title": case.title,
        "sectors": case.sectors,
        "theme": case.theme.label,
        "event": case.event,
        "causes": case.causes,
        "countermeasures": case.countermeasures,
        "page": case.source.page,
    }


def check(report, name: str) -> None:
    expected = EXPECTED[name]
    assert (report.year, report.title) == (expected["year"], expected["title"])
    assert [fields(case) for case in report.cases] == expected["cases"]
    for case in report.cases:
        assert case.source.year == expected["year"]
        assert case.source.url and case.source.url.startswith("https://www.fsa.go.jp/")
        assert case.source.edition in ("令和2年6月", "2024年6月")
        assert case.id.startswith(f"fsa{expected['year']}-")


@pytest.mark.parametrize(
    ("name", "layout"), [("fixture_2020.txt", "2019"), ("fixture_2024.txt", "sections")]
)
def test_each_layout_as_text(name, layout):
    report = read_report(fixture(name), name)
    assert report.layout == layout
    check(report, name)


@pytest.mark.parametrize("name", ["fixture_2020.txt", "fixture_2024.txt"])
def test_each_layout_as_a_pdf(tmp_path, name):
    path = build_pdf(fixture(name), tmp_path / "report.pdf")
    report = load_report(path)
    check(report, name)


def test_full_width_markers_and_digits_are_the_same_layout():
    """The real 2024 PDF may print ＜業態＞ and １．; the excerpts seen were NFKC-folded."""
    wide = fixture("fixture_2024.txt")
    for half, full in (("<", "＜"), (">", "＞"), ("1.", "１．"), ("2.", "２．")):
        wide = wide.replace(half, full)
    assert "＜事象1＞" in wide
    check(read_report(wide, "wide"), "fixture_2024.txt")


def test_the_2019_seed_printed_into_a_pdf(tmp_path):
    text = SEED_TEXT.read_text(encoding="utf-8")
    from_text = read_report(text, "seed", year=2019).cases
    assert len(from_text) == 44
    from_pdf = load_report(build_pdf(text, tmp_path / "2019.pdf"), year=2019).cases
    strip = {"source"}
    assert [c.model_dump(exclude=strip) for c in from_pdf] == [
        c.model_dump(exclude=strip) for c in from_text
    ]
    assert all(c.source.page for c in from_pdf)


def test_a_two_column_page_is_read_column_by_column(tmp_path):
    left = ["左の段の一行目、勘定系システム", "左の段の二行目、夜間バッチ"]
    right = ["右の段の一行目、外部委託先", "右の段の二行目、証明書期限切れ"]
    text = pdf_text(build_two_column_pdf(left, right, tmp_path / "two.pdf"))
    assert text.split("\n") == [*left, *right]


def test_a_scan_an_encrypted_pdf_and_a_damaged_one_are_one_clear_error(tmp_path):
    scan = build_scan_pdf(fixture("fixture_2024.txt")[:800], tmp_path / "scan.pdf")
    with pytest.raises(CorpusImportError, match="no text layer .* OCR"):
        load_report(scan)
    locked = build_pdf(fixture("fixture_2024.txt"), tmp_path / "locked.pdf", password="pw")
    with pytest.raises(CorpusImportError, match="encrypted with a password"):
        load_report(locked)
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50)
    with pytest.raises(CorpusImportError, match="not a readable PDF"):
        load_report(damaged)
    with pytest.raises(PdfTextError):
        pdf_text(scan)


def test_a_document_that_is_not_the_report_is_refused():
    with pytest.raises(CorpusImportError, match="not an FSA system-failure report"):
        read_report(fixture("fixture_unknown.txt"), "minutes.txt")


def test_a_partial_extraction_names_each_passage_and_stores_nothing():
    """A case whose blocks came out of order (a bad extraction) fails the whole import,
    saying what was recognised and where the rest is."""
    cut = fixture("fixture_2024.txt").replace("<事象2>", "<事象3>", 1)
    with pytest.raises(CorpusImportError) as info:
        read_report(cut, "cut.txt")
    messages = [str(e) for e in info.value.errors]
    assert any("(page 31)" in m and "<事象3> out of order" in m for m in messages), messages
    assert messages[-1].endswith("3 cases were recognised, 1 passages were not (nothing is stored)")


def test_a_year_on_the_command_line_overrides_the_cover():
    report = read_report(
        fixture("fixture_2024.txt"), "r", year=2023, url="https://example.org/r.pdf"
    )
    assert report.year == 2023 and {c.source.url for c in report.cases} == {
        "https://example.org/r.pdf"
    }
    assert [c.id for c in report.cases] == [f"fsa2023-0{n}" for n in range(1, 5)]
