"""One input rule for every command that takes a text (``api/cli/inputs.py``).

``search``, ``review`` and ``graph recommend`` read TEXT alike: ``-`` is standard input,
``@FILE`` or ``--file FILE`` a file, an argument that looks like a path to a missing file
is an error, anything else is the text; a trailing newline changes nothing. The matrix runs
in-process on the session's seed index; the reported failures run ``kizuki`` as a user
does, in a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kizuki.api.cli import CliError, OptionError, app
from kizuki.api.cli.inputs import looks_like_path
from kizuki.corpus.settings import get_settings
from kizuki_http import kizuki
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()

TEXT = (
    "夜間バッチが異常終了し、復旧手順を誤ってオンライン開始が遅れた。手順書の記載が不十分だった。"
)
#: One line of about 110 Japanese characters: over 255 bytes, the longest file name.
PLAN = (
    "来月、ATM監視サーバを新機種に入れ替える。データ移行は夜間に委託先が実施し、当社の担当者1名が"
    "立ち会う。移行手順書は前回の入替え時のものを流用し、再鑑は行わない。切替後の確認は翌朝の"
    "開店前に行う。"
)
COMMANDS = [("search",), ("review",), ("graph", "recommend")]


@pytest.fixture
def cli_env(seed_index, seed_settings, monkeypatch):
    """Point the CLI at the session's data dir, where the seed snapshot is already saved."""
    monkeypatch.setenv("KIZUKI_DATA_DIR", str(seed_settings.data_dir))
    get_settings.cache_clear()
    yield seed_settings.data_dir
    get_settings.cache_clear()


def run_json(command: tuple[str, ...], *args: str, stdin: str | None = None) -> dict:
    result = runner.invoke(app, [*command, *args, "--json"], input=stdin)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_a_plan_longer_than_a_file_name_is_reviewed_inline(cli_env):
    """``kizuki review --json "PLAN"`` with PLAN over 255 bytes failed with [Errno 36]; it
    must give the review that the same plan gets through standard input."""
    assert len(PLAN.encode("utf-8")) > 255 and "\n" not in PLAN
    inline = kizuki("review", "--json", PLAN, data_dir=cli_env)
    assert inline.returncode == 0, inline.stderr
    piped = kizuki("review", "--json", "-", data_dir=cli_env, stdin=PLAN + "\n")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(inline.stdout) == json.loads(piped.stdout)
    assert json.loads(inline.stdout)["similar_failures"]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_stdin_a_file_and_the_text_give_the_same_answer(cli_env, tmp_path, command):
    """'-', @FILE and --file read the text, and its trailing newline changes no score."""
    path = tmp_path / "incident.txt"
    path.write_text(TEXT + "\n", encoding="utf-8")
    expected = run_json(command, TEXT)
    assert run_json(command, "-", stdin=TEXT + "\n") == expected
    assert run_json(command, f"@{path}") == expected
    assert run_json(command, "--file", str(path)) == expected
    assert run_json(command, str(path)) == expected  # an existing file, named plainly
    assert run_json(command, TEXT + "\n") == expected
    bom = tmp_path / "excel.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + (TEXT + "\r\n").encode("utf-8"))
    assert run_json(command, "--file", str(bom)) == expected


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.txt"], "missing.txt: no such file"),
        (["notes.md"], "notes.md: no such file"),
        (["./plan"], "./plan: no such file"),
        (["/nonexistent/incident"], "/nonexistent/incident: no such file"),
        (["{tmp}/nope"], "/nope: no such file"),  # a folder that exists, a file that does not
        (["@missing.txt"], "missing.txt: no such file"),
        (["--file", "missing.txt"], "missing.txt: no such file"),
        (["@{tmp}"], "is a directory"),
        (["@{tmp}/sjis.txt"], "not UTF-8 text"),
        (["-"], "is empty"),
        (["  \n"], "is empty"),
    ],
)
def test_a_missing_or_unreadable_file_is_an_error_not_a_text(
    cli_env, tmp_path, command, args, message
):
    (tmp_path / "sjis.txt").write_bytes("システム障害".encode("cp932"))
    args = [a.format(tmp=tmp_path) for a in args]
    result = runner.invoke(app, [*command, *args], input="")
    assert isinstance(result.exception, CliError), (result.output, result.exception)
    assert message in str(result.exception)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([TEXT, "--file", "x.txt"], "not both"),
        ([], "give the"),
        (["@"], "give a file name after @"),
        ([TEXT, "--k", "0"], "--k must be between 1 and 100, not 0"),
        ([TEXT, "--k", "101"], "--k must be between 1 and 100"),
    ],
)
def test_usage_mistakes_are_option_errors(cli_env, command, args, message):
    result = runner.invoke(app, [*command, *args])
    assert isinstance(result.exception, OptionError), (result.output, result.exception)
    assert message in str(result.exception)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_texts_with_slashes_and_dots_are_texts(cli_env, command):
    """Japanese has no spaces: 'SSL/TLS…' or '入出金/振込…' must not read as paths."""
    for text in ("SSL/TLS証明書の有効期限切れで接続できない", "入出金/振込が停止した。"):
        assert run_json(command, text)


def test_the_path_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans").mkdir()
    for value in ("plan.txt", "x.JSONL", "a.csv", "/etc/nope", "./x", "../x", "~/x", "plans/p1"):
        assert looks_like_path(value), value
    for value in ("SSL/TLS", "入出金/振込", "ATM障害.", "a plan.txt for tomorrow", "障害" * 600):
        assert not looks_like_path(value), value


def test_reported_mistakes_in_a_subprocess(cli_env):
    """The issue's cases, as a user types them: each is one error line, nothing searched."""
    for args in (
        ("review", "missing.txt"),
        ("search", "missing.txt"),
        ("graph", "recommend", "@missing.txt"),
    ):
        result = kizuki(*args, data_dir=cli_env)
        assert result.returncode == 1 and result.stdout == "", (args, result.stdout)
        assert result.stderr.startswith("error: missing.txt: no such file")
        assert len(result.stderr.splitlines()) == 1
    bad_k = kizuki("graph", "recommend", "-", "--k", "0", data_dir=cli_env, stdin=TEXT)
    assert bad_k.returncode == 2 and bad_k.stderr.startswith("error: --k must be between 1")
    piped = kizuki("graph", "recommend", "-", "--json", data_dir=cli_env, stdin=TEXT + "\n")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["likely_causes"]
