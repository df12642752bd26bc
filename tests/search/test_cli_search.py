"""The CLI contract of ``kizuki search`` and ``kizuki eval`` (later checks rely on it)."""

from __future__ import annotations

import json

import pytest
from kizuki.api.cli import CliError, app
from kizuki.corpus.settings import get_settings
from typer.testing import CliRunner

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
    "text",
    [
        "ネットバンキングでワンタイムパスワード認証ができない",
        "台風で本店が浸水し受電設備が止まった",  # no good match
        "猫が好きです",
    ],
)
def test_search_table_always_states_the_match_strength(cli_env, text):
    """The first line says how strong the match is, whatever it is (it was printed only when
    there was none); matched fields are named in words ("outside view", not "outside")."""
    data = json.loads(runner.invoke(app, ["search", text, "--k", "3", "--json"]).stdout)
    result = runner.invoke(app, ["search", text, "--k", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    strength, confidence = data["match_strength"], data["confidence"]
    assert strength in ("strong", "partial", "weak", "none")
    assert lines[0].startswith(f"match: {strength} (confidence {confidence:.2f}")
    matched = [line.split("matched: ", 1)[1] for line in lines if "matched: " in line]
    assert len(matched) == 3
    for fields, r in zip(matched, data["results"], strict=True):
        shown = fields.split(";")[0].split(", ")
        assert "outside" not in shown
        assert ("outside view" in shown) == ("outside" in r["matched_fields"])
    assert any("outside" in r["matched_fields"] for r in data["results"])


def test_a_trailing_newline_changes_no_score(cli_env):
    text = "夜間バッチが異常終了し、復旧手順を誤ってオンライン開始が遅れた。"
    plain = runner.invoke(app, ["search", text, "--json"])
    piped = runner.invoke(app, ["search", "-", "--json"], input=text + "\n")
    assert plain.exit_code == piped.exit_code == 0, (plain.output, piped.output)
    assert json.loads(piped.stdout) == json.loads(plain.stdout)
    assert (
        runner.invoke(app, ["search", text + "\n"]).stdout
        == runner.invoke(app, ["search", text]).stdout
    )


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


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ranker", "nope"], "--ranker"),
        (["--cv", "1"], "--cv"),
        (["--cv", "9"], "--cv needs"),
    ],
)
def test_eval_option_errors(cli_env, tmp_path, args, message):
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        json.dumps({"id": "a", "query": "SSL証明書の期限切れ", "relevant": {"fsa2019-27": 2}}),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["eval", "--queries", str(queries), *args])
    assert isinstance(result.exception, CliError), result.output
    assert message in str(result.exception)


def test_eval_compares_rankers_per_file_with_cross_validation(cli_env):
    """Several --ranker in one table, two files broken down by file, --cv adds the held-out
    row with its operating curve, --per-query lists each query's ranking."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "eval" / "validation"
    args = ["eval", "--queries", str(folder / "ja_real.jsonl")]
    args += ["--queries", str(folder / "en_renderings.jsonl")]
    result = runner.invoke(
        app, [*args, "--ranker", "default", "--ranker", "lexical", "--cv", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["rankers"]) == {"default", "lexical", "default (cv)"}
    for out in data["rankers"].values():
        assert set(out["by_file"]) == {"ja_real", "en_renderings"}
        assert out["n"] == out["by_file"]["ja_real"]["n"] + out["by_file"]["en_renderings"]["n"]
    curve = data["rankers"]["default (cv)"]["curve"]
    assert curve[0]["false_rejection"] == 0.0 and curve[-1]["none_accuracy"] == 1.0

    table = runner.invoke(app, [*args, "--ranker", "dense", "--per-query"])
    assert table.exit_code == 0, table.output
    assert "val-jr-01" in table.stdout and "val-jaen-12" in table.stdout
    assert "file=ja_real" in table.stdout and "dense" in table.stdout


def test_train_writes_a_model_that_search_can_load(cli_env, tmp_path):
    from pathlib import Path

    from kizuki.search.scorer import RankerModel

    folder = Path(__file__).resolve().parents[2] / "eval" / "validation"
    out = tmp_path / "ranker.json"
    result = runner.invoke(
        app, ["train", "--queries", str(folder / "ja_real.jsonl"), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    model = RankerModel.load(out)
    assert "bm25:case" in model.scorer.weights and model.no_match["threshold"] > 0
    assert model.provenance["trained_on"][0]["file"] == "ja_real.jsonl"
    # ... and that search uses when told to (tests/api/test_cli_ranker_file.py: how)
    query = "SSL証明書の期限切れ"
    found = runner.invoke(app, ["search", query, "--json", "--ranker-file", str(out)])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["results"][0]["case_id"] == "fsa2019-27"


def test_review_cli_contract_and_exports(cli_env, tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text(
        "・SSLサーバ証明書の更新は保守ベンダーに一任する。\n・有効期限は当社では管理していない。",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["review", str(plan), "--json", "--k", "5"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [f["case_id"] for f in data["similar_failures"]][:3].count("fsa2019-27") == 1
    assert {"risks", "checklist", "steps"} <= set(data)
    md = runner.invoke(app, ["review", str(plan), "--checklist", "markdown"])
    assert md.exit_code == 0 and md.stdout.startswith("# 変更レビュー")
    table = runner.invoke(app, ["review", str(plan), "--checklist", "csv"])
    assert table.exit_code == 0 and table.stdout.startswith("item,countermeasure")
    text = runner.invoke(app, ["review", "夜間に委託先がデータを移行する。確認は本人のみ。"])
    assert text.exit_code == 0 and "checklist:" in text.stdout


@pytest.mark.parametrize(
    "args, message",
    [(["review", "  "], "empty"), (["review", "計画", "--k", "0"], "--k")],
)
def test_review_cli_errors(cli_env, args, message):
    result = runner.invoke(app, args)
    assert isinstance(result.exception, CliError)
    assert message in str(result.exception)


def test_eval_scores_reviews_of_plans(cli_env, tmp_path):
    plans = tmp_path / "plans.jsonl"
    row = {
        "id": "p1",
        "kind": "plan",
        "query": "SSLサーバ証明書の更新は保守ベンダーに一任し、当社では期限を管理しない。",
        "relevant": {"fsa2019-27": 2},
    }
    plans.write_text(json.dumps(row, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["eval", "--queries", str(plans), "--mode", "review", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "review" and data["n"] == 1 and data["grade2_in_top5"] == 1
    bad = runner.invoke(app, ["eval", "--queries", str(plans), "--mode", "review", "--cv", "3"])
    assert isinstance(bad.exception, CliError)
