"""``kizuki corpus build/import/show`` run as a user runs them: through the console script's
``main``, in-process (``kizuki_cli``: the same line and status, without an interpreter per
call); a one-line error and the working directory's role are checked in a real process."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest
from kizuki.corpus.sqlite_store import SqliteCaseStore
from kizuki_cli import Ran, kizuki_here, kizuki_process

from kizuki import corpus

REPO = Path(__file__).resolve().parents[2]
SEED = REPO.parent / "shared" / "seeds" / "fsa-2019-system-failure-report.txt"


def kizuki(*args: str, data_dir: Path, cwd: Path = REPO) -> Ran:
    """``kizuki ARGS`` in-process, run from ``cwd``."""
    with contextlib.chdir(cwd):
        return kizuki_here(*args, env={"KIZUKI_DATA_DIR": str(data_dir)})


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    return tmp_path / "kizuki-data"


def test_build_regenerates_the_committed_files_byte_for_byte(tmp_path, data_dir):
    out = tmp_path / "out"
    out.mkdir()
    result = kizuki("corpus", "build", "--out", str(out), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "wrote 44 cases" in result.stdout
    assert (out / "fsa2019.jsonl").read_bytes() == corpus.SEED_CASES_PATH.read_bytes()
    assert (out / "fsa2019_report.json").read_bytes() == corpus.SEED_REPORT_PATH.read_bytes()


def test_build_another_edition_to_a_file(tmp_path, data_dir):
    seed = tmp_path / "fsa-2020.txt"
    shutil.copy(SEED, seed)
    out = tmp_path / "x" / "edition.jsonl"
    result = kizuki(
        "corpus",
        "build",
        "--seed",
        str(seed),
        "--year",
        "2020",
        "--out",
        str(out),
        data_dir=data_dir,
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 44 and lines[0].startswith('{"id": "fsa2020-01"')
    assert (out.parent / "edition_report.json").is_file()


def test_build_with_a_missing_seed_is_one_line_error(tmp_path, data_dir):
    result = kizuki_process(
        "corpus", "build", "--seed", str(tmp_path / "nope.txt"), data_dir=data_dir
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "nope.txt: no such file" in result.stderr


def test_import_bad_file_prints_one_line_and_stores_nothing(tmp_path, data_dir):
    bad = tmp_path / "cases.csv"
    bad.write_text("id,event\ngood-1,障害\ngood-2,\n", encoding="utf-8")
    result = kizuki_process("corpus", "import", str(bad), data_dir=data_dir)
    assert result.returncode == 1
    assert result.stderr == f"error: {bad}:3:event: must not be empty (nothing was imported)\n"
    assert result.stdout == ""
    store_path = data_dir / "cases.sqlite3"
    assert not store_path.exists() or SqliteCaseStore(store_path).get("good-1") is None


def test_import_csv_then_clash_is_all_or_nothing(tmp_path, data_dir):
    good = tmp_path / "mine.csv"
    good.write_text("id,event,causes\nmine-1,障害1,原因\nmine-2,障害2,\n", encoding="utf-8")
    result = kizuki("corpus", "import", str(good), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "imported 2 cases" in result.stdout
    store = SqliteCaseStore(data_dir / "cases.sqlite3")
    assert store.count() == 44 + 2  # the bundled seed is loaded first
    assert store.get("mine-1").causes == ["原因"]

    clash = tmp_path / "clash.jsonl"
    clash.write_text(
        '{"id": "mine-3", "event": "新規"}\n{"id": "mine-1", "event": "重複"}\n', encoding="utf-8"
    )
    result = kizuki("corpus", "import", str(clash), data_dir=data_dir)
    assert result.returncode == 1
    assert "mine-1" in result.stderr and "nothing was imported" in result.stderr
    assert result.stderr.count("\n") == 1
    assert store.count() == 46 and store.get("mine-3") is None


def test_import_another_report_edition(tmp_path, data_dir):
    report = tmp_path / "fsa-2020.txt"
    shutil.copy(SEED, report)
    result = kizuki("corpus", "import", str(report), data_dir=data_dir)
    assert result.returncode == 1 and "the report year is required" in result.stderr
    assert result.stderr.count("\n") == 1
    result = kizuki("corpus", "import", str(report), "--year", "2020", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    store = SqliteCaseStore(data_dir / "cases.sqlite3")
    assert store.get("fsa2020-14").sectors == ["主要行等", "資金移動業者"]
    assert store.get("fsa2019-14") is not None


def test_dry_run_and_show(tmp_path, data_dir):
    good = tmp_path / "mine.jsonl"
    good.write_text('{"id": "mine-9", "event": "障害9"}\n', encoding="utf-8")
    result = kizuki("corpus", "import", str(good), "--dry-run", data_dir=data_dir)
    assert result.returncode == 0 and "1 valid cases" in result.stdout
    assert not (data_dir / "cases.sqlite3").exists()

    result = kizuki("corpus", "show", "fsa2019-14", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "カウンター上限値超過によるシステム停止" in result.stdout
    assert "業態等: 主要行等、資金移動業者" in result.stdout
    result = kizuki("corpus", "show", "mine-9", "--file", str(good), "--json", data_dir=data_dir)
    assert result.returncode == 0 and '"event": "障害9"' in result.stdout
    result = kizuki("corpus", "show", "nope", data_dir=data_dir)
    assert result.returncode == 1 and result.stderr == "error: no case 'nope'\n"


def test_list_before_the_store_exists_and_after_an_import(tmp_path, data_dir):
    result = kizuki("corpus", "list", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("44 cases in the bundled corpus (no case store at")
    assert not (data_dir / "cases.sqlite3").exists(), "listing creates nothing"
    good = tmp_path / "mine.csv"
    good.write_text("id,title,sectors,event\nmine-1,勘定系停止,地域銀行,障害1\n", encoding="utf-8")
    assert kizuki("corpus", "import", str(good), data_dir=data_dir).returncode == 0
    rows = json.loads(kizuki("corpus", "list", "--json", data_dir=data_dir).stdout)
    assert len(rows) == 45 and rows[-1] == {
        "id": "mine-1",
        "title": "勘定系停止",
        "sectors": ["地域銀行"],
        "theme": None,
        "origin": "import",
    }


def test_import_lists_every_problem_with_file_line_field(tmp_path, data_dir):
    bad = tmp_path / "three.csv"
    bad.write_text(
        "id,event,source_lines\nok-1,障害,\nbad id,障害,\nok-2,,\nok-3,障害,12-x\n",
        encoding="utf-8",
    )
    for extra in ((), ("--dry-run",)):
        result = kizuki("corpus", "import", str(bad), *extra, data_dir=data_dir)
        assert result.returncode == 1 and result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines[0].startswith(f"{bad}:3:id: id must be")
        assert lines[1] == f"{bad}:4:event: must not be empty"
        assert (
            lines[2]
            == f"{bad}:5:source_report: is required when source_year or source_lines is set"
        )
        outcome = "the file is not valid (dry run)" if extra else "nothing was imported"
        assert lines[3:] == [f"error: {bad}: 3 errors ({outcome})"]
    assert not (data_dir / "cases.sqlite3").exists()


def test_import_lists_the_first_50_problems_then_a_count(tmp_path, data_dir):
    many = tmp_path / "many.jsonl"
    many.write_text(
        "".join(f'{{"id": "m-{i}", "event": ""}}\n' for i in range(73)), encoding="utf-8"
    )
    result = kizuki("corpus", "import", str(many), data_dir=data_dir)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[:50] == [f"{many}:{n}:event: must not be empty" for n in range(1, 51)]
    assert lines[50] == "… and 23 more (only the first 50 are listed)"
    assert lines[51:] == [f"error: {many}: 73 errors (nothing was imported)"]
    assert sum(line.startswith("error:") for line in lines) == 1


def test_the_sample_files_import_and_the_layouts_are_documented(data_dir):
    from kizuki.corpus.io import CSV_COLUMNS

    samples = REPO / "corpus" / "samples"
    for name in ("cases.jsonl", "cases.csv"):
        result = kizuki("corpus", "import", str(samples / name), "--dry-run", data_dir=data_dir)
        assert result.returncode == 0 and "2 valid cases" in result.stdout, result.stderr
    result = kizuki("corpus", "import", str(samples / "cases.csv"), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    store = SqliteCaseStore(data_dir / "cases.sqlite3")
    assert store.get("mybank-2024-001").sectors == ["地域銀行"]
    assert store.get("mybank-2024-002").causes

    helptext = kizuki("corpus", "import", "--help", data_dir=data_dir).stdout
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for column in CSV_COLUMNS:
        assert column in helptext, column
        assert f"`{column}`" in readme, column
    for field in ('"id"', '"event"', '"sectors"', '"theme"', '"causes"', '"source"'):
        assert field in helptext
    assert "corpus/samples/cases.jsonl" in helptext and "corpus/samples/" in readme


def test_build_writes_to_the_working_directory_never_into_the_package(tmp_path, data_dir):
    """After a plain (non-editable) install the package lives in site-packages: the default
    output is the working directory, or corpus/data only at the root of a checkout."""
    package_files = {p: p.stat().st_mtime_ns for p in corpus.DATA_DIR.iterdir()}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = kizuki_process(
        "corpus", "build", "--seed", str(SEED), data_dir=data_dir, cwd=elsewhere
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == f"wrote 44 cases to {elsewhere / 'fsa2019.jsonl'}"
    assert second.endswith(f" to {elsewhere / 'fsa2019_report.json'}")
    assert (elsewhere / "fsa2019.jsonl").read_bytes() == corpus.SEED_CASES_PATH.read_bytes()
    assert (elsewhere / "fsa2019_report.json").is_file()

    checkout = tmp_path / "checkout"
    (checkout / "corpus" / "data").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text('[project]\nname = "kizuki"\n', encoding="utf-8")
    result = kizuki_process("corpus", "build", "--seed", str(SEED), data_dir=data_dir, cwd=checkout)
    assert result.returncode == 0, result.stderr
    written = checkout / "corpus" / "data" / "fsa2019.jsonl"
    assert result.stdout.startswith(f"wrote 44 cases to {written}\n")
    assert written.read_bytes() == corpus.SEED_CASES_PATH.read_bytes()
    assert not (checkout / "fsa2019.jsonl").exists()

    out = tmp_path / "chosen.jsonl"
    result = kizuki_process(
        "corpus", "build", "--seed", str(SEED), "-o", str(out), data_dir=data_dir
    )
    assert result.returncode == 0 and result.stdout.startswith(f"wrote 44 cases to {out}\n")
    assert {p: p.stat().st_mtime_ns for p in corpus.DATA_DIR.iterdir()} == package_files


def test_the_cli_on_a_postgresql_store(tmp_path, data_dir, pg_url, monkeypatch):
    """KIZUKI_DATABASE_URL points every command at PostgreSQL; a backup is PostgreSQL's job."""
    monkeypatch.setenv("KIZUKI_DATABASE_URL", pg_url)
    sample = REPO / "corpus" / "samples" / "cases.jsonl"
    result = kizuki("corpus", "import", str(sample), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert pg_url in result.stdout
    imported = [json.loads(line)["id"] for line in sample.read_text().splitlines() if line]
    listed = json.loads(kizuki("corpus", "list", "--json", data_dir=data_dir).stdout)
    assert {r["id"]: r["origin"] for r in listed if r["id"] in imported} == dict.fromkeys(
        imported, "import"
    )
    shown = kizuki("corpus", "show", imported[0], "--json", data_dir=data_dir)
    assert json.loads(shown.stdout)["id"] == imported[0]
    check = kizuki("store", "check", data_dir=data_dir)
    assert check.returncode == 0 and f"{len(listed)} cases servable" in check.stdout
    backup = kizuki("store", "backup", str(tmp_path / "b.sqlite3"), data_dir=data_dir)
    assert backup.returncode == 1 and backup.stderr.count("error:") == 1
    assert "pg_dump" in backup.stderr
    assert not (data_dir / "cases.sqlite3").exists()  # nothing went to a SQLite file


def test_an_unreachable_postgresql_store_is_one_error_line(data_dir, monkeypatch):
    monkeypatch.setenv("KIZUKI_DATABASE_URL", "postgresql://kizuki:secret@127.0.0.1:1/none")
    result = kizuki("corpus", "list", data_dir=data_dir)
    assert result.returncode == 1 and result.stderr.count("error:") == 1, result.stderr
    assert "cannot be reached" in result.stderr and "secret" not in result.stderr


def test_build_into_a_directory_never_writes_a_file_named_like_it(tmp_path, data_dir):
    """``-o DIR`` writes fsa2019.jsonl inside DIR: an existing one, a new one given with a
    trailing slash, or a new name without a suffix; a name with a suffix is the file."""
    for given, folder in (
        (tmp_path / "existing", tmp_path / "existing"),
        (f"{tmp_path / 'new'}/", tmp_path / "new"),
        (tmp_path / "plain", tmp_path / "plain"),
    ):
        if folder.name == "existing":
            folder.mkdir()
        result = kizuki("corpus", "build", "--seed", str(SEED), "-o", str(given), data_dir=data_dir)
        assert result.returncode == 0, result.stderr
        assert folder.is_dir(), f"{given} was written as a file"
        assert (folder / "fsa2019.jsonl").read_bytes() == corpus.SEED_CASES_PATH.read_bytes()
        assert (folder / "fsa2019_report.json").is_file()
        assert result.stdout.startswith(f"wrote 44 cases to {folder / 'fsa2019.jsonl'}\n")


def test_store_backup_into_a_missing_directory_is_an_error(tmp_path, data_dir):
    imported = kizuki("corpus", "import", str(REPO / "corpus/samples/cases.csv"), data_dir=data_dir)
    assert imported.returncode == 0, imported.stderr
    missing = tmp_path / "no" / "such" / "dir"
    result = kizuki("store", "backup", str(missing / "x.sqlite3"), data_dir=data_dir)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"error: {missing}: no such directory; create it first\n"
    assert not (tmp_path / "no").exists(), "no directory is created silently"
    made = kizuki("store", "backup", str(tmp_path / "x.sqlite3"), data_dir=data_dir)
    assert made.returncode == 0 and "backed up 46 cases" in made.stdout, made.stderr


def test_corpus_delete_an_imported_case_and_a_bundled_one_with_yes(tmp_path, data_dir):
    sample = REPO / "corpus" / "samples" / "cases.csv"
    assert kizuki("corpus", "import", str(sample), data_dir=data_dir).returncode == 0
    store = SqliteCaseStore(data_dir / "cases.sqlite3")
    version = store.version()
    result = kizuki("corpus", "delete", "mybank-2024-001", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("deleted mybank-2024-001 (import) from ")
    assert store.get("mybank-2024-001") is None and store.count() == 45
    assert store.version() == version + 1  # a running server sees the change

    bundled = kizuki("corpus", "delete", "fsa2019-05", data_dir=data_dir)
    assert bundled.returncode == 1 and bundled.stderr.count("\n") == 1
    assert "bundled case" in bundled.stderr and "--yes" in bundled.stderr
    assert store.get("fsa2019-05") is not None
    confirmed = kizuki("corpus", "delete", "fsa2019-05", "--yes", data_dir=data_dir)
    assert confirmed.returncode == 0, confirmed.stderr
    assert store.get("fsa2019-05") is None and store.count() == 44
    rows = json.loads(kizuki("corpus", "list", "--json", data_dir=data_dir).stdout)
    assert "fsa2019-05" not in {r["id"] for r in rows}

    for args, message in (
        (("nope",), "error: no case 'nope' in "),
        (("mybank-2024-001",), "error: no case 'mybank-2024-001' in "),
    ):
        gone = kizuki("corpus", "delete", *args, data_dir=data_dir)
        assert gone.returncode == 1 and gone.stderr.startswith(message), gone.stderr
        assert "see `kizuki corpus list`" in gone.stderr
    fresh = kizuki("corpus", "delete", "x", data_dir=tmp_path / "empty")
    assert fresh.returncode == 1 and "nothing to delete" in fresh.stderr
    assert not (tmp_path / "empty").exists()


def test_import_names_every_id_already_in_the_store(tmp_path, data_dir):
    """Each clash is its own FILE:LINE:id line (the store answered only the first)."""
    sample = REPO / "corpus" / "samples" / "cases.csv"
    assert kizuki("corpus", "import", str(sample), data_dir=data_dir).returncode == 0
    clash = tmp_path / "again.jsonl"
    clash.write_text(
        '{"id": "mybank-2024-001", "event": "a"}\n{"id": "new-1", "event": "b"}\n'
        '{"id": "fsa2019-05", "event": "c"}\n{"id": "mybank-2024-002", "event": "d"}\n',
        encoding="utf-8",
    )
    for extra in ((), ("--dry-run",)):
        result = kizuki("corpus", "import", str(clash), *extra, data_dir=data_dir)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.splitlines()[:3] == [
            f"{clash}:1:id: case id 'mybank-2024-001' is already in the store",
            f"{clash}:3:id: case id 'fsa2019-05' is already in the store",
            f"{clash}:4:id: case id 'mybank-2024-002' is already in the store",
        ]
    assert SqliteCaseStore(data_dir / "cases.sqlite3").get("new-1") is None
    # Before the store exists, a dry run checks against the bundled cases it will hold.
    fresh = kizuki("corpus", "import", str(clash), "--dry-run", data_dir=tmp_path / "fresh")
    assert fresh.stderr == (
        f"error: {clash}:3:id: case id 'fsa2019-05' is already in the store "
        "(the file is not valid (dry run))\n"
    )
    assert not (tmp_path / "fresh").exists()


def test_import_reports_every_error_of_a_row_and_an_unterminated_quote(tmp_path, data_dir):
    bad = tmp_path / "row.csv"
    bad.write_text(
        "id,theme_id,event,source_lines\nbad id,procedure_error,,12-x\n", encoding="utf-8"
    )
    result = kizuki("corpus", "import", str(bad), data_dir=data_dir)
    fields = [line.split(":")[2] for line in result.stderr.splitlines()[:-1]]
    assert sorted(fields) == ["event", "id", "source_report", "theme_label"], result.stderr
    assert result.stderr.splitlines()[-1] == f"error: {bad}: 4 errors (nothing was imported)"

    quote = tmp_path / "quote.csv"
    quote.write_text(
        "id,title,event,causes,countermeasures\nq-1,勘定系停止,障害,原因,対策\n"
        'q-2,"ATM停止,障害,原因,対策\nq-3,t,障害,原因,対策\n',
        encoding="utf-8",
    )
    result = kizuki("corpus", "import", str(quote), data_dir=data_dir)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: {quote}:3: unterminated quoted cell starting on line 3"
    ), result.stderr
    assert "cells" not in result.stderr


def test_import_a_later_edition_pdf_dry_run_then_store(tmp_path, data_dir):
    """Two commands: a dry run says the layout, edition and each case's page; the import
    stores the cases with their edition, year, URL and page."""
    from report_pdfs import FIXTURES, build_pdf

    pdf = build_pdf((FIXTURES / "fixture_2024.txt").read_text(encoding="utf-8"), tmp_path / "r.pdf")
    result = kizuki("corpus", "import", str(pdf), "--dry-run", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "layout: later layout (第N節" in result.stdout
    assert "edition: 金融機関のシステム障害に関する分析レポート (2024, 2024年6月)" in result.stdout
    assert (
        "fsa2024-01  p.31  システム統合・更改に伴い発生したシステム障害 / 外字変換漏れ"
        in result.stdout
    )
    assert "fsa2024-04  p.33" in result.stdout and "4 valid cases" in result.stdout
    assert not (data_dir / "cases.sqlite3").exists()

    result = kizuki("corpus", "import", str(pdf), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    case = SqliteCaseStore(data_dir / "cases.sqlite3").get("fsa2024-02")
    assert case.sectors == ["主要行等", "地域銀行"]
    assert (case.source.year, case.source.edition, case.source.page) == (2024, "2024年6月", 32)
    assert case.source.url == "https://www.fsa.go.jp/news/r5/sonota/20240626/01.pdf"


def test_a_scanned_or_unknown_report_is_one_error_line_and_stores_nothing(tmp_path, data_dir):
    from report_pdfs import FIXTURES, build_scan_pdf

    scan = build_scan_pdf("金融機関のシステム障害に関する\n分析レポート", tmp_path / "scan.pdf")
    minutes = tmp_path / "minutes.txt"
    shutil.copy(FIXTURES / "fixture_unknown.txt", minutes)
    for path, why in ((scan, "no text layer"), (minutes, "not an FSA system-failure report")):
        result = kizuki("corpus", "import", str(path), data_dir=data_dir)
        assert result.returncode == 1 and why in result.stderr, result.stderr
        assert result.stderr.splitlines()[-1].startswith("error: ")
        assert "Traceback" not in result.stderr
    assert not (data_dir / "cases.sqlite3").exists()
