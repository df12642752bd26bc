"""Walk the knowledge graph the way an analyst asks questions of it.

Plain functions over the graph from ``graph.build.build_graph`` (networkx style), each
returning a pydantic model that the CLI prints and the API serves as JSON:

- ``cause_view``: a cause → its cases and the countermeasures that address it, ranked by
  support, each with the cases and sentences behind it;
- ``countermeasure_view``: a countermeasure → the causes it addresses, the cases that
  adopted it;
- ``case_neighbourhood``: a case → its causes, countermeasures, sector, theme, similar cases
  and the other cases that share a cause;
- ``connect_cases``: two cases → what connects them.

A group concept (one with no parent) stands for itself and everything below it.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
from kizuki.graph.build import (
    ADOPTED,
    CASE,
    CAUSE,
    COUNTERMEASURE,
    HAS_CAUSE,
    IN_SECTOR,
    IN_THEME,
    MITIGATES,
    SIMILAR_TO,
    case_causes,
    case_countermeasures,
    cases_with_concept,
    group_of,
    narrower,
    nodes_of_type,
)
from kizuki.graph.exceptions import UnknownNodeError as UnknownNodeError
from pydantic import BaseModel, Field

# -- result models ------------------------------------------------------------------------


class NodeRef(BaseModel):
    id: str
    type: str
    label_ja: str
    label_en: str


class CaseEvidence(BaseModel):
    """A case and the sentences of it that carry a concept."""

    case_id: str
    title: str
    concept_id: str  # the concept the sentences were tagged with (a narrower one for groups)
    sentences: list[str]
    source: str  # annotation | extraction
    confidence: float


class MitigationCase(BaseModel):
    """One case in which a countermeasure answered a cause, with both sentences."""

    case_id: str
    title: str
    countermeasure: str
    cause: str
    source: str


class MitigationLink(BaseModel):
    """The other end of ``mitigates`` edges, with the cases behind it."""

    concept: NodeRef
    support_count: int
    strength: float
    cases: list[MitigationCase]


class ConceptSummary(BaseModel):
    concept: NodeRef
    group: NodeRef | None
    is_group: bool
    n_cases: int
    n_linked: int  # countermeasures addressing it (cause) / causes it addresses (countermeasure)


class CauseView(BaseModel):
    concept: NodeRef
    definition: str
    group: NodeRef | None
    narrower: list[NodeRef]
    cases: list[CaseEvidence]
    countermeasures: list[MitigationLink]


class CountermeasureView(BaseModel):
    concept: NodeRef
    definition: str
    group: NodeRef | None
    narrower: list[NodeRef]
    cases: list[CaseEvidence]
    causes: list[MitigationLink]


class CaseConcept(BaseModel):
    concept: NodeRef
    sentences: list[str]
    source: str
    confidence: float
    addresses: list[str] = Field(default_factory=list)  # countermeasures: cause concept ids


class SimilarCase(BaseModel):
    case: NodeRef
    score: float
    rank: int


class RelatedCase(BaseModel):
    case: NodeRef
    shared_causes: list[str]


class CaseNeighbourhood(BaseModel):
    case: NodeRef
    event: str
    sectors: list[NodeRef]
    theme: NodeRef | None
    causes: list[CaseConcept]
    countermeasures: list[CaseConcept]
    similar: list[SimilarCase]
    related: list[RelatedCase]


class SharedConcept(BaseModel):
    concept: NodeRef
    sentences_a: list[str]
    sentences_b: list[str]


class CaseConnection(BaseModel):
    a: NodeRef
    b: NodeRef
    shared_causes: list[SharedConcept]
    shared_countermeasures: list[SharedConcept]
    shared_cause_groups: list[NodeRef]  # groups both cases have causes in
    shared_sectors: list[NodeRef]
    same_theme: NodeRef | None
    similarity: float | None  # the similar_to score, either direction, if the index links them
    path: list[NodeRef]  # a shortest path through causes / countermeasures, if any


# -- helpers --------------------------------------------------------------------------------


def ref(G: nx.MultiDiGraph, node: str) -> NodeRef:
    data = G.nodes[node]
    return NodeRef(id=node, type=data["type"], label_ja=data["label_ja"], label_en=data["label_en"])


def _require(G: nx.MultiDiGraph, node: str, node_type: str) -> None:
    """The graph names no way out of the error: each caller adds its own (the CLI a
    command, the HTTP API an endpoint)."""
    if node not in G or G.nodes[node].get("type") != node_type:
        raise UnknownNodeError(node_type, node)


def _group_ref(G: nx.MultiDiGraph, concept: str) -> NodeRef | None:
    group = group_of(G, concept)
    return None if group == concept else ref(G, group)


def _title(G: nx.MultiDiGraph, case_id: str) -> str:
    return G.nodes[case_id]["label_ja"]


def _evidence(G: nx.MultiDiGraph, concepts: list[str]) -> list[CaseEvidence]:
    best: dict[str, CaseEvidence] = {}
    for concept in concepts:
        for case_id, d in cases_with_concept(G, concept).items():
            ev = CaseEvidence(
                case_id=case_id,
                title=_title(G, case_id),
                concept_id=concept,
                sentences=list(d["sentences"]),
                source=d["provenance"],
                confidence=float(d["confidence"]),
            )
            if case_id not in best:
                best[case_id] = ev
            else:  # a group: the case carries several narrower concepts; keep all sentences
                kept = best[case_id]
                kept.sentences = list(dict.fromkeys([*kept.sentences, *ev.sentences]))
    return sorted(best.values(), key=lambda e: e.case_id)


def _links(
    G: nx.MultiDiGraph, concepts: list[str], outgoing: bool, n_cases: int
) -> list[MitigationLink]:
    """Aggregate ``mitigates`` edges at ``concepts``; rank by support, then strength."""
    rows: dict[str, dict[str, list[dict]]] = defaultdict(dict)
    for concept in concepts:
        edges = (
            G.out_edges(concept, keys=True, data=True)
            if outgoing
            else G.in_edges(concept, keys=True, data=True)
        )
        for u, v, k, d in edges:
            if k != MITIGATES:
                continue
            other = v if outgoing else u
            for row in d["evidence_pairs"]:
                entries = rows[other].setdefault(row["case_id"], [])
                if row not in entries:
                    entries.append(row)
    links = []
    for other, by_case in rows.items():
        cases = [
            MitigationCase(title=_title(G, r["case_id"]), **r)
            for cid in sorted(by_case)
            for r in by_case[cid]
        ]
        if outgoing:  # countermeasure → causes: strength relative to each cause's cases
            denom = len(cases_with_concept(G, other))
        else:  # cause → countermeasures: relative to this cause's cases
            denom = n_cases
        links.append(
            MitigationLink(
                concept=ref(G, other),
                support_count=len(by_case),
                strength=len(by_case) / max(1, denom),
                cases=cases,
            )
        )
    links.sort(key=lambda link: (-link.support_count, -link.strength, link.concept.id))
    return links


# -- navigation -----------------------------------------------------------------------------


def list_concepts(G: nx.MultiDiGraph, node_type: str = CAUSE) -> list[ConceptSummary]:
    """Every cause (or countermeasure) concept with its case count; groups first in order."""
    out = []
    for node in nodes_of_type(G, node_type):
        below = narrower(G, node)
        n_cases = len({c for concept in below for c in cases_with_concept(G, concept)})
        key = MITIGATES
        linked = set()
        for concept in below:
            edges = (
                G.in_edges(concept, keys=True)
                if node_type == CAUSE
                else G.out_edges(concept, keys=True)
            )
            linked |= {(u if node_type == CAUSE else v) for u, v, k in edges if k == key}
        out.append(
            ConceptSummary(
                concept=ref(G, node),
                group=_group_ref(G, node),
                is_group=bool(G.nodes[node].get("is_group")),
                n_cases=n_cases,
                n_linked=len(linked),
            )
        )
    order = {n: i for i, n in enumerate(G.nodes)}
    out.sort(
        key=lambda s: (
            order[s.group.id if s.group else s.concept.id],
            not s.is_group,
            -s.n_cases,
            s.concept.id,
        )
    )
    return out


def cause_view(G: nx.MultiDiGraph, cause_id: str) -> CauseView:
    """A cause, its cases (with sentences) and the countermeasures that address it."""
    _require(G, cause_id, CAUSE)
    below = narrower(G, cause_id)
    cases = _evidence(G, below)
    return CauseView(
        concept=ref(G, cause_id),
        definition=G.nodes[cause_id].get("definition", ""),
        group=_group_ref(G, cause_id),
        narrower=[ref(G, n) for n in below[1:]],
        cases=cases,
        countermeasures=_links(G, below, outgoing=False, n_cases=len(cases)),
    )


def countermeasure_view(G: nx.MultiDiGraph, cm_id: str) -> CountermeasureView:
    """A countermeasure, the causes it addresses (ranked by support) and its adopters."""
    _require(G, cm_id, COUNTERMEASURE)
    below = narrower(G, cm_id)
    cases = _evidence(G, below)
    return CountermeasureView(
        concept=ref(G, cm_id),
        definition=G.nodes[cm_id].get("definition", ""),
        group=_group_ref(G, cm_id),
        narrower=[ref(G, n) for n in below[1:]],
        cases=cases,
        causes=_links(G, below, outgoing=True, n_cases=len(cases)),
    )


def _case_concepts(G: nx.MultiDiGraph, edges: dict[str, dict], with_addresses: bool, case_id: str):
    out = []
    for concept, d in sorted(edges.items()):
        addresses = []
        if with_addresses:
            addresses = sorted(
                v
                for _, v, k, md in G.out_edges(concept, keys=True, data=True)
                if k == MITIGATES and case_id in md["support"]
            )
        out.append(
            CaseConcept(
                concept=ref(G, concept),
                sentences=list(d["sentences"]),
                source=d["provenance"],
                confidence=float(d["confidence"]),
                addresses=addresses,
            )
        )
    return out


def case_neighbourhood(G: nx.MultiDiGraph, case_id: str) -> CaseNeighbourhood:
    """Everything one hop from a case, plus the cases that share one of its causes."""
    _require(G, case_id, CASE)
    out = G.out_edges(case_id, keys=True, data=True)
    sectors = [ref(G, v) for _, v, k, _ in out if k == IN_SECTOR]
    themes = [ref(G, v) for _, v, k, _ in out if k == IN_THEME]
    similar = sorted(
        (
            SimilarCase(case=ref(G, v), score=float(d["score"]), rank=int(d["rank"]))
            for _, v, k, d in out
            if k == SIMILAR_TO
        ),
        key=lambda s: s.rank,
    )
    causes = case_causes(G, case_id)
    related: dict[str, list[str]] = defaultdict(list)
    for cause in causes:
        for other in cases_with_concept(G, cause):
            if other != case_id:
                related[other].append(cause)
    return CaseNeighbourhood(
        case=ref(G, case_id),
        event=G.nodes[case_id].get("event", ""),
        sectors=sectors,
        theme=themes[0] if themes else None,
        causes=_case_concepts(G, causes, False, case_id),
        countermeasures=_case_concepts(G, case_countermeasures(G, case_id), True, case_id),
        similar=similar,
        related=[
            RelatedCase(case=ref(G, other), shared_causes=sorted(shared))
            for other, shared in sorted(related.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ],
    )


def _shared(G, a_edges: dict[str, dict], b_edges: dict[str, dict]) -> list[SharedConcept]:
    return [
        SharedConcept(
            concept=ref(G, c),
            sentences_a=list(a_edges[c]["sentences"]),
            sentences_b=list(b_edges[c]["sentences"]),
        )
        for c in sorted(set(a_edges) & set(b_edges))
    ]


def connect_cases(G: nx.MultiDiGraph, a: str, b: str) -> CaseConnection:
    """What two cases have in common: causes, countermeasures, groups, sector, theme."""
    _require(G, a, CASE)
    _require(G, b, CASE)
    ca, cb = case_causes(G, a), case_causes(G, b)
    ma, mb = case_countermeasures(G, a), case_countermeasures(G, b)
    groups_a = {group_of(G, c) for c in ca}
    groups_b = {group_of(G, c) for c in cb}

    def targets(case: str, etype: str) -> set[str]:
        return {v for _, v, k in G.out_edges(case, keys=True) if k == etype}

    theme_a, theme_b = targets(a, IN_THEME), targets(b, IN_THEME)
    same_theme = sorted(theme_a & theme_b)
    similarity = None
    for u, v in ((a, b), (b, a)):
        if G.has_edge(u, v, key=SIMILAR_TO):
            score = float(G.edges[u, v, SIMILAR_TO]["score"])
            similarity = score if similarity is None else max(similarity, score)

    # Shortest path through the concept layer only (case → cause/cm → case …).
    keep = {CASE, CAUSE, COUNTERMEASURE}
    view = nx.subgraph_view(
        G,
        filter_node=lambda n: G.nodes[n]["type"] in keep,
        filter_edge=lambda u, v, k: k in (HAS_CAUSE, ADOPTED),
    ).to_undirected(as_view=True)
    try:
        path = [ref(G, n) for n in nx.shortest_path(view, a, b)]
    except nx.NetworkXNoPath:
        path = []

    return CaseConnection(
        a=ref(G, a),
        b=ref(G, b),
        shared_causes=_shared(G, ca, cb),
        shared_countermeasures=_shared(G, ma, mb),
        shared_cause_groups=[ref(G, g) for g in sorted(groups_a & groups_b)],
        shared_sectors=[ref(G, s) for s in sorted(targets(a, IN_SECTOR) & targets(b, IN_SECTOR))],
        same_theme=ref(G, same_theme[0]) if same_theme else None,
        similarity=similarity,
        path=path,
    )


__all__ = [
    "CaseConnection",
    "CaseNeighbourhood",
    "CauseView",
    "ConceptSummary",
    "CountermeasureView",
    "UnknownNodeError",
    "case_neighbourhood",
    "cause_view",
    "connect_cases",
    "countermeasure_view",
    "list_concepts",
]
