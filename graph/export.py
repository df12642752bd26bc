"""Write the graph for other tools: node-link JSON, GraphML, Neo4j import CSV.

- JSON: ``networkx.node_link_data`` (keys ``nodes`` / ``edges``; read it back with
  ``networkx.node_link_graph(data)``). Lists stay lists.
- GraphML (Gephi, Cytoscape): GraphML has no list or dict type, so list/dict attributes
  (e.g. ``support``, ``sentences``) are written as JSON strings and ``None`` is dropped.
- Neo4j: one node CSV per node type and one relationship CSV per edge type, with the
  header syntax of ``neo4j-admin database import`` (``id:ID``, ``:LABEL``, ``:START_ID``,
  ``:END_ID``, ``:TYPE``, typed properties such as ``score:float``). List attributes are
  JSON strings there too. ``import.sh`` beside them holds the import command.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, BinaryIO

import networkx as nx
from kizuki.graph.build import EDGE_TYPES, NODE_TYPES

NEO4J_LABELS = {
    "case": "Case",
    "cause": "Cause",
    "countermeasure": "Countermeasure",
    "sector": "Sector",
    "theme": "Theme",
}


def to_node_link(G: nx.MultiDiGraph) -> dict[str, Any]:
    """networkx node-link data (JSON-ready)."""
    return nx.node_link_data(G)


def _json_text(G: nx.MultiDiGraph) -> str:
    return json.dumps(to_node_link(G), ensure_ascii=False, indent=1, default=str)


def write_json(G: nx.MultiDiGraph, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_json_text(G), encoding="utf-8")
    return path


def _flat(value: Any) -> Any:
    if isinstance(value, list | tuple | dict | set):
        if isinstance(value, set):
            value = sorted(value)
        return json.dumps(value, ensure_ascii=False)
    return value


def flatten(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy whose attribute values are all scalars (lists/dicts → JSON strings)."""
    H = nx.MultiDiGraph()
    H.graph.update({k: _flat(v) for k, v in G.graph.items() if v is not None})
    for n, d in G.nodes(data=True):
        H.add_node(n, **{k: _flat(v) for k, v in d.items() if v is not None})
    for u, v, k, d in G.edges(keys=True, data=True):
        H.add_edge(u, v, key=k, **{a: _flat(b) for a, b in d.items() if b is not None})
    return H


def write_graphml(G: nx.MultiDiGraph, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nx.write_graphml(flatten(G), path, encoding="utf-8", named_key_ids=True)
    return path


# -- Neo4j --------------------------------------------------------------------------------


def _neo4j_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None and v != ""]
    if present and all(isinstance(v, bool) for v in present):
        return "boolean"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "long"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "double"
    return "string"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _flat(value)


def _header(name: str, kind: str) -> str:
    return name if kind == "string" else f"{name}:{kind}"


def write_neo4j(G: nx.MultiDiGraph, directory: str | Path) -> list[Path]:
    """Node and relationship CSV files for ``neo4j-admin database import full``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    node_files, rel_files = [], []

    for node_type in NODE_TYPES:
        nodes = [(n, d) for n, d in G.nodes(data=True) if d.get("type") == node_type]
        if not nodes:
            continue
        props = sorted({k for _, d in nodes for k in d} - {"type"})
        kinds = {p: _neo4j_type([d.get(p) for _, d in nodes]) for p in props}
        path = directory / f"nodes_{node_type}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id:ID", *(_header(p, kinds[p]) for p in props), ":LABEL"])
            for n, d in nodes:
                w.writerow([n, *(_cell(d.get(p)) for p in props), NEO4J_LABELS[node_type]])
        written.append(path)
        node_files.append(path.name)

    for edge_type in EDGE_TYPES:
        edges = [(u, v, d) for u, v, k, d in G.edges(keys=True, data=True) if k == edge_type]
        if not edges:
            continue
        props = sorted({k for _, _, d in edges for k in d} - {"type"})
        kinds = {p: _neo4j_type([d.get(p) for _, _, d in edges]) for p in props}
        path = directory / f"relationships_{edge_type}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([":START_ID", ":END_ID", ":TYPE", *(_header(p, kinds[p]) for p in props)])
            for u, v, d in edges:
                w.writerow([u, v, edge_type.upper(), *(_cell(d.get(p)) for p in props)])
        written.append(path)
        rel_files.append(path.name)

    args = [f"--nodes={name}" for name in node_files]
    args += [f"--relationships={name}" for name in rel_files]
    script = directory / "import.sh"
    script.write_text(
        "#!/bin/sh\n"
        "# Import into an empty database (run with the Neo4j server stopped), from this folder.\n"
        "# Evidence sentences may contain line breaks, hence --multiline-fields.\n"
        'cd "$(dirname "$0")"\n'
        'neo4j-admin database import full "${1:-neo4j}" --overwrite-destination '
        "--multiline-fields=true \\\n    " + " \\\n    ".join(args) + "\n",
        encoding="utf-8",
    )
    written.append(script)
    return written


def dump(G: nx.MultiDiGraph, fmt: str, stream: BinaryIO) -> None:
    """Write a one-file format (json, graphml) to an open binary stream, e.g. standard
    output: the same bytes ``export`` writes to a file."""
    if fmt == "json":
        stream.write(_json_text(G).encode("utf-8"))
    elif fmt == "graphml":
        nx.write_graphml(flatten(G), stream, encoding="utf-8", named_key_ids=True)
    else:
        raise ValueError(f"{fmt} is not one file; use json or graphml")


def export(G: nx.MultiDiGraph, fmt: str, path: str | Path) -> list[Path]:
    """``fmt`` = json | graphml | neo4j (``path`` is a folder for neo4j)."""
    if fmt == "json":
        return [write_json(G, path)]
    if fmt == "graphml":
        return [write_graphml(G, path)]
    if fmt == "neo4j":
        return write_neo4j(G, path)
    raise ValueError(f"unknown export format {fmt!r}; use json, graphml or neo4j")
