"""Cause chains in the graph: ``leads_to`` edges, each case's chain, the common paths.

* ``set_chains`` keeps every case's chain in ``G.graph["chains"]`` (saved with the graph)
  and derives the ``leads_to`` edges: concept A → concept B when B follows A in a case's
  chain (steps without a concept skipped), with ``support`` (the case ids),
  ``support_count`` and ``evidence`` (the two quotes of each case).
* ``common_paths``: the most frequent 2- and 3-concept sequences of the chains, overall or
  per sector / theme, each with the earliest step where a countermeasure institutions
  adopted (a ``mitigates`` edge into that step's concept) would have cut it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import networkx as nx
from kizuki.graph.build import (
    IN_SECTOR,
    IN_THEME,
    LEADS_TO,
    MITIGATES,
    _own_pair,
)
from kizuki.graph.chains import STEP_LABELS, Chain

CHAINS = "chains"
By = Literal["all", "sector", "theme"]


def set_chains(G: nx.MultiDiGraph, chains: Mapping[str, Chain]) -> None:
    """Record ``chains`` (merged into those already in ``G``) and bring the ``leads_to``
    edges in line with every recorded chain. Only the pairs that the changed cases' old or
    new chains link are rewritten (a write touches a handful, not the 10⁴ of a corpus); the
    result equals ``rebuild_leads_to``'s. Safe on a graph that shares edge dicts with the
    one being served (``build._sharing_copy``): each pair is given its own dicts before it
    changes."""
    stored = dict(G.graph.get(CHAINS) or {})
    changed = {cid: chain.to_dict() for cid, chain in chains.items() if cid in G}
    touched: set[tuple[str, str]] = set()
    for case_id in changed:
        if case_id in stored:
            touched.update(_links(G, case_id, stored[case_id]))
    stored.update(changed)
    G.graph[CHAINS] = stored
    fresh = {case_id: _links(G, case_id, data) for case_id, data in changed.items()}
    for links in fresh.values():
        touched.update(links)
    for a, b in sorted(touched):
        old = G.get_edge_data(a, b, key=LEADS_TO)
        by_case: dict[str, list[dict]] = {}
        for row in old["evidence"] if old else ():
            if row["case_id"] not in changed:
                by_case.setdefault(row["case_id"], []).append(row)
        for case_id, links in fresh.items():
            if (a, b) in links:
                by_case[case_id] = links[(a, b)]
        _set_leads_to(G, a, b, by_case)


def rebuild_leads_to(G: nx.MultiDiGraph) -> None:
    """Every ``leads_to`` edge derived again from all recorded chains (what ``set_chains``
    keeps up to date pair by pair; tests compare the two)."""
    for u, v in [(u, v) for u, v, k in G.edges(keys=True) if k == LEADS_TO]:
        _set_leads_to(G, u, v, {})
    links: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(dict)
    for case_id, data in sorted((G.graph.get(CHAINS) or {}).items()):
        for pair, rows in _links(G, case_id, data).items():
            links[pair][case_id] = rows
    for (a, b), by_case in links.items():
        _set_leads_to(G, a, b, by_case)


def _links(G: nx.MultiDiGraph, case_id: str, data: Mapping[str, Any]) -> dict[tuple, list[dict]]:
    """(concept A, concept B) → the evidence rows of one case's chain, in chain order."""
    out: dict[tuple[str, str], list[dict]] = {}
    steps = [s for s in data["steps"] if s.get("concept")]
    for a, b in zip(steps, steps[1:], strict=False):
        if a["concept"] == b["concept"] or a["concept"] not in G or b["concept"] not in G:
            continue
        rows = out.setdefault((a["concept"], b["concept"]), [])
        rows.append({"case_id": case_id, "from": a["evidence"], "to": b["evidence"]})
    return out


def _set_leads_to(G: nx.MultiDiGraph, a: str, b: str, by_case: Mapping[str, list[dict]]) -> None:
    """The ``leads_to`` edge a → b from its cases' rows (removed when there are none)."""
    _own_pair(G, a, b)
    if G.has_edge(a, b, key=LEADS_TO):
        G.remove_edge(a, b, key=LEADS_TO)
    if not by_case:
        return
    cases = sorted(by_case)
    G.add_edge(
        a,
        b,
        key=LEADS_TO,
        type=LEADS_TO,
        support=cases,
        support_count=len(cases),
        evidence=[row for cid in cases for row in by_case[cid]],
    )


