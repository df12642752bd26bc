"""Kizuki's knowledge graph: taxonomy, annotations, extraction, the graph and its uses.

The public names below are imported lazily, so ``import graph.taxonomy`` (or the CLI's
start-up) does not pay for pandas or networkx it does not use.

    from graph import build_graph, cause_view, recommend, recurring_causes, export
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # graph.build
    "build_graph": "graph.build",
    "add_similar_edges": "graph.build",
    "sector_node_id": "graph.build",
    "NODE_TYPES": "graph.build",
    "EDGE_TYPES": "graph.build",
    # graph.navigate
    "UnknownNodeError": "graph.navigate",
    "list_concepts": "graph.navigate",
    "cause_view": "graph.navigate",
    "countermeasure_view": "graph.navigate",
    "case_neighbourhood": "graph.navigate",
    "connect_cases": "graph.navigate",
    # graph.recommend
    "recommend": "graph.recommend",
    "likely_causes": "graph.recommend",
    "recommend_countermeasures": "graph.recommend",
    "sign_evidence": "graph.recommend",
    # graph.ranking
    "CauseAwareSearcher": "graph.ranking",
    "cause_ranking": "graph.ranking",
    # graph.analytics
    "recurring_causes": "graph.analytics",
    "recurring_by": "graph.analytics",
    "cause_cooccurrence": "graph.analytics",
    "cause_table": "graph.analytics",
    "coverage_gaps": "graph.analytics",
    # graph.export
    "export": "graph.export",
    "to_node_link": "graph.export",
    "write_json": "graph.export",
    "write_graphml": "graph.export",
    "write_neo4j": "graph.export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'graph' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
