"""Invariants of the knowledge graph built from the real seed corpus and its annotations."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
from kizuki.corpus.schema import Case
from kizuki.graph.build import (
    ADOPTED,
    BROADER,
    EDGE_TYPES,
    HAS_CAUSE,
    MITIGATES,
    NODE_TYPES,
    SIMILAR_TO,
    build_graph,
    edges_of_type,
    sector_node_id,
)

ENDPOINTS = {
    "has_cause": ("case", "cause"),
    "adopted": ("case", "countermeasure"),
    "mitigates": ("countermeasure", "cause"),
    "in_sector": ("case", "sector"),
    "in_theme": ("case", "theme"),
    "similar_to": ("case", "case"),
    "leads_to": ("cause", "cause"),
}


def test_every_node_has_a_type_and_both_labels(seed_graph):
    for node, data in seed_graph.nodes(data=True):
        assert data["type"] in NODE_TYPES, node
        assert isinstance(data["label_ja"], str) and data["label_ja"], node
        assert isinstance(data["label_en"], str) and data["label_en"], node


def test_node_ids_follow_the_conventions(seed_graph, seed, taxonomy):
    types = Counter(t for _, t in seed_graph.nodes(data="type"))
    assert types["case"] == len(seed)
    assert types["cause"] + types["countermeasure"] == len(taxonomy)
    for node, t in seed_graph.nodes(data="type"):
        if t == "sector":
            assert node.startswith("sector.")
        elif t == "theme":
            assert node.startswith("theme.")
        elif t == "cause":
            assert node.startswith("cause.")
        elif t == "countermeasure":
            assert node.startswith("cm.")
    assert sector_node_id("地域銀行") == "sector.regional_banks"


def test_edges_are_typed_and_connect_the_right_node_types(seed_graph):
    for u, v, key, data in seed_graph.edges(keys=True, data=True):
        assert data["type"] == key and key in EDGE_TYPES
        if key == BROADER:
            assert seed_graph.nodes[u]["type"] == seed_graph.nodes[v]["type"]
            assert seed_graph.nodes[v]["is_group"]
        else:
            assert (seed_graph.nodes[u]["type"], seed_graph.nodes[v]["type"]) == ENDPOINTS[key]


def test_every_case_has_a_cause_and_a_countermeasure(seed_graph, seed):
    for case in seed:
        keys = Counter(k for _, _, k in seed_graph.out_edges(case.id, keys=True))
        assert keys[HAS_CAUSE] >= 1, case.id
        assert keys[ADOPTED] >= 1, case.id
        assert keys["in_sector"] == len(case.sectors)
        assert keys["in_theme"] == 1


def test_concept_edges_carry_verbatim_evidence_from_their_case(seed_graph, seed):
    by_id = {c.id: c for c in seed}
    for etype, field in ((HAS_CAUSE, "causes"), (ADOPTED, "countermeasures")):
        for u, _, d in edges_of_type(seed_graph, etype):
            assert d["provenance"] == "annotation"  # every seed case is annotated
            assert d["confidence"] == 1.0
            assert d["evidence"] == d["sentences"][0]
            for sentence in d["sentences"]:
                assert sentence in getattr(by_id[u], field)


def test_concept_edges_match_the_annotations(concept_graph, annotations):
    for ann in annotations:
        causes = {
            v for _, v, k in concept_graph.out_edges(ann.case_id, keys=True) if k == HAS_CAUSE
        }
        cms = {v for _, v, k in concept_graph.out_edges(ann.case_id, keys=True) if k == ADOPTED}
        assert causes == set(ann.concepts("cause"))
        assert cms == set(ann.concepts("countermeasure"))


def test_mitigates_support_counts_equal_the_cases_behind_them(seed_graph, annotations):
    expected = annotations.mitigation_support()
    edges = edges_of_type(seed_graph, MITIGATES)
    assert {(u, v) for u, v, _ in edges} == set(expected)
    for cm, cause, d in edges:
        assert d["support"] == sorted(expected[(cm, cause)])
        assert d["support_count"] == len(d["support"]) == len(set(d["support"]))
        assert {row["case_id"] for row in d["evidence_pairs"]} == set(d["support"])
        holders = {u for u, _, k in seed_graph.in_edges(cause, keys=True) if k == HAS_CAUSE}
        adopters = {u for u, _, k in seed_graph.in_edges(cm, keys=True) if k == ADOPTED}
        assert set(d["support"]) <= holders & adopters
        assert d["strength"] == pytest.approx(d["support_count"] / len(holders))
        assert 0 < d["strength"] <= 1


def test_broader_edges_mirror_the_taxonomy(seed_graph, taxonomy):
    broader = {(u, v) for u, v, _ in edges_of_type(seed_graph, BROADER)}
    assert broader == {(c.id, c.parent) for c in taxonomy if c.parent}


def test_similar_to_edges_come_from_the_search_index(seed_graph, seed):
    for case in seed:
        out = [
            (v, d)
            for _, v, k, d in seed_graph.out_edges(case.id, keys=True, data=True)
            if k == SIMILAR_TO
        ]
        assert len(out) == 3
        assert all(v != case.id for v, _ in out)
        ranked = sorted(out, key=lambda x: x[1]["rank"])
        assert [d["rank"] for _, d in ranked] == [1, 2, 3]
        scores = [d["score"] for _, d in ranked]
        assert scores == sorted(scores, reverse=True)


def _unannotated(case: Case, new_id: str) -> Case:
    return case.model_copy(update={"id": new_id})


def test_cases_without_annotation_are_tagged_by_the_extractor(
    seed, taxonomy, annotations, extractor
):
    source = next(c for c in seed if "証明書" in " ".join(c.causes))
    new = _unannotated(source, "imported-1")
    G = build_graph([*seed, new], taxonomy, annotations, extractor=extractor)
    edges = [d for _, _, k, d in G.out_edges(new.id, keys=True, data=True) if k == HAS_CAUSE]
    assert edges, "the extractor found no cause in a certificate-expiry case"
    for d in edges:
        assert d["provenance"] == "extraction"
        assert 0 < d["confidence"] <= 1
        assert all(s in new.causes for s in d["sentences"])
    assert G.has_edge(new.id, "cause.cert_expiry", key=HAS_CAUSE)
    # The seed cases keep their annotations.
    assert all(
        d["provenance"] == "annotation" for u, _, d in edges_of_type(G, HAS_CAUSE) if u != new.id
    )


def test_extracted_mitigates_reuse_known_pairs_and_keep_support_exact(
    seed, taxonomy, annotations, extractor
):
    extra = [_unannotated(c, f"copy-{c.id}") for c in seed[:6]]
    G = build_graph([*seed, *extra], taxonomy, annotations, extractor=extractor)
    for _, cause, d in edges_of_type(G, MITIGATES):
        assert d["support_count"] == len(d["support"])
        holders = {u for u, _, k in G.in_edges(cause, keys=True) if k == HAS_CAUSE}
        assert set(d["support"]) <= holders


def test_a_seed_id_with_other_text_falls_back_to_extraction(seed, taxonomy, annotations, extractor):
    changed = seed[0].model_copy(update={"causes": ["SSL 証明書の有効期限切れに気付かなかった。"]})
    G = build_graph([changed, *seed[1:]], taxonomy, annotations, extractor=extractor)
    sources = {
        d["provenance"]
        for _, _, k, d in G.out_edges(changed.id, keys=True, data=True)
        if k == HAS_CAUSE
    }
    assert sources == {"extraction"}


def test_unknown_concepts_in_annotations_are_rejected(seed, taxonomy):
    bad = {
        seed[0].id: {
            "causes": [{"text": t, "concepts": ["cause.nope"]} for t in seed[0].causes],
            "countermeasures": [
                {"text": t, "concepts": ["cm.peer_review"]} for t in seed[0].countermeasures
            ],
        }
    }
    with pytest.raises(ValueError, match="cause.nope"):
        build_graph(seed[:1], taxonomy, bad)


def test_an_event_only_case_gets_its_causes_from_the_event(seed, taxonomy, annotations, extractor):
    case = Case(
        id="api-1",
        event="ウェブサイトが表示できなくなった。SSL 証明書の有効期限切れが原因だった。",
        countermeasures=["証明書の期限を管理台帳で棚卸しする運用を整備"],
    )
    G = build_graph([*seed, case], taxonomy, annotations, extractor=extractor)
    edge = G.edges[case.id, "cause.cert_expiry", HAS_CAUSE]
    assert edge["provenance"] == "extraction"
    assert edge["evidence"] in case.event and "証明書" in edge["evidence"]


def _graph_facts(G) -> tuple[dict, dict]:
    nodes = dict(G.nodes(data=True))
    edges = {(u, v, k): d for u, v, k, d in G.edges(keys=True, data=True)}
    return nodes, edges


def test_extend_graph_gives_what_a_full_build_gives(seed, taxonomy, annotations, extractor):
    """Growing the graph by a write's cases equals building it over all cases at once:
    nodes, concept edges, and every mitigates edge's support, evidence and strength."""
    from kizuki.graph.build import extend_graph

    extra = [_unannotated(c, f"copy-{c.id}") for c in seed[:8]]
    before = build_graph([*seed, *extra[:5]], taxonomy, annotations, extractor=extractor)
    frozen = copy.deepcopy(_graph_facts(before))
    grown = extend_graph(before, extra[5:], annotations, extractor)
    full = build_graph([*seed, *extra], taxonomy, annotations, extractor=extractor)
    assert grown is not None
    grown_nodes, grown_edges = _graph_facts(grown)
    full_nodes, full_edges = _graph_facts(full)
    assert grown_nodes == full_nodes
    assert grown_edges == full_edges
    assert grown.graph["extractions"] == full.graph["extractions"]
    assert _graph_facts(before) == frozen, "the previous graph (still being read) changed"