def case_chain(G: nx.MultiDiGraph, case_id: str) -> Chain | None:
    """The chain the graph holds for a case (None when it has none)."""
    data = (G.graph.get(CHAINS) or {}).get(case_id)
    return Chain.from_dict(data) if data else None


def chain_view(G: nx.MultiDiGraph, case_id: str) -> dict[str, Any] | None:
    """A case's chain with the labels of its step types and concepts (JSON-ready)."""
    chain = case_chain(G, case_id)
    if chain is None:
        return None
    steps = []
    for i, step in enumerate(chain.steps):
        concept = G.nodes[step.concept] if step.concept and step.concept in G else None
        steps.append(
            {
                "position": i + 1,
                **step.to_dict(),
                "type_label_ja": STEP_LABELS[step.type][0],
                "type_label_en": STEP_LABELS[step.type][1],
                "concept_label_ja": concept["label_ja"] if concept else None,
                "concept_label_en": concept["label_en"] if concept else None,
            }
        )
    return {"case_id": case_id, "source": chain.source, "steps": steps}


def _sequences(concepts: list[str], length: int) -> set[tuple[str, ...]]:
    return {tuple(concepts[i : i + length]) for i in range(len(concepts) - length + 1)}


def _groups(G: nx.MultiDiGraph, case_id: str, by: By) -> list[str]:
    if by == "all":
        return ["all"]
    etype = IN_SECTOR if by == "sector" else IN_THEME
    return [v for _, v, k in G.out_edges(case_id, keys=True) if k == etype]


def _cut(G: nx.MultiDiGraph, path: tuple[str, ...], limit: int = 3) -> dict[str, Any] | None:
    """The earliest step of ``path`` with a countermeasure adopted against its concept."""
    for i, concept in enumerate(path):
        cms = [
            (d.get("support_count", 0), u)
            for u, _, k, d in G.in_edges(concept, keys=True, data=True)
            if k == MITIGATES
        ]
        if cms:
            cms.sort(key=lambda t: (-t[0], t[1]))
            return {
                "step": i + 1,
                "concept": concept,
                "countermeasures": [
                    {
                        "id": cm,
                        "label_ja": G.nodes[cm]["label_ja"],
                        "label_en": G.nodes[cm]["label_en"],
                        "support_count": n,
                    }
                    for n, cm in cms[:limit]
                ],
            }
    return None


def common_paths(
    G: nx.MultiDiGraph,
    by: By = "all",
    *,
    case_ids: Iterable[str] | None = None,
    lengths: tuple[int, ...] = (2, 3),
    min_support: int | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The most frequent concept sequences of the cases' chains, per group (``by``):
    support = the number of cases whose chain holds the sequence (once per case), with
    each case's quotes and where an adopted countermeasure would have cut the path.
    ``min_support``: default 2 cases overall, 1 within a sector or theme (few cases each)."""
    if min_support is None:
        min_support = 2 if by == "all" else 1
    stored = G.graph.get(CHAINS) or {}
    wanted = set(case_ids) if case_ids is not None else None
    counts: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    quotes: dict[tuple[str, ...], dict[str, list[str]]] = defaultdict(dict)
    for case_id, data in sorted(stored.items()):
        if case_id not in G or (wanted is not None and case_id not in wanted):
            continue
        chain = Chain.from_dict(data)
        concepts = chain.concepts()
        evidence = {s.concept: s.evidence for s in reversed(chain.steps) if s.concept}
        for length in lengths:
            for seq in _sequences(concepts, length):
                quotes[seq][case_id] = [evidence[c] for c in seq]
                for group in _groups(G, case_id, by):
                    counts[(group, seq)].append(case_id)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (group, seq), cases in counts.items():
        if len(cases) < min_support:
            continue
        rows[group].append(
            {
                by: group,
                "path": list(seq),
                "labels_ja": [G.nodes[c]["label_ja"] for c in seq],
                "labels_en": [G.nodes[c]["label_en"] for c in seq],
                "length": len(seq),
                "support": len(cases),
                "case_ids": cases,
                "evidence": [{"case_id": c, "quotes": quotes[seq][c]} for c in cases],
                "cut": _cut(G, seq),
            }
        )
    out: list[dict[str, Any]] = []
    for group in sorted(rows):
        part = sorted(rows[group], key=lambda r: (-r["support"], -r["length"], r["path"]))
        for row in part[:limit]:
            if by != "all":
                label = G.nodes[group] if group in G else {}
                row[f"{by}_label_ja"] = label.get("label_ja", group)
                row[f"{by}_label_en"] = label.get("label_en", group)
            else:
                row.pop("all")
            out.append(row)
    return out
