"""No traceback anywhere in the CLI: every expected failure is one ``error:`` line.

Run as a user runs ``kizuki``: in a subprocess where the process boundary matters (the
read-only data dir, and a few commands of each other kind, so the console script's real
start is covered), else in-process through the same ``main`` (``kizuki_cli``), which
checks the same line and status without an interpreter and a model load per command.
Three kinds of failure, each on every command that meets it:

* a read-only data dir. Tests often run as root, which ``chmod`` does not stop; so as root
  the command runs in a private mount namespace (``unshare -m``) where the data dir is a
  read-only bind mount of itself, which stops root as it stops anyone (``EROFS``), and
  which no other process sees. As another user, ``chmod -w`` does the same;
* ``KIZUKI_DATABASE_URL=postgresql://…`` without the ``postgres`` extra: a
  ``sitecustomize`` on ``PYTHONPATH`` (in-process: the same finder on ``sys.meta_path``)
  makes ``import psycopg`` fail, as it does where the extra is not installed;
* bad option values and usage: exit 2 with one line, not Typer's boxed usage (``--help``
  is unchanged).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kizuki_cli import Ran, kizuki_here
from kizuki_http import free_port

REPO = Path(__file__).resolve().parents[2]
QUERIES = REPO / "eval" / "validation" / "ja_real.jsonl"
PLAN = "夜間バッチの移行作業を委託先が実施する。手順書は前回のものを流用し、再鑑は行わない。" * 3

# Every command that opens the case store, with arguments that would otherwise succeed.
STORE_COMMANDS = [
    ("search", "夜間バッチが異常終了した"),
    ("review", PLAN),
    ("graph", "recommend", "夜間バッチが異常終了した"),
    ("graph", "case", "fsa2019-05"),
    ("graph", "connect", "fsa2019-05", "fsa2019-06"),
    ("graph", "export", "--no-similar", "-o", "{tmp}/g.json"),
    ("graph", "eval"),
    ("causes",),
    ("cause", "cause.missing_peer_review"),
    ("countermeasures",),
    ("countermeasure", "cm.peer_review"),
    ("recurring",),
    ("cooccurrence",),
    ("coverage",),
    ("trends",),
    ("eval", "--queries", str(QUERIES)),
    ("train", "--queries", str(QUERIES), "-o", "{tmp}/ranker.json"),
    ("corpus", "list"),
    ("corpus", "show", "fsa2019-05"),
    ("corpus", "import", str(REPO / "corpus" / "samples" / "cases.csv")),
    ("corpus", "delete", "fsa2019-05", "--yes"),
    ("store", "check"),
    ("store", "backup", "{tmp}/backup.sqlite3"),
    ("serve", "--port", "{port}"),
]


MAIN = "from kizuki.api.cli import main; main()"


def _args(args: tuple[str, ...], tmp: Path) -> list[str]:
    return [a.format(tmp=tmp, port=free_port()) for a in args]


def kizuki(
    *args: str, env: dict[str, str], prefix: list[str] = (), code: str = MAIN
) -> subprocess.CompletedProcess:
    """``kizuki ARGS`` in a process of its own (``code``: what that Python process runs)."""
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *args],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(result: subprocess.CompletedProcess, status: int = 1) -> str:
    """The single ``error:`` line of a failed run (asserting that there is nothing else)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.returncode == status, (result.returncode, result.stderr)
    return lines[0]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """A data dir with its store, index and graph, as a first run leaves it."""
    data_dir = tmp_path_factory.mktemp("kizuki-ro") / "data"
    result = kizuki("causes", env={"KIZUKI_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr
    return data_dir


@contextlib.contextmanager
def read_only_prefix(seeded: Path) -> Iterator[list[str]]:
    """A command prefix that runs a command with ``seeded`` read-only (see the docstring)."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [seeded, *seeded.rglob("*")] if not p.is_symlink()}
        for path, mode in modes.items():
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield []
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: cannot make a read-only data dir")
    prefix = [
        "unshare",
        "-m",
        "sh",
        "-c",
        'd="$1"; shift; mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" && exec "$@"',
        "sh",
        str(seeded),
    ]
    probe = subprocess.run([*prefix, "touch", str(seeded / "probe")], capture_output=True)
    if probe.returncode == 0 or (seeded / "probe").exists():
        pytest.skip("no private read-only bind mount here (unshare -m / mount refused)")
    yield prefix


@pytest.fixture
def read_only(seeded):
    with read_only_prefix(seeded) as prefix:
        yield prefix


#: Each read-only command in a process of its own (the console script's real start, and
#: ``serve``, which would serve for ever were it not refused); the others run one after the
#: other through ``main`` in one process that sees the data dir read-only (``BATCH``).
RO_IN_A_PROCESS = {
    ("search", "夜間バッチが異常終了した"),
    ("corpus", "import"),
    ("serve", "--port"),
}
BATCH = """
import json, sys
sys.path.insert(0, sys.argv[1])
from kizuki_cli import Ran, kizuki_here
runs = [kizuki_here(*args) for args in json.loads(sys.argv[2])]
print(json.dumps([[r.returncode, r.stdout, r.stderr] for r in runs]))
"""


def alone(args: tuple[str, ...]) -> bool:
    return args[:2] in RO_IN_A_PROCESS


@pytest.fixture(scope="module")
def read_only_batch(seeded, tmp_path_factory) -> dict[tuple[str, ...], Ran]:
    """What each read-only command not run ``alone`` answered, run in one process."""
    tmp = tmp_path_factory.mktemp("ro-out")
    batch = [args for args in STORE_COMMANDS if not alone(args)]
    with read_only_prefix(seeded) as prefix:
        result = kizuki(
            str(Path(__file__).resolve().parents[1]),
            json.dumps([_args(args, tmp) for args in batch]),
            env={"KIZUKI_DATA_DIR": str(seeded)},
            prefix=prefix,
            code=BATCH,
        )
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    return {args: Ran(*run) for args, run in zip(batch, runs, strict=True)}


@pytest.mark.parametrize("args", STORE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_read_only_data_dir_is_one_error_line_that_says_so(seeded, request, tmp_path, args):
    if alone(args):
        with read_only_prefix(seeded) as prefix:
            env = {"KIZUKI_DATA_DIR": str(seeded)}
            result = kizuki(*_args(args, tmp_path), env=env, prefix=prefix)
    else:
        result = request.getfixturevalue("read_only_batch")[args]
    line = one_error_line(result)
    assert f"the data dir {seeded} is read-only" in line, line
    assert "damaged" not in line


def test_a_data_dir_that_cannot_be_created_is_one_error_line(seeded, read_only):
    result = kizuki(
        "search", "障害", env={"KIZUKI_DATA_DIR": str(seeded / "new")}, prefix=read_only
    )
    assert "cannot be created: its parent folder is read-only" in one_error_line(result)


class NoPostgres:
    """A finder that refuses the ``postgres`` extra's modules, as where it is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "psycopg_pool"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@pytest.fixture(scope="module")
def no_psycopg(tmp_path_factory) -> Path:
    """A ``sitecustomize`` that makes ``import psycopg`` fail, as without the extra."""
    folder = tmp_path_factory.mktemp("no-psycopg")
    (folder / "sitecustomize.py").write_text(
        "import sys\n\n\n"
        "class _NoPostgres:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('psycopg', 'psycopg_pool'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n\n\n"
        "sys.meta_path.insert(0, _NoPostgres())\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(folder)}
    blocked = subprocess.run([sys.executable, "-c", "import psycopg"], env=env, capture_output=True)
    assert blocked.returncode != 0 and b"No module named 'psycopg'" in blocked.stderr
    return folder


@pytest.fixture
def no_psycopg_here(monkeypatch) -> None:
    """This process without the ``postgres`` extra (``NoPostgres``), for one test."""
    for name in [m for m in sys.modules if m.split(".")[0] in ("psycopg", "psycopg_pool")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [NoPostgres(), *sys.meta_path])
    with pytest.raises(ModuleNotFoundError, match="psycopg"):
        __import__("psycopg")


PG_ENV = {"KIZUKI_DATABASE_URL": "postgresql://kizuki:secret@127.0.0.1:1/kizuki"}
#: Run in a real process too: the console script's start, and ``serve`` (which, should it
#: not fail, would serve for ever in-process).
PG_IN_A_PROCESS = [
    ("search", "夜間バッチが異常終了した"),
    ("store", "check"),
    ("serve", "--port", "{port}"),
]


def assert_needs_the_extra(result, data: Path) -> None:
    line = one_error_line(result)
    assert "needs the `postgres` extra" in line and "pip install 'kizuki[postgres]'" in line
    assert "secret" not in line
    assert not (data / "cases.sqlite3").exists()


@pytest.mark.parametrize("args", PG_IN_A_PROCESS, ids=lambda a: " ".join(a[:2]))
def test_a_postgresql_url_without_the_extra_is_one_error_line(no_psycopg, tmp_path, args):
    env = {
        "PYTHONPATH": os.pathsep.join([str(no_psycopg), str(REPO)]),
        "KIZUKI_DATA_DIR": str(tmp_path / "data"),
        **PG_ENV,
    }
    assert_needs_the_extra(kizuki(*_args(args, tmp_path), env=env), tmp_path / "data")


@pytest.mark.parametrize(
    "args", [a for a in STORE_COMMANDS if a[0] != "serve"], ids=lambda a: " ".join(a[:2])
)
def test_a_postgresql_url_without_the_extra_is_one_error_line_in_process(
    no_psycopg_here, tmp_path, args
):
    env = {"KIZUKI_DATA_DIR": str(tmp_path / "data"), **PG_ENV}
    assert_needs_the_extra(kizuki_here(*_args(args, tmp_path), env=env), tmp_path / "data")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", "障害", "--k", "abc"), "error: invalid value for '--k'"),
        (("search", "障害", "--k", "0"), "error: --k must be between 1 and 100, not 0"),
        (("search", "障害", "--ranker", "nope"), "error: --ranker must be one of"),
        (("search", "障害", "--sector", "宇宙銀行"), "error: unknown sector '宇宙銀行'"),
        (("search", "障害", "--bogus"), "error: no such option: --bogus"),
        (("review", "計画", "--checklist", "pdf"), "error: invalid value for '--checklist'"),
        (("review", "計画", "--k", "101"), "error: --k must be between 1 and 100"),
        (("graph", "recommend", "障害", "--k", "0"), "error: --k must be between 1 and 100"),
        (("eval", "--queries", str(QUERIES), "--ranker", "nope"), "error: --ranker must be"),
        (("eval", "--queries", str(QUERIES), "--k", "x"), "error: invalid value for '--k'"),
        (("recurring", "--by", "colour"), "error: --by must be sector or theme"),
        (("coverage", "--level", "leaf"), "error: --level must be concept or group"),
        (("trends", "--level", "leaf"), "error: --level must be concept or group"),
        (("recurring", "--year", "2031"), "error: no case of the 2031 edition; editions: 2019"),
        (("search", "障害", "--year", "20x"), "error: invalid value for '--year'"),
        (("corpus", "list", "--sector", "nope"), "error: unknown sector 'nope'"),
        (("serve", "--port", "0"), "error: invalid value for '--port'"),
        (("nope",), "error: no such command 'nope'"),
    ],
)
def test_bad_option_values_are_one_line_and_exit_2(seeded, args, message):
    result = kizuki_here(*args, env={"KIZUKI_DATA_DIR": str(seeded)})
    line = one_error_line(result, status=2)
    assert line.startswith(message), line
    assert "╭" not in result.stderr and "Usage:" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", "障害", "--k", "abc"), "error: invalid value for '--k'"),
        (("recurring", "--year", "2031"), "error: no case of the 2031 edition; editions: 2019"),
        (("serve", "--port", "0"), "error: invalid value for '--port'"),
        (("nope",), "error: no such command 'nope'"),
    ],
)
def test_bad_option_values_are_one_line_and_exit_2_in_a_real_process(seeded, args, message):
    result = kizuki(*args, env={"KIZUKI_DATA_DIR": str(seeded)})
    line = one_error_line(result, status=2)
    assert line.startswith(message), line
    assert "╭" not in result.stderr and "Usage:" not in result.stderr


def test_help_and_a_bare_group_still_print_the_usage(seeded):
    env = {"KIZUKI_DATA_DIR": str(seeded)}
    for args in (("--help",), ("search", "--help"), ("corpus", "list", "--help")):
        result = kizuki(*args, env=env)
        assert result.returncode == 0 and result.stderr == ""
        assert f"Usage: kizuki {' '.join(args[:-1])}".rstrip() in result.stdout
    bare = kizuki("corpus", env=env)
    assert bare.returncode == 2 and "Usage: kizuki corpus" in bare.stdout
    assert "import" in bare.stdout and "error" not in bare.stderr
