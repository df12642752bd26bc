"""The part of the graph around one node, as plain nodes + edges for drawing.

Sector, theme and group nodes are hubs (one sector touches dozens of cases): they are
shown but never expanded further, so a depth-2 view stays readable instead of pulling in
the whole graph. A node budget bounds the answer whatever the depth.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import networkx as nx

HUB_TYPES = frozenset({"sector", "theme"})
MAX_NODES = 120
#: Edges followed only from the centre: a case's similar cases, and the cases that call it
#: similar, would otherwise pull in most of the corpus two hops out.
CENTRE_ONLY_EDGES = frozenset({"similar_to"})


def _is_hub(G: nx.MultiDiGraph, node: str) -> bool:
    data = G.nodes[node]
    return data.get("type") in HUB_TYPES or bool(data.get("is_group"))


def _neighbours(G: nx.MultiDiGraph, node: str, centre: bool) -> list[str]:
    out: dict[str, None] = {}
    for _, v, k in G.out_edges(node, keys=True):
        if centre or k not in CENTRE_ONLY_EDGES:
            out[v] = None
    for u, _, k in G.in_edges(node, keys=True):
        if centre or k not in CENTRE_ONLY_EDGES:
            out[u] = None
    return list(out)


def neighbourhood(
    G: nx.MultiDiGraph, center: str, depth: int = 1, max_nodes: int = MAX_NODES
) -> dict[str, Any]:
    """Nodes within ``depth`` hops of ``center`` (breadth first) and the edges that touch an
    expanded node (edges between two nodes of the outermost ring are left out: they are
    what turns a drawing into a hairball)."""
    dist = {center: 0}
    queue = deque([center])
    truncated = False
    while queue:
        node = queue.popleft()
        if dist[node] >= depth or (node != center and _is_hub(G, node)):
            continue
        for other in _neighbours(G, node, node == center):
            if other in dist:
                continue
            if len(dist) >= max_nodes:
                truncated = True
                break
            dist[other] = dist[node] + 1
            queue.append(other)
    nodes = [
        {
            "id": n,
            "type": G.nodes[n].get("type", ""),
            "label_ja": G.nodes[n].get("label_ja", ""),
            "label_en": G.nodes[n].get("label_en", ""),
            "depth": d,
            "is_group": bool(G.nodes[n].get("is_group")),
        }
        for n, d in dist.items()
    ]
    edges = []
    for u, v, k, d in G.subgraph(dist).edges(keys=True, data=True):
        if min(dist[u], dist[v]) >= depth:
            continue
        if k in CENTRE_ONLY_EDGES and center not in (u, v):
            continue
        edge = {"id": f"{u}|{k}|{v}", "source": u, "target": v, "type": d.get("type", k)}
        for attr in ("score", "support_count", "strength", "confidence"):
            if attr in d:
                edge[attr] = d[attr]
        edges.append(edge)
    return {
        "center": center,
        "depth": depth,
        "truncated": truncated,
        "nodes": nodes,
        "edges": edges,
    }
