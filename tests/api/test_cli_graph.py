"""``kizuki causes / cause / countermeasure / recurring / graph export`` run through the
console script's ``main`` in-process (``kizuki_cli``: one runtime load for the module, not
one interpreter and model load per call); ``graph export -o -``, whose bytes on standard
output are the point, runs in a real process.

None of these needs the search index (``graph export --no-similar``), so they stay fast;
``similar_to`` edges and their export are covered in tests/graph/.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from kizuki_cli import Ran, kizuki_here

REPO = Path(__file__).resolve().parents[2]


def kizuki(*args: str, data_dir: Path) -> Ran:
    """``kizuki ARGS`` on ``data_dir``, in-process, from the repository's root."""
    with contextlib.chdir(REPO):
        return kizuki_here(*args, env={"KIZUKI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("kizuki-graph-cli")


@pytest.fixture(scope="module")
def taxonomy():
    from kizuki.graph.taxonomy import load_taxonomy

    return load_taxonomy()


@pytest.fixture(scope="module")
def annotations(taxonomy):
    from kizuki.graph.annotations import load_annotations

    return load_annotations(taxonomy=taxonomy)


def test_causes_json_lists_every_cause_with_case_counts(data_dir, annotations, taxonomy):
    result = kizuki("causes", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    rows = {r["concept"]["id"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {c.id for c in taxonomy.by_kind("cause")}
    for cid, row in rows.items():
        if not row["is_group"]:
            assert row["n_cases"] == len(annotations.cases_with(cid))


def test_cause_text_and_json(data_dir):
    result = kizuki("cause", "cause.cert_expiry", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "証明書の有効期限切れ" in result.stdout and "cm.cert_inventory" in result.stdout
    result = kizuki("cause", "cause.missing_peer_review", "--json", data_dir=data_dir)
    view = json.loads(result.stdout)
    assert view["countermeasures"][0]["concept"]["id"] == "cm.peer_review"
    assert all(e["sentences"] for e in view["cases"])


def test_countermeasure_json(data_dir, annotations):
    result = kizuki("countermeasure", "cm.peer_review", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert sorted(e["case_id"] for e in view["cases"]) == sorted(
        annotations.cases_with("cm.peer_review")
    )
    assert (
        view["causes"] and view["causes"][0]["support_count"] >= view["causes"][-1]["support_count"]
    )


@pytest.mark.parametrize(
    ("args", "message", "status"),
    [
        (("cause", "nope"), "error: unknown cause 'nope'; see `kizuki causes`", 1),
        (
            ("countermeasure", "cause.cert_expiry"),
            "error: unknown countermeasure 'cause.cert_expiry'",
            1,
        ),
        # a bad option value exits 2, as Click's own usage errors do
        (("recurring", "--by", "colour"), "error: --by must be sector or theme", 2),
        (("graph", "export", "--format", "dot", "-o", "x.dot"), "error: unknown format 'dot'", 2),
        (("graph", "export", "--format", "neo4j", "-o", "-"), "error: neo4j writes a folder", 2),
        (("cooccurrence", "--min-count", "0"), "error: --min-count must be 1 or more", 2),
        (("coverage", "--sector", "宇宙銀行"), "error: unknown sector '宇宙銀行'", 2),
    ],
)
def test_user_errors_are_one_line(data_dir, args, message, status):
    result = kizuki(*args, data_dir=data_dir)
    assert result.returncode == status
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_recurring_by_sector_json(data_dir):
    result = kizuki("recurring", "--by", "sector", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and all(r["sector"].startswith("sector.") and r["n_cases"] >= 1 for r in rows)
    top = json.loads(kizuki("recurring", "--json", data_dir=data_dir).stdout)
    counts = [r["n_cases"] for r in top]
    assert counts == sorted(counts, reverse=True)


def test_graph_export_json_and_neo4j(data_dir, tmp_path):
    out = tmp_path / "graph.json"
    result = kizuki(
        "graph", "export", "--format", "json", "-o", str(out), "--no-similar", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr
    G = nx.node_link_graph(json.loads(out.read_text(encoding="utf-8")))
    assert {t for _, t in G.nodes(data="type")} == {
        "case",
        "cause",
        "countermeasure",
        "sector",
        "theme",
    }
    assert sum(1 for _, t in G.nodes(data="type") if t == "case") == 44
    folder = tmp_path / "neo4j"
    result = kizuki(
        "graph", "export", "--format", "neo4j", "-o", str(folder), "--no-similar", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr
    assert (folder / "nodes_case.csv").exists() and (
        folder / "relationships_mitigates.csv"
    ).exists()


@pytest.mark.parametrize(
    ("args", "hinted"),
    [
        (("graph", "case", "nope"), ["kizuki corpus list"]),
        (("graph", "connect", "nope", "fsa2019-01"), ["kizuki corpus list"]),
        (("cause", "cause.nope"), ["kizuki causes"]),
        (("countermeasure", "cm.nope"), ["kizuki countermeasures"]),
    ],
)
def test_every_hint_an_error_prints_runs(data_dir, args, hinted):
    """The error is one line; each command it suggests exists and answers (ID filled with
    a real id), and what it lists holds what the failed command wanted."""
    import re

    result = kizuki(*args, data_dir=data_dir)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.findall(r"`(kizuki [^`]+)`", lines[0]) == hinted
    for hint in hinted:
        words = hint.split()[1:]
        if words[-1] == "ID":
            words[-1] = "cause.missing_peer_review"
        ran = kizuki(*words, data_dir=data_dir)
        assert ran.returncode == 0, (hint, ran.stderr)
        if hint == "kizuki corpus list":
            assert "fsa2019-01" in ran.stdout and "44 cases" in ran.stdout
        if hint == "kizuki causes":
            assert "cause.missing_peer_review" in ran.stdout
        if hint == "kizuki countermeasures":
            assert "cm.peer_review" in ran.stdout


def test_corpus_list_shows_the_stores_cases_as_text_and_json(data_dir):
    if not (data_dir / "cases.sqlite3").exists():  # run alone: the store is made on first use
        assert kizuki("causes", data_dir=data_dir).returncode == 0
    text = kizuki("corpus", "list", data_dir=data_dir)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == f"44 cases in {data_dir / 'cases.sqlite3'}"
    rows = json.loads(kizuki("corpus", "list", "--json", data_dir=data_dir).stdout)
    assert len(rows) == 44 and rows[0]["id"] == "fsa2019-01"
    assert set(rows[0]) == {"id", "title", "sectors", "theme", "origin"}
    assert {r["origin"] for r in rows} == {"seed"}
    line = next(x for x in text.stdout.splitlines() if x.startswith("fsa2019-02 "))
    assert rows[1]["title"] in line and "地域銀行" in line
    regional = json.loads(
        kizuki("corpus", "list", "--json", "--sector", "地域銀行", data_dir=data_dir).stdout
    )
    assert regional and all("地域銀行" in r["sectors"] for r in regional) and len(regional) < 44
    bad = kizuki("corpus", "list", "--sector", "nope", data_dir=data_dir)
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown sector 'nope'")


def test_recommend_prints_each_evidence_sentence_once(data_dir):
    """A countermeasure sentence that answers two causes was printed twice under it."""
    text = "夜間バッチが異常終了し、復旧手順を誤ってオンライン開始が遅れた。手順書の記載が不十分だった。"
    raw = json.loads(kizuki("graph", "recommend", text, "--json", data_dir=data_dir).stdout)
    pairs = [
        [(c["case_id"], c["countermeasure"]) for c in m["cases"]] for m in raw["countermeasures"]
    ]
    assert any(len(set(p)) < len(p) for p in pairs), "the data repeats sentences (one per cause)"
    result = kizuki("graph", "recommend", text, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    block: list[str] = []
    blocks = []
    for line in result.stdout.split("recommended countermeasures:\n", 1)[1].splitlines():
        if not line.startswith("        "):
            block = []
            blocks.append(block)
        else:
            block.append(line.strip())
    assert blocks and any(blocks)
    for lines in blocks:
        assert len(lines) == len(set(lines)), lines


def test_countermeasures_lists_every_countermeasure_like_causes(data_dir, annotations, taxonomy):
    rows = json.loads(kizuki("countermeasures", "--json", data_dir=data_dir).stdout)
    assert {r["concept"]["id"] for r in rows} == {c.id for c in taxonomy.by_kind("countermeasure")}
    for row in rows:
        if not row["is_group"]:
            assert row["n_cases"] == len(annotations.cases_with(row["concept"]["id"]))
    text = kizuki("countermeasures", data_dir=data_dir)
    assert text.returncode == 0, text.stderr
    line = next(x for x in text.stdout.splitlines() if x.strip().startswith("cm.peer_review "))
    assert "再鑑" in line


def test_cooccurrence_and_coverage_answer_what_the_api_answers(data_dir):
    """The CLI's tables are graph.analytics', over the store's cases, as the HTTP routes
    give them (same rows for the same filters)."""
    from kizuki.api.runtime.local import local_snapshot
    from kizuki.api.runtime.reads import filtered_graph, records
    from kizuki.corpus.settings import Settings
    from kizuki.graph.analytics import cause_cooccurrence, coverage_gaps

    if not (data_dir / "cases.sqlite3").exists():
        assert kizuki("causes", data_dir=data_dir).returncode == 0
    snap = local_snapshot(Settings(data_dir=data_dir))
    G, n_cases = filtered_graph(snap, sector="地域銀行")
    pairs = json.loads(
        kizuki("cooccurrence", "--json", "--sector", "地域銀行", data_dir=data_dir).stdout
    )
    assert pairs["n_cases"] == n_cases < 44 and pairs["min_count"] == 2
    assert pairs["rows"] == records(cause_cooccurrence(G, "concept", min_count=2))
    everything = json.loads(kizuki("cooccurrence", "--json", data_dir=data_dir).stdout)
    assert everything["rows"] and all(r["n_ab"] >= 2 and r["lift"] > 0 for r in everything["rows"])
    gaps = json.loads(kizuki("coverage", "--json", "--level", "group", data_dir=data_dir).stdout)
    assert gaps["rows"] == records(coverage_gaps(snap.graph, "group"))
    text = kizuki("coverage", data_dir=data_dir)
    assert text.returncode == 0, text.stderr
    first = json.loads(kizuki("coverage", "--json", data_dir=data_dir).stdout)["rows"][0]
    assert first["coverage"] < 1 and first["cause_id"] in text.stdout
    assert "lift" in kizuki("cooccurrence", data_dir=data_dir).stdout


def test_graph_export_to_standard_output(data_dir, tmp_path):
    """``-o -`` writes the graph itself to stdout (no file named '-'); the summary goes to
    stderr. The bytes are those of the file export."""
    for fmt in ("json", "graphml"):
        out = tmp_path / f"graph.{fmt}"
        args = ("graph", "export", "--format", fmt, "--no-similar")
        to_file = kizuki(*args, "-o", str(out), data_dir=data_dir)
        assert to_file.returncode == 0, to_file.stderr
        result = subprocess.run(
            [sys.executable, "-c", "from kizuki.api.cli import main; main()", *args, "-o", "-"],
            cwd=tmp_path,
            env={**os.environ, "KIZUKI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"},
            capture_output=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert not (tmp_path / "-").exists()
        assert result.stdout == out.read_bytes()
        assert result.stderr.decode().startswith("wrote ") and "standard output" in (
            result.stderr.decode()
        )
    G = nx.node_link_graph(json.loads((tmp_path / "graph.json").read_text(encoding="utf-8")))
    assert sum(1 for _, t in G.nodes(data="type") if t == "case") == 44
