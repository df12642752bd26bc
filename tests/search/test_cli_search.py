"""The CLI contract of ``kizuki search`` and ``kizuki eval`` (later checks rely on it)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import CliError, app
from corpus.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(seed_index, seed_settings, monkeypatch):
    """Point the CLI at the session's data dir, where the seed snapshot is already saved."""
    monkeypatch.setenv("KIZUKI_DATA_DIR", str(seed_settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_search_json(cli_env):
    result = runner.invoke(
        app,
        ["search", "ネットバンキングでワンタイムパスワード認証ができない", "--k", "3", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"results", "no_good_match"}
    assert isinstance(data["no_good_match"], bool)
    assert len(data["results"]) == 3
    first = data["results"][0]
    assert {
        "case_id",
        "score",
        "rank",
        "matched_fields",
        "shared_terms",
        "causes",
        "countermeasures",
    } <= set(first)
    assert "fsa2019-01" in [r["case_id"] for r in data["results"][:2]]


def test_search_table_and_filters(cli_env):
    result = runner.invoke(app, ["search", "夜間バッチが遅延した", "--sector", "地域銀行"])
    assert result.exit_code == 0, result.output
    assert "fsa2019-" in result.stdout and "matched:" in result.stdout
    # each result carries its root causes and countermeasures for the analyst
    assert "cause:" in result.stdout and "countermeasure:" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "  "], "empty"),
        (["search", "障害", "--k", "0"], "--k"),
        (["search", "障害", "--k", "101"], "--k"),
        (["search", "障害", "--sector", "宇宙銀行"], "unknown sector"),
        (["search", "障害", "--theme", "nope"], "unknown theme"),
        (["search", "あ" * 5001], "limit"),
        (["eval", "--queries", "/nonexistent/q.jsonl"], "cannot read"),
    ],
)
def test_user_errors(cli_env, args, message):
    result = runner.invoke(app, args)
    assert isinstance(result.exception, CliError)
    assert message in str(result.exception)


def test_eval_json(cli_env, tmp_path):
    queries = tmp_path / "q.jsonl"
    rows = [
        {
            "id": "a",
            "kind": "incident",
            "query": "OTP認証エラーでIBにログインできない",
            "relevant": {"fsa2019-01": 2, "fsa2019-02": 1},
        },
        {"id": "b", "kind": "cause", "query": "SSL証明書の期限切れ", "relevant": {"fsa2019-27": 2}},
        {
            "id": "c",
            "kind": "none",
            "query": "台風で本店が浸水し受電設備が止まった",
            "relevant": {},
        },
    ]
    queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = runner.invoke(app, ["eval", "--queries", str(queries), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"ndcg@10", "recall@5", "mrr", "none_accuracy", "n", "by_kind"} <= set(data)
    assert data["n"] == 2
    assert 0.5 < data["ndcg@10"] <= 1.0
    assert set(data["by_kind"]) == {"incident", "cause", "none"}

    # The eval ranks exactly like `search`: same top case for the same text.
    search = runner.invoke(app, ["search", rows[1]["query"], "--json"])
    top = json.loads(search.stdout)["results"][0]["case_id"]
    assert data["by_kind"]["cause"]["mrr"] == (
        1.0 if top == "fsa2019-27" else pytest.approx(data["by_kind"]["cause"]["mrr"])
    )