def test_extend_graph_defers_to_a_full_build_when_it_must(seed, taxonomy, annotations, extractor):
    from kizuki.graph.build import extend_graph

    before = build_graph(seed[1:], taxonomy, annotations, extractor=extractor)
    assert extend_graph(before, [seed[0]], annotations, extractor) is None  # annotated
    assert extend_graph(before, [seed[1]], annotations, extractor) is None  # already there


def test_unchanged_cases_are_not_tagged_again(seed, taxonomy, annotations, extractor):
    """A rebuild over a previous graph (a restart that loaded it) reuses its extractions."""
    extra = [_unannotated(c, f"copy-{c.id}") for c in seed[:4]]
    first = build_graph([*seed, *extra], taxonomy, annotations, extractor=extractor)

    class Refusing:
        def tag(self, sentence, kind):
            raise AssertionError(f"tagged again: {sentence}")

    edited = extra[0].model_copy(update={"causes": ["証明書の期限切れ。"]})
    with pytest.raises(AssertionError, match="証明書の期限切れ"):
        build_graph([*seed, edited, *extra[1:]], taxonomy, annotations, Refusing(), previous=first)
    again = build_graph([*seed, *extra], taxonomy, annotations, Refusing(), previous=first)
    assert _graph_facts(again) == _graph_facts(first)


