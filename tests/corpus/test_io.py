"""Reading and writing cases: JSONL/CSV round trips and row validation with file/line/field."""

from __future__ import annotations

import json

import pytest
from kizuki.corpus import seed_cases
from kizuki.corpus.io import (
    CorpusImportError,
    dumps_csv,
    dumps_jsonl,
    load_cases,
    parse_csv,
    parse_jsonl,
    write_csv,
    write_jsonl,
)
from kizuki.corpus.schema import Case

HEADER = (
    "id,theme_id,theme_label,title,sectors,event,causes,countermeasures,source_report,source_year\n"
)


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_jsonl_round_trip_of_the_seed(tmp_path):
    cases = seed_cases()
    path = tmp_path / "cases.jsonl"
    write_jsonl(cases, path)
    assert load_cases(path) == cases
    first = path.read_text(encoding="utf-8").split("\n")[0]
    assert list(json.loads(first)) == list(Case.model_fields)  # canonical key order
    assert "主要行等" in first  # not \u-escaped


def test_csv_round_trip_of_the_seed(tmp_path):
    cases = seed_cases()
    path = tmp_path / "cases.csv"
    write_csv(cases, path, excel_bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert load_cases(path) == cases
    assert parse_csv(dumps_csv(cases)) == cases


def test_csv_happy_path_with_list_cells(tmp_path):
    path = write(
        tmp_path,
        "mine.csv",
        HEADER
        + 'my-1,,,夜間バッチ遅延,"地域銀行\n信用金庫及び信用組合",バッチが遅延した。,"原因A\n\n原因B",対策,社内記録,2024\n'
        + "my-2,procedure_error,作業手順誤りに起因する障害,,,ATM が停止した。,,,,\n",
    )
    one, two = load_cases(path)
    assert one.sectors == ["地域銀行", "信用金庫及び信用組合"]
    assert one.causes == ["原因A", "原因B"]  # empty lines in a cell are ignored
    assert one.source.report == "社内記録" and one.source.year == 2024
    assert two.theme.id == "procedure_error" and two.source is None and two.causes == []


def test_csv_needs_only_id_and_event(tmp_path):
    path = write(tmp_path, "min.csv", "event,id\nシステム停止,x-1\n")
    assert load_cases(path) == [Case(id="x-1", event="システム停止")]


def test_jsonl_happy_path(tmp_path):
    rows = [
        {"id": "a-1", "event": "障害A", "causes": ["c"], "countermeasures": ["m"]},
        {"event": "障害B", "id": "a-2", "theme": {"id": "t", "label": "テーマ"}},
    ]
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n"
    cases = load_cases(write(tmp_path, "a.jsonl", text))
    assert [c.id for c in cases] == ["a-1", "a-2"]
    assert cases[1].theme.label == "テーマ"


def test_bad_csv_row_names_file_line_and_field(tmp_path):
    path = write(
        tmp_path,
        "cases.csv",
        HEADER + "ok-1,,,,,障害,,,,\n" + "bad-1,,,,,   ,,,,\n",
    )
    with pytest.raises(CorpusImportError) as info:
        load_cases(path)
    assert str(info.value) == f"{path}:3:event: must not be empty"
    assert isinstance(info.value, ValueError)


def test_csv_line_numbers_count_multi_line_cells(tmp_path):
    path = write(
        tmp_path,
        "cases.csv",
        HEADER
        + 'ok-1,,,,"A\nB\nC",障害,,,,\n'  # lines 2-4
        + "bad id,,,,,障害,,,,\n",  # line 5
    )
    with pytest.raises(CorpusImportError, match=r"cases.csv:5:id: id must be"):
        load_cases(path)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("x-1,t,,,,障害,,,,", ":2:theme_label: must be given together"),
        ("x-1,,,,,障害,,,,2019", ":2:source_report: is required when source_year"),
        ("x-1,,,,,障害,,,rep,twenty", ":2:source_year: must be an integer"),
        ("x-1,,,,,障害,,", ":2: expected 10 cells, found 8"),
        (",,,,,障害,,,,", ":2:id: "),
    ],
)
def test_csv_field_errors(tmp_path, row, expected):
    path = write(tmp_path, "c.csv", HEADER + row + "\n")
    with pytest.raises(CorpusImportError, match=expected):
        load_cases(path)


