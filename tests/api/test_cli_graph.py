"""``kizuki causes / cause / countermeasure / recurring / graph export`` run in a subprocess.

None of these needs the search index (``graph export --no-similar``), so they stay fast;
``similar_to`` edges and their export are covered in tests/graph/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("kizuki-graph-cli")


@pytest.fixture(scope="module")
def taxonomy():
    from graph.taxonomy import load_taxonomy

    return load_taxonomy()


@pytest.fixture(scope="module")
def annotations(taxonomy):
    from graph.annotations import load_annotations

    return load_annotations(taxonomy=taxonomy)


def kizuki(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KIZUKI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


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
    ("args", "message"),
    [
        (("cause", "nope"), "error: unknown cause 'nope'; see `kizuki causes`"),
        (
            ("countermeasure", "cause.cert_expiry"),
            "error: unknown countermeasure 'cause.cert_expiry'",
        ),
        (("recurring", "--by", "colour"), "error: --by must be sector or theme"),
        (("graph", "export", "--format", "dot", "-o", "x.dot"), "error: unknown format 'dot'"),
    ],
)
def test_user_errors_are_one_line(data_dir, args, message):
    result = kizuki(*args, data_dir=data_dir)
    assert result.returncode == 1
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