def test_distinct_sector_labels_are_distinct_nodes_and_filters_agree():
    """Issue 20 (13): "Bank A", "bank-a" and "BANK_A!" were one node ``sector.bank_a``,
    "!!!" and "unknown" both ``sector.unknown``. One normalisation (spaces, bracket width)
    applies to nodes and filters alike; labels that still differ are different sectors."""
    from kizuki.graph.build import SECTOR_NAMES, sector_node_id
    from kizuki.graph.build import sector_matches as _sector_matches

    labels = ["Bank A", "bank-a", "BANK_A!", "bank_a", "!!!", "unknown", "major_banks"]
    ids = [sector_node_id(label) for label in labels]
    assert len(set(ids)) == len(labels), ids
    assert all(i.startswith("sector.") for i in ids)
    assert sector_node_id("bank_a") == "sector.bank_a"  # already id-safe: kept as it is
    # Known labels keep their English slugs; width of brackets does not matter.
    assert (
        sector_node_id("金融商品取引業者(ネット証券会社)")
        == sector_node_id(" 金融商品取引業者（ネット証券会社） ")
        == f"sector.{SECTOR_NAMES['金融商品取引業者（ネット証券会社）'][0]}"
    )
    # A filter names a sector by its label (normalised the same way) or by its node id.
    assert _sector_matches("bank-a", ["bank-a"]) and not _sector_matches("bank-a", ["Bank A"])
    assert _sector_matches(sector_node_id("Bank A"), ["Bank A"])
    assert not _sector_matches(sector_node_id("Bank A"), ["bank-a", "BANK_A!"])
