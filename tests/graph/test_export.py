"""Exports re-read by networkx (JSON, GraphML) and Neo4j import CSV headers."""

from __future__ import annotations

import csv
import json
from collections import Counter

import networkx as nx
import pytest
from kizuki.graph.build import EDGE_TYPES, NODE_TYPES
from kizuki.graph.export import export, to_node_link


def _counts(G):
    return (
        Counter(t for _, t in G.nodes(data="type")),
        Counter(d["type"] for _, _, d in G.edges(data=True)),
    )


def test_node_link_json_contract(seed_graph, tmp_path):
    path = tmp_path / "graph.json"
    export(seed_graph, "json", path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["directed"] and data["multigraph"]
    for node in data["nodes"]:
        assert {"id", "type", "label_ja", "label_en"} <= set(node)
        assert node["type"] in NODE_TYPES
    types = set()
    for edge in data["edges"]:
        assert {"source", "target", "type"} <= set(edge)
        types.add(edge["type"])
        if edge["type"] in ("has_cause", "adopted"):
            assert isinstance(edge["evidence"], str) and edge["evidence"]
            # the endpoints are the case and the concept, not overwritten by an attribute
            assert seed_graph.nodes[edge["source"]]["type"] == "case"
            assert edge["provenance"] in ("annotation", "extraction")
    assert types == set(EDGE_TYPES)
    assert "再鑑" in path.read_text(encoding="utf-8")  # Japanese is written unescaped

    back = nx.node_link_graph(data)
    assert isinstance(back, nx.MultiDiGraph)
    assert _counts(back) == _counts(seed_graph)
    edge = next(d for _, _, k, d in back.edges(keys=True, data=True) if k == "mitigates")
    assert isinstance(edge["support"], list) and edge["support_count"] == len(edge["support"])


def test_graphml_round_trip(seed_graph, tmp_path):
    path = tmp_path / "graph.graphml"
    export(seed_graph, "graphml", path)
    back = nx.read_graphml(path, force_multigraph=True)
    assert back.number_of_nodes() == seed_graph.number_of_nodes()
    assert back.number_of_edges() == seed_graph.number_of_edges()
    assert _counts(back) == _counts(seed_graph)
    for u, v, k, d in seed_graph.edges(keys=True, data=True):
        got = back.edges[u, v, k]
        if k == "mitigates":
            assert json.loads(got["support"]) == d["support"]
            assert got["support_count"] == d["support_count"]
            assert got["strength"] == pytest.approx(d["strength"])
        elif k in ("has_cause", "adopted"):
            assert got["evidence"] == d["evidence"]
            assert json.loads(got["sentences"]) == d["sentences"]
        elif k == "leads_to":
            assert json.loads(got["support"]) == d["support"]
            assert json.loads(got["evidence"]) == d["evidence"]
    assert any(k == "leads_to" for _, _, k in back.edges(keys=True))
    assert back.nodes["fsa2019-05"]["label_ja"] == seed_graph.nodes["fsa2019-05"]["label_ja"]


def _read(path):
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_neo4j_csv_headers_and_references(seed_graph, tmp_path):
    out = tmp_path / "neo4j"
    paths = export(seed_graph, "neo4j", out)
    node_files = sorted(out.glob("nodes_*.csv"))
    rel_files = sorted(out.glob("relationships_*.csv"))
    assert len(node_files) == len(NODE_TYPES) and len(rel_files) == len(EDGE_TYPES)
    assert (out / "import.sh") in paths

    ids: set[str] = set()
    n_nodes = 0
    for path in node_files:
        header, rows = _read(path)
        assert header[0] == "id:ID" and header[-1] == ":LABEL"
        assert len(set(header)) == len(header)
        for row in rows:
            assert len(row) == len(header)
            ids.add(row[0])
        n_nodes += len(rows)
        assert len({row[-1] for row in rows}) == 1
    assert n_nodes == len(ids) == seed_graph.number_of_nodes()

    n_edges = 0
    for path in rel_files:
        header, rows = _read(path)
        assert header[:3] == [":START_ID", ":END_ID", ":TYPE"]
        typed = {h.split(":")[0]: h.split(":")[1] for h in header[3:] if ":" in h}
        assert set(typed.values()) <= {"long", "double", "boolean"}
        for row in rows:
            assert row[0] in ids and row[1] in ids
            record = dict(zip(header, row, strict=True))
            for name, kind in typed.items():
                value = record[f"{name}:{kind}"]
                if value:
                    {"long": int, "double": float}.get(kind, str)(value)
        n_edges += len(rows)
        if path.name == "relationships_mitigates.csv":
            for row in rows:
                record = dict(zip(header, row, strict=True))
                support = json.loads(record["support"])
                assert int(record["support_count:long"]) == len(support)
        if path.name == "relationships_leads_to.csv":
            assert header == [
                ":START_ID",
                ":END_ID",
                ":TYPE",
                "evidence",
                "support",
                "support_count:long",
            ]
            assert rows and {row[2] for row in rows} == {"LEADS_TO"}
            for row in rows:
                record = dict(zip(header, row, strict=True))
                assert int(record["support_count:long"]) == len(json.loads(record["support"]))
    assert n_edges == seed_graph.number_of_edges()
    script = (out / "import.sh").read_text(encoding="utf-8")
    assert "neo4j-admin database import full" in script
    assert all(f"--nodes={p.name}" in script for p in node_files)
    assert all(f"--relationships={p.name}" in script for p in rel_files)


def test_unknown_format_is_refused(seed_graph, tmp_path):
    with pytest.raises(ValueError, match="unknown export format"):
        export(seed_graph, "dot", tmp_path / "g.dot")


def test_node_link_is_plain_json(concept_graph):
    json.dumps(to_node_link(concept_graph), ensure_ascii=False)
