"""A ranker file written by ``kizuki train -o`` ranks searches: ``KIZUKI_RANKER_FILE`` and
``--ranker-file`` of ``search``, ``eval`` and ``serve``, passed down in the settings.

The file used here holds the shipped no-match model with one weight, the case vector's
cosine: the ranking it gives is exactly the ``dense`` comparison ranking, and not the
default one, so the tests can tell which weights ranked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from kizuki.api.cli import CliError, app
from kizuki.corpus.settings import get_settings
from kizuki.search.scorer import DEFAULT_RANKER_PATH
from kizuki_http import Server, free_port
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
QUERIES = REPO / "eval" / "validation" / "ja_real.jsonl"
TEXT = "ネットバンキングでワンタイムパスワード認証ができない"
runner = CliRunner()


@pytest.fixture(scope="module")
def dense_file(tmp_path_factory) -> Path:
    data = json.loads(DEFAULT_RANKER_PATH.read_text(encoding="utf-8"))
    data["weights"] = {"cos:case": 1.0}
    data["provenance"] = {"note": "the dense ranking, as a ranker file"}
    path = tmp_path_factory.mktemp("ranker") / "dense.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def cli_env(seed_index, seed_settings, monkeypatch):
    monkeypatch.setenv("KIZUKI_DATA_DIR", str(seed_settings.data_dir))
    monkeypatch.delenv("KIZUKI_RANKER_FILE", raising=False)
    get_settings.cache_clear()
    yield seed_settings.data_dir
    get_settings.cache_clear()


def ranked(*args: str) -> list[tuple[str, float]]:
    result = runner.invoke(app, ["search", TEXT, "--k", "5", "--json", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return [(r["case_id"], round(r["score"], 6)) for r in json.loads(result.stdout)["results"]]


def test_search_ranks_with_the_ranker_file_option_or_setting(cli_env, dense_file, monkeypatch):
    dense, default = ranked("--ranker", "dense"), ranked()
    assert dense != default
    assert ranked("--ranker-file", str(dense_file)) == dense
    assert ranked() == default  # the option changed nothing for later searches
    monkeypatch.setenv("KIZUKI_RANKER_FILE", str(dense_file))
    get_settings.cache_clear()
    assert ranked() == dense


def test_eval_scores_the_ranker_file(cli_env, dense_file):
    def scores(*args: str) -> dict:
        result = runner.invoke(app, ["eval", "--queries", str(QUERIES), "--json", *args])
        assert result.exit_code == 0, (result.output, result.exception)
        out = json.loads(result.stdout)
        return {key: out[key] for key in ("n", "ndcg@10", "recall@5", "mrr")}

    dense = scores("--ranker", "dense")
    assert scores("--ranker-file", str(dense_file)) == dense != scores()


@pytest.mark.parametrize("command", [("search", TEXT), ("eval", "--queries", str(QUERIES))])
def test_a_bad_ranker_file_is_an_error_before_anything_loads(cli_env, tmp_path, command):
    bad = tmp_path / "bad.json"
    bad.write_text('{"no_match": {}}', encoding="utf-8")
    for path, message in (
        (tmp_path / "missing.json", "missing.json: no such file"),
        (bad, "is not a ranker file written by `kizuki train -o` (no 'weights' field)"),
    ):
        result = runner.invoke(app, [*command, "--ranker-file", str(path)])
        assert isinstance(result.exception, CliError), result.output
        assert message in str(result.exception)


def test_serve_ranks_with_the_ranker_file(tmp_path, dense_file, cache_dir):
    """``kizuki serve --ranker-file F``: POST /search ranks with F; a missing F stops the
    start with one error line, before the port is bound."""
    missing = subprocess.run(
        [sys.executable, "-c", "from kizuki.api.cli import main; main()", "serve"]
        + ["--port", str(free_port()), "--data-dir", str(tmp_path / "unused")]
        + ["--ranker-file", str(tmp_path / "nope.json")],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr == f"error: ranker file {tmp_path / 'nope.json'}: no such file\n"
    assert not (tmp_path / "unused").exists()

    data_dir = tmp_path / "data"
    srv = Server(data_dir, cache_dir, args=["--ranker-file", str(dense_file)]).start()
    try:
        answer = httpx.post(srv.url + "/search", json={"text": TEXT, "k": 5}, timeout=120)
    finally:
        srv.stop()
    assert answer.status_code == 200, answer.text
    served = [(r["case_id"], round(r["score"], 6)) for r in answer.json()["results"]]
    dense = subprocess.run(
        [sys.executable, "-c", "from kizuki.api.cli import main; main()", "search", TEXT]
        + ["--k", "5", "--json", "--ranker", "dense"],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "KIZUKI_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert dense.returncode == 0, dense.stderr
    expected = [(r["case_id"], round(r["score"], 6)) for r in json.loads(dense.stdout)["results"]]
    assert served == expected