def test_csv_header_errors(tmp_path):
    with pytest.raises(CorpusImportError, match=r":1:evnt: unknown column"):
        load_cases(write(tmp_path, "h.csv", "id,evnt\nx,y\n"))
    with pytest.raises(CorpusImportError, match=r":1:event: missing column"):
        load_cases(write(tmp_path, "h2.csv", "id,title\nx,y\n"))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "b-1", "event": ', ":2: invalid JSON"),
        ('["b-1", "障害"]', ":2: expected a JSON object"),
        ('{"id": "b-1"}', ":2:event: is required"),
        ('{"id": "b-1", "event": "x", "foo": 1}', ":2:foo: unknown field"),
        (
            '{"id": "b-1", "event": "x", "sectors": "主要行等"}',
            ":2:sectors: must be a list",
        ),
        ('{"id": "b-1", "event": "x", "causes": ["a", " "]}', ":2:causes: items must"),
        (
            '{"id": "b-1", "event": "x", "theme": {"id": "t"}}',
            ":2:theme.label: is required",
        ),
        ('{"id": "b 1", "event": "x"}', ":2:id: id must be 1-64 characters"),
    ],
)
def test_bad_jsonl_rows(tmp_path, line, expected):
    path = write(tmp_path, "cases.jsonl", '{"id": "ok-1", "event": "障害"}\n' + line + "\n")
    with pytest.raises(CorpusImportError, match=expected):
        load_cases(path)


def test_duplicate_ids_are_rejected(tmp_path):
    text = '{"id": "d-1", "event": "a"}\n{"id": "d-2", "event": "b"}\n{"id": "d-1", "event": "c"}\n'
    with pytest.raises(CorpusImportError, match=r":3:id: duplicate id 'd-1' \(first on line 1\)"):
        parse_jsonl(text, "dup.jsonl")


def test_all_bad_rows_are_collected_in_one_error(tmp_path):
    text = "".join(f'{{"id": "e-{i}", "event": ""}}\n' for i in range(70))
    with pytest.raises(CorpusImportError) as info:
        parse_jsonl(text, "many.jsonl")
    err = info.value
    assert str(err) == "many.jsonl:1:event: must not be empty (and 69 more errors)"
    assert err.total == 70 and len(err.errors) == 50
    assert [e.line for e in err.errors[:3]] == [1, 2, 3]


def test_non_utf8_input_is_refused(tmp_path):
    path = write(tmp_path, "sjis.csv", HEADER + "s-1,,,,,システム障害,,,,\n", encoding="cp932")
    with pytest.raises(
        CorpusImportError, match=r"sjis.csv:2: not UTF-8 text .*save the file as UTF-8"
    ):
        load_cases(path)


def test_huge_input_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as f:
        f.truncate(50_000_001)  # sparse: costs no disk or time
    with pytest.raises(
        CorpusImportError, match=r"huge.jsonl: file is 50.0 MB, more than the 50 MB limit"
    ):
        load_cases(path)
    small = write(tmp_path, "s.jsonl", '{"id": "a", "event": "b"}\n')
    with pytest.raises(CorpusImportError, match="more than the"):
        load_cases(small, max_bytes=10)


def test_empty_and_unknown_files(tmp_path):
    with pytest.raises(CorpusImportError, match="no cases found"):
        load_cases(write(tmp_path, "empty.jsonl", "\n\n"))
    with pytest.raises(CorpusImportError, match="empty file"):
        load_cases(write(tmp_path, "empty.csv", ""))
    with pytest.raises(CorpusImportError, match="cannot tell the format"):
        load_cases(write(tmp_path, "cases.xml", "x"))
    with pytest.raises(CorpusImportError, match="no such file"):
        load_cases(tmp_path / "missing.csv")
    with pytest.raises(CorpusImportError, match="not an FSA system-failure report"):
        load_cases(write(tmp_path, "r.txt", "x"))
    no_cover = "２．事例\n① テーマ\n➢ 見出し\n＜業態等＞\n 地域銀行\n＜事象＞\n○ 障害\n"
    with pytest.raises(CorpusImportError, match="year is required"):
        load_cases(write(tmp_path, "r.txt", no_cover), "fsa-report")


