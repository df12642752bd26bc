"""The control-framework mapping against the taxonomy and its own id lists, and the audit
tables built on it (CSF functions, controls failed / implemented / unanswered)."""

from __future__ import annotations

import copy

import pytest
import yaml
from kizuki.graph.build import case_causes, case_countermeasures
from kizuki.graph.controls import (
    DEFAULT_PATH,
    FRAMEWORKS,
    FUNCTIONS,
    ControlsError,
    control_table,
    function_profile,
    load_controls,
    parse_controls,
)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def controls(taxonomy):
    return load_controls(taxonomy=taxonomy)


def test_every_concept_is_mapped_to_both_frameworks_with_a_rationale(controls, taxonomy):
    assert set(controls.mappings) == {c.id for c in taxonomy}
    for concept in taxonomy:
        for fw in FRAMEWORKS:
            rows = controls.controls_of(concept.id, fw)
            assert 1 <= len(rows) <= 3 and all(m.rationale for m in rows)
            assert all(controls.title(fw, m.control) for m in rows)
        if concept.kind == "cause":
            assert controls.failed_function[concept.id] in FUNCTIONS
    # every listed item is used: no stray ids in the file's framework lists
    used = {
        fw: {m.control for ms in controls.mappings.values() for m in ms[fw]} for fw in FRAMEWORKS
    }
    iso_items = set(controls.frameworks["iso27001_2022"]["items"])
    assert used["iso27001_2022"] == iso_items
    csf_items = {i for i in controls.frameworks["nist_csf_2"]["items"] if "-" in i}
    assert used["nist_csf_2"] == csf_items


def test_the_header_says_who_reviewed_what_and_how():
    head = DEFAULT_PATH.read_text(encoding="utf-8")[:6000]
    assert "Provenance" in head and "Reviewed" in head and "issue 24" in head


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["mappings"].pop("cause.operator_error"), "without a mapping"),
        (lambda d: d["mappings"].update({"cause.nope": {}}), "unknown concepts"),
        (
            lambda d: d["mappings"]["cause.operator_error"]["nist_csf_2"][0].update(id="PR.XX-99"),
            "not listed",
        ),
        (
            lambda d: d["mappings"]["cause.operator_error"]["iso27001_2022"][0].update(id="A.12.1"),
            "is not a iso27001_2022 id",
        ),
        (
            lambda d: d["mappings"]["cause.operator_error"]["nist_csf_2"][0].update(rationale=""),
            "rationale",
        ),
        (lambda d: d["mappings"]["cause.operator_error"].update(failed_function="XX"), "function"),
        (lambda d: d["mappings"]["cm.peer_review"].update(failed_function="PR"), "only a cause"),
        (lambda d: d["mappings"]["cm.peer_review"].update(nist_csf_2=[]), "1 to 3"),
    ],
)
def test_a_broken_mapping_is_refused_and_named(raw, taxonomy, change, message):
    data = copy.deepcopy(raw)
    change(data)
    with pytest.raises(ControlsError, match=message):
        parse_controls(data, taxonomy)


def test_function_profile_counts_each_case_cause_once(concept_graph, controls, seed):
    ids = [c.id for c in seed]
    rows = function_profile(concept_graph, controls, ids)
    assert [r["function"] for r in rows] == list(FUNCTIONS)
    pairs = [(c, cause) for c in ids for cause in case_causes(concept_graph, c)]
    assert sum(r["n_causes"] for r in rows) == len(pairs)
    assert abs(sum(r["share"] for r in rows) - 1) < 1e-3
    top = max(rows, key=lambda r: r["n_causes"])
    assert top["function"] == "PR"  # the report's failures are mostly missing safeguards


def test_control_table_splits_failed_cases_into_answered_and_unanswered(
    concept_graph, controls, seed
):
    ids = [c.id for c in seed]
    for fw in FRAMEWORKS:
        rows = control_table(concept_graph, controls, ids, fw)
        assert rows and rows == sorted(
            rows, key=lambda r: (-r["n_failed"], -r["n_unanswered"], r["control"])
        )
        for r in rows:
            failed, answered = set(r["failed_case_ids"]), set(r["countermeasure_case_ids"])
            assert set(r["unanswered_case_ids"]) == failed - answered
            for case_id in r["unanswered_case_ids"]:
                cms = case_countermeasures(concept_graph, case_id)
                assert not any(
                    r["control"] in {m.control for m in controls.controls_of(cm, fw)} for cm in cms
                )
            for case_id in r["failed_case_ids"]:
                causes = case_causes(concept_graph, case_id)
                assert any(
                    r["control"] in {m.control for m in controls.controls_of(c, fw)} for c in causes
                )
    assert any(r["n_unanswered"] for r in control_table(concept_graph, controls, ids, "nist_csf_2"))
    # a subset of cases counts only those cases
    few = control_table(concept_graph, controls, ids[:5], "nist_csf_2")
    assert all(set(r["failed_case_ids"]) <= set(ids[:5]) for r in few)
