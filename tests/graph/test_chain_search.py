""" "Same way of failing": the chain-similarity source ranks cases by the chain read out of
the pasted text, whatever its trigger."""

from __future__ import annotations

import pytest
from kizuki.graph.chain_search import ChainSimilarity, chain_features
from kizuki.graph.chains import Chain, ChainStep


@pytest.fixture(scope="module")
def similarity(chains, extractor):
    return ChainSimilarity(chains, extractor)


def test_chain_features_name_types_concepts_and_transitions():
    chain = Chain(
        "x",
        (
            ChainStep("trigger", "cause.operator_error", "event", "作業を誤った"),
            ChainStep("recovery_error", None, "event", "復旧を誤った"),
        ),
    )
    assert chain_features(chain) == {
        "t:trigger",
        "t:recovery_error",
        "c:cause.operator_error",
        "tc:trigger|cause.operator_error",
        "tt:trigger>recovery_error",
    }


def test_a_recovery_that_made_it_worse_finds_recovery_errors_whatever_the_trigger(
    similarity, chains
):
    recovering = {
        cid for cid, ch in chains.items() if "recovery_error" in {s.type for s in ch.steps}
    }
    for text in (
        "ネットワーク機器の故障は軽微だったが、復旧手順を誤り影響が拡大した。",
        "The disk failure was minor, but the team's recovery went wrong and made it worse.",
    ):
        assert "t:recovery_error" in similarity.query_features(text)
        ranking = similarity.ranking(text)
        top = sorted(ranking, key=lambda c: -ranking[c])[: len(recovering)]
        assert len(set(top) & recovering) >= len(recovering) // 2, (text, top)
    plain = similarity.ranking("ATMが停止した。")
    assert not any("t:recovery_error" in f for f in similarity.query_features("ATMが停止した。"))
    assert plain == {} or max(plain.values()) < max(
        similarity.ranking("復旧手順を誤り影響が拡大した。").values()
    )


def test_a_rare_step_weighs_more_than_a_common_one(similarity):
    idf = similarity._idf
    assert idf["t:recovery_error"] > idf["t:customer_impact"]
    assert idf["t:missed_detection"] > idf["t:customer_impact"]


def test_the_ranker_adds_the_source_only_when_the_settings_say_so(seed_graph, extractor):
    from kizuki.graph.ranking import CauseAwareSearcher

    class Query:
        text = "復旧作業の手順を誤り、影響が翌日まで拡大した。"
        terms: list[str] = []

    class Signs:
        def match(self, terms):
            return []

        def out_of_scope(self, terms):
            return 0.0

    graph_chains = seed_graph.graph["chains"].items()
    on = CauseAwareSearcher(
        None, seed_graph, Signs(), ChainSimilarity.of_graph(graph_chains, extractor)
    )
    off = CauseAwareSearcher(None, seed_graph, Signs())
    assert set(on.extras(Query()).sources) == {"causes", "chains"}
    assert set(off.extras(Query()).sources) == {"causes"}
    assert on.extras(Query()).sources["chains"]