def test_report_text_errors_name_the_line(tmp_path):
    path = write(tmp_path, "r.txt", "２．事例\n① テーマ\n＜業態等＞\n➢ 見出し\n")
    with pytest.raises(CorpusImportError, match=r"r.txt:3: ＜業態等＞ without a ➢ heading"):
        load_cases(path, "fsa-report", year=2020)


def test_dumps_jsonl_is_one_canonical_line_per_case():
    cases = seed_cases()[:3]
    text = dumps_jsonl(cases)
    assert text.endswith("\n") and text.count("\n") == 3
    assert text.split("\n")[0] == json.dumps(cases[0].to_json_dict(), ensure_ascii=False)


def test_every_error_of_a_csv_row_is_reported(tmp_path):
    """A bad theme or source cell no longer hides the row's other errors."""
    path = write(tmp_path, "row.csv", HEADER + "bad id,procedure_error,,,,,,,,2019\n")
    with pytest.raises(CorpusImportError) as info:
        load_cases(path)
    found = {(e.line, e.field) for e in info.value.errors}
    assert found == {(2, "theme_label"), (2, "source_report"), (2, "id"), (2, "event")}


def test_every_duplicate_and_stored_id_is_named(tmp_path):
    """Each repeat of an id (even after a row with other errors) and each id already in the
    store is its own error, in file order."""
    text = HEADER + "".join(
        f"{case_id},,,,,{event},,,,\n"
        for case_id, event in (
            ("a", "x"),
            ("b", ""),  # invalid, but its id still counts
            ("b", "x"),
            ("a", "x"),
            ("fsa2019-01", "x"),
            ("c", "x"),
            ("fsa2019-02", "x"),
        )
    )
    with pytest.raises(CorpusImportError) as info:
        parse_csv(text, "d.csv", known_ids={"fsa2019-01", "fsa2019-02"})
    assert [str(e) for e in info.value.errors] == [
        "d.csv:3:event: must not be empty",
        "d.csv:4:id: duplicate id 'b' (first on line 3)",
        "d.csv:5:id: duplicate id 'a' (first on line 2)",
        "d.csv:6:id: case id 'fsa2019-01' is already in the store",
        "d.csv:8:id: case id 'fsa2019-02' is already in the store",
    ]
    jsonl = '{"id": "fsa2019-01", "event": "x"}\n{"id": "n", "event": "y"}\n'
    with pytest.raises(CorpusImportError, match=r":1:id: case id 'fsa2019-01' is already"):
        parse_jsonl(jsonl, "k.jsonl", known_ids={"fsa2019-01"})


@pytest.mark.parametrize(
    ("rows", "line"),
    [
        ('u-1,,,,"夜間バッチ,障害,,,,\nu-2,,,,,障害,,,,\nu-3,,,,,障害,,,,\n', 2),  # mid-file
        ('u-1,,,,,障害,,,,\nu-2,,,,,障害,,,,"report\n', 3),  # the last cell of the last row
        ('u-1,,,,"A\nB",障害,,,,\nu-2,,,,,"障害\n\n\n', 4),  # after a multi-line cell
        ('u-1,,,,,"' + "障害" * 70_000 + "\n", 2),  # past the csv module's field limit
    ],
)
def test_an_unterminated_quote_says_so(tmp_path, rows, line):
    path = write(tmp_path, "q.csv", HEADER + rows)
    with pytest.raises(CorpusImportError) as info:
        load_cases(path)
    assert [str(e) for e in info.value.errors] == [
        f'{path}:{line}: unterminated quoted cell starting on line {line}: its closing " is '
        "missing, so the rest of the file was read into it"
    ]


def test_quotes_that_close_are_read_as_before(tmp_path):
    rows = 'ok-1,,,"a ""quoted"" title","主要行等\n地域銀行","x\n""y""",,,,\nok-2,,,,,障害,,,,'
    cases = load_cases(write(tmp_path, "ok.csv", HEADER + rows))
    assert cases[0].title == 'a "quoted" title' and cases[0].event == 'x\n"y"'
    assert cases[0].sectors == ["主要行等", "地域銀行"] and cases[1].id == "ok-2"
