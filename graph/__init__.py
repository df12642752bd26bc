"""Kizuki's knowledge graph: taxonomy, annotations, extraction, the graph and its uses.

The public names below are imported lazily, so ``import kizuki.graph.taxonomy`` (or the CLI's
start-up) does not pay for pandas or networkx it does not use.

    from kizuki.graph import build_graph, cause_view, recommend, recurring_causes, export
"""

from __future__ import annotations

from kizuki.corpus.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # graph.build
    "build_graph": "kizuki.graph.build",
    "add_similar_edges": "kizuki.graph.build",
    "sector_node_id": "kizuki.graph.build",
    "NODE_TYPES": "kizuki.graph.build",
    "EDGE_TYPES": "kizuki.graph.build",
    # graph.navigate
    "UnknownNodeError": "kizuki.graph.navigate",
    "list_concepts": "kizuki.graph.navigate",
    "cause_view": "kizuki.graph.navigate",
    "countermeasure_view": "kizuki.graph.navigate",
    "case_neighbourhood": "kizuki.graph.navigate",
    "connect_cases": "kizuki.graph.navigate",
    # graph.recommend
    "recommend": "kizuki.graph.recommend",
    "likely_causes": "kizuki.graph.recommend",
    "recommend_countermeasures": "kizuki.graph.recommend",
    "sign_evidence": "kizuki.graph.recommend",
    # graph.ranking
    "CauseAwareSearcher": "kizuki.graph.ranking",
    "cause_ranking": "kizuki.graph.ranking",
    # graph.analytics
    "recurring_causes": "kizuki.graph.analytics",
    "recurring_by": "kizuki.graph.analytics",
    "cause_cooccurrence": "kizuki.graph.analytics",
    "cause_table": "kizuki.graph.analytics",
    "coverage_gaps": "kizuki.graph.analytics",
    # graph.export
    "export": "kizuki.graph.export",
    "to_node_link": "kizuki.graph.export",
    "write_json": "kizuki.graph.export",
    "write_graphml": "kizuki.graph.export",
    "write_neo4j": "kizuki.graph.export",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
