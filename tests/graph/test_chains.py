"""Cause chains: the reviewed file against the corpus and taxonomy, extraction from text
(leave-one-case-out), and the chains in the graph (``leads_to``, common paths)."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import yaml
from kizuki.corpus.schema import Case
from kizuki.graph.build import LEADS_TO, MITIGATES, build_graph, edges_of_type, extend_graph
from kizuki.graph.chain_eval import evaluate_chains, order_agreement
from kizuki.graph.chain_extract import ChainExtractor, ChainModel, clauses, pattern_tagger
from kizuki.graph.chain_graph import case_chain, chain_view, common_paths
from kizuki.graph.chains import (
    DEFAULT_PATH,
    STEP_TYPES,
    Chain,
    ChainError,
    ChainStep,
    field_text,
    parse_chains,
)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tagger(extractor):
    return pattern_tagger(extractor)


def test_every_bundled_case_has_a_chain_quoting_its_own_text(seed, chains, taxonomy):
    assert set(chains) == {c.id for c in seed}
    by_id = {c.id: c for c in seed}
    for case_id, chain in chains.items():
        assert len(chain.steps) >= 2, case_id
        for step in chain.steps:
            assert step.type in STEP_TYPES
            text = field_text(by_id[case_id], step.field)
            assert text is not None and step.evidence in text, (case_id, step.evidence)
            if step.concept is not None:
                concept = taxonomy.get(step.concept)
                assert concept.kind == "cause" and not concept.is_group


def test_the_chains_file_says_who_made_it_and_how():
    head = DEFAULT_PATH.read_text(encoding="utf-8")[:3000]
    assert "Provenance" in head and "method: hand" in head


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["fsa2019-05"]["steps"][0].update(concept="cause.nope"), "unknown concept"),
        (lambda d: d["fsa2019-05"]["steps"][0].update(concept="cause.grp.human"), "leaf cause"),
        (lambda d: d["fsa2019-05"]["steps"][0].update(concept="cm.peer_review"), "leaf cause"),
        (
            lambda d: d["fsa2019-05"]["steps"][0].update(evidence="どこにもない文章です"),
            "is not in",
        ),
        (lambda d: d["fsa2019-05"]["steps"][0].update(field="causes[9]"), "no field"),
        (lambda d: d["fsa2019-05"]["steps"][0].update(type="cause"), "is not one of"),
        (lambda d: d["fsa2019-05"].update(steps=d["fsa2019-05"]["steps"][:1]), "at least 2"),
        (lambda d: d.pop("fsa2019-05"), "cases without a chain"),
    ],
)
def test_a_broken_chain_is_refused_and_named(raw, taxonomy, seed, change, message):
    data = copy.deepcopy(raw)
    change(data)
    with pytest.raises(ChainError, match=message):
        parse_chains(data, taxonomy, seed)


def test_clauses_are_exact_substrings_cut_at_the_cue_words():
    text = "作業手順を誤り、バッチが異常終了した。その後、復旧手順を誤り、さらに影響が拡大した。"
    parts = clauses(text)
    assert [c for _, c in parts][:2] == ["作業手順を誤り", "バッチが異常終了した"]
    assert all(text[o : o + len(c)] == c for o, c in parts)
    assert any(c.startswith("さらに") for _, c in parts)


def test_an_imported_case_gets_a_typed_ordered_chain(chains, tagger):
    case = Case(
        id="imp-1",
        event=(
            "夜間バッチの作業手順を誤り、バッチが異常終了した。その後、復旧手順を誤り影響が"
            "拡大し、翌朝のオンライン取引が利用できなくなった。"
        ),
        causes=["再鑑者が作業順序の誤りを看過した。"],
    )
    chain = ChainExtractor(tagger, ChainModel.fit(chains.values())).extract(case)
    types = [s.type for s in chain.steps]
    assert "recovery_error" in types and "customer_impact" in types
    assert types.index("failure") < types.index("customer_impact")
    assert ("missed_detection", "cause.missing_peer_review") in {
        (s.type, s.concept) for s in chain.steps
    }
    for step in chain.steps:
        assert step.evidence in field_text(case, step.field)


def test_order_agreement_counts_pairs_of_found_steps():
    gold = Chain(
        "g",
        tuple(ChainStep(t, None, "event", t) for t in ("trigger", "failure", "customer_impact")),
    )
    same = Chain("p", gold.steps)
    flipped = Chain("p", tuple(reversed(gold.steps)))
    assert order_agreement(same, gold) == (3, 3)
    assert order_agreement(flipped, gold) == (0, 3)


def test_leave_one_case_out_measures_steps_and_order(seed, chains, tagger):
    scores = evaluate_chains(seed, chains, tagger)
    assert scores["cases"] == 44
    # the figures the README reports (graph eval prints them), within rounding
    assert scores["steps"]["f1"] >= 0.5 and scores["concepts"]["recall"] >= 0.8
    assert scores["order"]["agreement"] >= 0.8

    class Nothing:
        def tag(self, sentence, kind):
            return []

    blind = evaluate_chains(seed, chains, Nothing())
    assert blind["concepts"]["tp"] == 0 and blind["steps"]["f1"] < scores["steps"]["f1"]


def test_leads_to_edges_aggregate_the_chains(seed_graph, chains):
    edges = {(u, v): d for u, v, d in edges_of_type(seed_graph, LEADS_TO)}
    assert edges
    expected: dict[tuple[str, str], set[str]] = {}
    for case_id, chain in chains.items():
        concepts = chain.concepts()
        for a, b in zip(concepts, concepts[1:], strict=False):
            expected.setdefault((a, b), set()).add(case_id)
    assert {k: set(d["support"]) for k, d in edges.items()} == expected
    for d in edges.values():
        assert d["support_count"] == len(d["support"])
        for row in d["evidence"]:
            quotes = {s.evidence for s in chains[row["case_id"]].steps}
            assert row["from"] in quotes and row["to"] in quotes


def test_the_graph_holds_each_case_chain_with_labels(seed_graph, chains):
    assert case_chain(seed_graph, "fsa2019-05") == chains["fsa2019-05"]
    view = chain_view(seed_graph, "fsa2019-05")
    assert view["steps"][0]["type_label_ja"] and view["steps"][0]["position"] == 1
    assert chain_view(seed_graph, "no-such-case") is None


def test_common_paths_count_cases_and_say_where_a_countermeasure_cuts_them(seed_graph):
    paths = common_paths(seed_graph)
    assert paths and all(p["support"] >= 2 and p["length"] in (2, 3) for p in paths)
    assert paths == sorted(paths, key=lambda p: (-p["support"], -p["length"], p["path"]))
    for p in paths:
        assert p["support"] == len(p["case_ids"]) == len(p["evidence"])
        for case_id in p["case_ids"]:
            assert " ".join(p["path"]) in " ".join(case_chain(seed_graph, case_id).concepts())
        if p["cut"] is not None:
            concept = p["path"][p["cut"]["step"] - 1]
            cms = {c["id"] for c in p["cut"]["countermeasures"]}
            assert cms <= {u for u, _, d in edges_of_type(seed_graph, MITIGATES) if _ == concept}
            earlier = p["path"][: p["cut"]["step"] - 1]
            assert not any(v in earlier for _, v, d in edges_of_type(seed_graph, MITIGATES))
    by_sector = common_paths(seed_graph, "sector")
    assert by_sector and all(r["sector"].startswith("sector.") for r in by_sector)
    assert all(r["sector_label_ja"] for r in by_sector)


def test_an_imported_case_adds_its_chain_without_touching_the_served_graph(
    seed, taxonomy, annotations, extractor, chains
):
    G = build_graph(seed, taxonomy, annotations, extractor, chains=chains)
    before = {(u, v): list(d["support"]) for u, v, d in edges_of_type(G, LEADS_TO)}
    new = Case(
        id="imp-2",
        event="委託先の作業ミスによりシステムが停止し、顧客が振込できなくなった。",
        causes=["委託先の作業ミスがあった。", "再鑑者が誤りを看過した。"],
    )
    grown = extend_graph(G, [new], annotations, extractor, chains)
    assert grown is not None
    assert case_chain(grown, "imp-2").source == "extraction"
    assert case_chain(G, "imp-2") is None
    assert {(u, v): list(d["support"]) for u, v, d in edges_of_type(G, LEADS_TO)} == before
    full = build_graph([*seed, new], taxonomy, annotations, extractor, chains=chains)
    assert {(u, v): d["support"] for u, v, d in edges_of_type(grown, LEADS_TO)} == {
        (u, v): d["support"] for u, v, d in edges_of_type(full, LEADS_TO)
    }


def test_an_edited_seed_case_gets_its_chain_from_its_text(
    seed, taxonomy, annotations, extractor, chains
):
    case = next(c for c in seed if c.id == "fsa2019-05")
    edited = case.model_copy(update={"event": "システムが停止し、顧客取引ができなくなった。"})
    G = build_graph([edited], taxonomy, {}, extractor, chains=chains)
    assert case_chain(G, "fsa2019-05").source == "extraction"


def _leads_to(G) -> dict:
    return {(u, v): d for u, v, d in edges_of_type(G, LEADS_TO)}


def test_leads_to_kept_pair_by_pair_equals_a_rebuild_after_adds_and_edits(
    seed, taxonomy, annotations, extractor, chains, tagger
):
    """``set_chains`` rewrites only the pairs the changed chains link; after new cases and
    changed chains (an edit moves a case's links, one drops them all) the edges equal
    those rebuilt from every recorded chain."""
    from kizuki.graph.chain_graph import rebuild_leads_to, set_chains

    G = build_graph(seed, taxonomy, annotations, extractor, chains=chains)
    new = [
        Case(id=f"imp-{i}", event="委託先の作業ミスによりシステムが停止した。", causes=causes)
        for i, causes in enumerate(
            [
                ["委託先の作業ミスがあった。", "再鑑者が誤りを看過した。"],
                ["プログラムの設計誤りがあった。", "テストが不十分だった。"],
                ["ハードウェアが故障した。", "切替手順が整備されていなかった。"],
            ]
        )
    ]
    for case in new:
        G = extend_graph(G, [case], annotations, extractor, chains)
    linked = sorted({cid for d in _leads_to(G).values() for cid in d["support"]} & set(chains))
    first, second = linked[:2]
    reversed_steps = replace(chains[first], steps=chains[first].steps[::-1])
    no_concepts = replace(
        chains[second], steps=tuple(replace(s, concept=None) for s in chains[second].steps)
    )
    moved = [pair for pair, d in _leads_to(G).items() if second in d["support"]]
    assert moved, "the test needs a case whose chain links concepts"
    others = {
        pair: d
        for pair, d in _leads_to(G).items()
        if not {first, second} & set(d["support"]) and pair[::-1] not in _leads_to(G)
    }
    set_chains(G, {first: reversed_steps, second: no_concepts})
    assert others and all(_leads_to(G)[pair] is d for pair, d in others.items()), (
        "a pair no changed chain links was rewritten"
    )
    assert all(second not in d["support"] for d in _leads_to(G).values())
    incremental = copy.deepcopy(_leads_to(G))
    rebuild_leads_to(G)
    assert _leads_to(G) == incremental
    assert any(c.startswith("imp-") for d in incremental.values() for c in d["support"])
