"""Taxonomy loading: the shipped file is valid and broken files fail with a clear message."""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from kizuki.graph.taxonomy import DEFAULT_PATH, TaxonomyError, load_taxonomy, parse_taxonomy

NAMED_CONCEPTS = [
    "cause.missing_peer_review",
    "cause.cert_expiry",
    "cause.capacity_limit",
    "cause.env_mixup",
    "cause.missing_procedure_doc",
    "cause.vendor_unmanaged",
]


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_shipped_taxonomy_loads_with_enough_leaves():
    taxonomy = load_taxonomy()
    for kind in ("cause", "countermeasure"):
        assert len(taxonomy.leaves(kind)) >= 25
        assert len(taxonomy.groups(kind)) >= 5
        for concept in taxonomy.leaves(kind):
            assert concept.parent is not None
            assert taxonomy.get(concept.parent).is_group
            assert concept.label_ja and concept.label_en and concept.definition


def test_named_concepts_exist_as_leaves():
    taxonomy = load_taxonomy()
    for cid in NAMED_CONCEPTS:
        concept = taxonomy.get(cid)
        assert concept.kind == "cause" and not concept.is_group


def test_lookups_by_kind_parent_and_children():
    taxonomy = load_taxonomy()
    concept = taxonomy.get("cause.cert_expiry")
    group = taxonomy.parent("cause.cert_expiry")
    assert group is not None and group.kind == "cause"
    assert concept in taxonomy.children(group.id)
    assert taxonomy.ancestors("cause.cert_expiry") == [group]
    assert all(c.kind == "countermeasure" for c in taxonomy.by_kind("countermeasure"))
    with pytest.raises(KeyError, match="cause.nope"):
        taxonomy.get("cause.nope")


def _expect_error(data: dict, *needles: str) -> None:
    with pytest.raises(TaxonomyError) as info:
        parse_taxonomy(data)
    for needle in needles:
        assert needle in str(info.value)


def test_duplicate_id_is_rejected(raw):
    data = copy.deepcopy(raw)
    data["causes"].append(copy.deepcopy(data["causes"][-1]))
    _expect_error(data, data["causes"][-1]["id"], "duplicate")


def test_duplicate_id_across_kinds_is_rejected(raw):
    data = copy.deepcopy(raw)
    twin = copy.deepcopy(data["countermeasures"][-1])
    data["countermeasures"].append(twin)
    _expect_error(data, twin["id"], "duplicate")


def test_unknown_parent_is_rejected(raw):
    data = copy.deepcopy(raw)
    data["causes"][-1]["parent"] = "cause.grp.nonexistent"
    _expect_error(data, data["causes"][-1]["id"], "unknown parent", "cause.grp.nonexistent")


def test_parent_of_other_kind_is_rejected(raw):
    data = copy.deepcopy(raw)
    data["causes"][-1]["parent"] = "cm.grp.management"
    _expect_error(data, data["causes"][-1]["id"], "cm.grp.management")


def test_cycle_is_rejected(raw):
    data = copy.deepcopy(raw)
    groups = [c for c in data["causes"] if c["parent"] is None]
    groups[0]["parent"] = groups[1]["id"]
    groups[1]["parent"] = groups[0]["id"]
    _expect_error(data, "cycle")


def test_missing_label_is_rejected(raw):
    data = copy.deepcopy(raw)
    del data["countermeasures"][-1]["label_en"]
    _expect_error(data, data["countermeasures"][-1]["id"], "label_en")


def test_wrong_prefix_and_bad_pattern_are_rejected(raw):
    data = copy.deepcopy(raw)
    data["causes"][-1]["id"] = "cm.misplaced"
    _expect_error(data, "cm.misplaced", "cause.")
    data = copy.deepcopy(raw)
    data["causes"][-1]["patterns"] = ["(unclosed"]
    _expect_error(data, data["causes"][-1]["id"], "pattern")


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(TaxonomyError, match="not found"):
        load_taxonomy(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("causes: [\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=re.escape(str(bad))):
        load_taxonomy(bad)
