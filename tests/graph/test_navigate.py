"""Navigation over the seed graph: causes, countermeasures, a case, two cases."""

from __future__ import annotations

import pytest
from kizuki.graph.navigate import (
    UnknownNodeError,
    case_neighbourhood,
    cause_view,
    connect_cases,
    countermeasure_view,
    list_concepts,
)


def _case(seed, case_id):
    return next(c for c in seed if c.id == case_id)


def test_cause_view_lists_its_cases_with_their_sentences(concept_graph, annotations, seed):
    view = cause_view(concept_graph, "cause.missing_peer_review")
    assert [e.case_id for e in view.cases] == sorted(
        annotations.cases_with("cause.missing_peer_review")
    )
    # fsa2019-05: 「再鑑が不十分であり、再鑑者が作業順序相違を看過した」
    evidence = {e.case_id: e for e in view.cases}
    assert any("再鑑" in s for s in evidence["fsa2019-05"].sentences)
    for e in view.cases:
        assert set(e.sentences) <= set(_case(seed, e.case_id).causes)
        assert e.source == "annotation"


def test_cause_view_ranks_countermeasures_by_support(concept_graph, annotations):
    view = cause_view(concept_graph, "cause.missing_peer_review")
    support = annotations.mitigation_support()
    assert view.countermeasures, "peer-review gaps are answered in the report"
    # The report answers missing peer review with (strengthened) peer review most often.
    assert view.countermeasures[0].concept.id == "cm.peer_review"
    counts = [link.support_count for link in view.countermeasures]
    assert counts == sorted(counts, reverse=True)
    for link in view.countermeasures:
        expected = support[(link.concept.id, "cause.missing_peer_review")]
        assert sorted({c.case_id for c in link.cases}) == sorted(expected)
        assert link.support_count == len(expected)
        assert link.strength == pytest.approx(len(expected) / len(view.cases))
        for c in link.cases:
            assert c.countermeasure and c.cause


def test_cert_expiry_points_at_the_certificate_case(concept_graph):
    view = cause_view(concept_graph, "cause.cert_expiry")
    assert view.cases
    for e in view.cases:
        assert any("証明書" in s for s in e.sentences)
    assert view.group and view.group.id.startswith("cause.grp.")


def test_a_group_aggregates_the_concepts_below_it(concept_graph, annotations, taxonomy):
    group = taxonomy.parent("cause.missing_peer_review").id
    view = cause_view(concept_graph, group)
    leaves = [c.id for c in taxonomy.children(group)]
    expected = sorted({cid for leaf in leaves for cid in annotations.cases_with(leaf)})
    assert [e.case_id for e in view.cases] == expected
    assert {n.id for n in view.narrower} == set(leaves)
    assert view.group is None


def test_countermeasure_view(concept_graph, annotations, seed):
    view = countermeasure_view(concept_graph, "cm.peer_review")
    assert [e.case_id for e in view.cases] == sorted(annotations.cases_with("cm.peer_review"))
    for e in view.cases:
        assert set(e.sentences) <= set(_case(seed, e.case_id).countermeasures)
    support = annotations.mitigation_support()
    addressed = {cause for (cm, cause) in support if cm == "cm.peer_review"}
    assert {link.concept.id for link in view.causes} == addressed
    counts = [link.support_count for link in view.causes]
    assert counts == sorted(counts, reverse=True)


def test_case_neighbourhood_of_a_known_case(seed_graph, annotations, seed):
    view = case_neighbourhood(seed_graph, "fsa2019-05")
    ann = annotations["fsa2019-05"]
    assert {c.concept.id for c in view.causes} == set(ann.concepts("cause"))
    assert {"cause.operator_error", "cause.missing_peer_review"} <= {
        c.concept.id for c in view.causes
    }
    cms = {m.concept.id: m for m in view.countermeasures}
    assert set(cms) == set(ann.concepts("countermeasure"))
    assert "cause.missing_peer_review" in cms["cm.peer_review"].addresses
    assert [s.label_ja for s in view.sectors] == _case(seed, "fsa2019-05").sectors
    assert view.theme is not None and view.theme.id == "theme.legacy_expertise"
    assert len(view.similar) == 3 and "fsa2019-05" not in {s.case.id for s in view.similar}
    for related in view.related:
        assert set(related.shared_causes) <= set(ann.concepts("cause"))
        assert set(related.shared_causes) <= set(annotations[related.case.id].concepts("cause"))


def test_connect_cases_reports_shared_causes_with_both_sentences(concept_graph, annotations):
    a, b = (
        "fsa2019-05",
        next(
            cid
            for cid in annotations.cases_with("cause.missing_peer_review")
            if cid != "fsa2019-05"
        ),
    )
    view = connect_cases(concept_graph, a, b)
    shared = {s.concept.id: s for s in view.shared_causes}
    expected = set(annotations[a].concepts("cause")) & set(annotations[b].concepts("cause"))
    assert set(shared) == expected and "cause.missing_peer_review" in shared
    s = shared["cause.missing_peer_review"]
    assert s.sentences_a and s.sentences_b
    assert len(view.path) == 3 and view.path[0].id == a and view.path[-1].id == b
    expected_cms = set(annotations[a].concepts("countermeasure")) & set(
        annotations[b].concepts("countermeasure")
    )
    assert {m.concept.id for m in view.shared_countermeasures} == expected_cms


def test_list_concepts_counts_cases(concept_graph, annotations, taxonomy):
    items = {i.concept.id: i for i in list_concepts(concept_graph)}
    assert set(items) == {c.id for c in taxonomy.by_kind("cause")}
    for cid, item in items.items():
        if not item.is_group:
            assert item.n_cases == len(annotations.cases_with(cid))


@pytest.mark.parametrize(
    ("fn", "args", "message"),
    [
        (cause_view, ("cause.nope",), "unknown cause 'cause.nope'"),
        (cause_view, ("cm.peer_review",), "unknown cause 'cm.peer_review'"),
        (countermeasure_view, ("cause.cert_expiry",), "unknown countermeasure"),
        (case_neighbourhood, ("fsa2019-99",), "unknown case 'fsa2019-99'"),
    ],
)
def test_unknown_ids_raise_a_readable_error(concept_graph, fn, args, message):
    with pytest.raises(UnknownNodeError) as info:
        fn(concept_graph, *args)
    # No hint: the graph does not know whether a CLI or an HTTP client asked.
    assert str(info.value).startswith(message) and "see" not in str(info.value)
