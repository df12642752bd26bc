"""The concept extractor and its leave-one-case-out evaluation, on the real seed data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kizuki.graph.evaluation import PRF, evaluate, leave_one_case_out, micro_prf
from kizuki.graph.extract import ConceptExtractor, ConceptTag, examples_from, split_sentences


@pytest.fixture(scope="module")
def results(extractor, annotations, taxonomy):
    return evaluate(annotations=annotations, taxonomy=taxonomy, base=extractor)


def test_every_seed_sentence_gets_a_tag_of_its_kind(extractor, annotations, taxonomy):
    for case in list(annotations)[:8]:
        for kind in ("cause", "countermeasure"):
            for item in case.items(kind):
                tags = extractor.tag(item.text, kind)
                assert tags, item.text
                for tag in tags:
                    assert isinstance(tag, ConceptTag)
                    concept = taxonomy.get(tag.concept_id)
                    assert concept.kind == kind and not concept.is_group
                    assert 0 < tag.confidence <= 1 and tag.evidence
                confidences = [t.confidence for t in tags]
                assert confidences == sorted(confidences, reverse=True)


def test_held_out_case_is_never_used_as_evidence(extractor, annotations):
    case = annotations["fsa2019-27"]
    held_out = extractor.without([case.case_id])
    assert all(e.case_id != case.case_id for e in held_out.examples)
    assert len(held_out.examples) == len(extractor.examples) - len(case.causes) - len(
        case.countermeasures
    )
    for kind in ("cause", "countermeasure"):
        for item in case.items(kind):
            for _, evidence in held_out.scores(item.text, kind).values():
                assert case.case_id not in evidence
    # With the case's own sentences available, the nearest example is the sentence itself.
    text = case.causes[0].text
    assert f"{case.case_id} causes[0]" in extractor.scores(text, "cause")["cause.cert_expiry"][1]


def test_examples_of_the_held_out_case_change_the_learned_scores(extractor, annotations):
    learned = ConceptExtractor(
        extractor.taxonomy,
        extractor.examples,
        use_patterns=False,
        use_definitions=False,
        _features=extractor._features,
    )
    text = annotations["fsa2019-22"].causes[0].text
    seen = learned.scores(text, "cause")
    unseen = learned.without(["fsa2019-22"]).scores(text, "cause")
    assert seen != unseen


def test_new_wording_is_tagged(extractor):
    tags = extractor.tag("ウェブサーバーのSSL証明書の更新を忘れ、期限が切れていた。", "cause")
    assert tags[0].concept_id == "cause.cert_expiry"
    tags = extractor.tag("作業手順書がなく、担当者の記憶に頼って作業した。", "cause")
    assert "cause.missing_procedure_doc" in {t.concept_id for t in tags}


def test_tag_incident_and_case(extractor, seed):
    text = (
        "朝からネットバンキングにログインできない。\n"
        "委託先が管理していたサーバー証明書が期限切れになっていた。今後は証明書を定期的に棚卸しする。"
    )
    assert len(split_sentences(text)) == 3
    found = extractor.tag_incident(text)
    assert "cause.cert_expiry" in {t.concept_id for t in found["cause"]}
    assert "cm.cert_inventory" in {t.concept_id for t in found["countermeasure"]}
    per_sentence = extractor.tag_case(seed[0])
    assert len(per_sentence["cause"]) == len(seed[0].causes)
    assert len(per_sentence["countermeasure"]) == len(seed[0].countermeasures)
    with pytest.raises(ValueError, match="kind"):
        extractor.tag("x", "event")


def test_micro_prf_counts_pairs():
    m = micro_prf([{"a", "b"}, {"c"}, set()], [{"a"}, {"c", "d"}, {"e"}])
    assert (m.tp, m.fp, m.fn) == (2, 1, 2)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(0.5)
    assert m.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert PRF.from_counts(0, 0, 0, 0).f1 == 0.0
    with pytest.raises(ValueError):
        micro_prf([set()], [])


def test_leave_one_case_out_scores(results, annotations):
    n_causes = sum(len(c.causes) for c in annotations)
    n_cms = sum(len(c.countermeasures) for c in annotations)
    for result in results.values():
        assert result.per_kind["cause"].sentences == n_causes
        assert result.per_kind["countermeasure"].sentences == n_cms
        gold = sum(len(i.concepts) for c in annotations for i in c.causes)
        cause = result.per_kind["cause"]
        assert cause.tp + cause.fn == gold
    # The goal for the default extractor (see graph/README.md for what it means).
    for kind in ("cause", "countermeasure"):
        assert results["combined"].per_kind[kind].f1 >= 0.75
    # Learning from the other cases must beat learning from examples alone.
    for kind in ("cause", "countermeasure"):
        assert results["learned"].per_kind[kind].f1 > results["examples"].per_kind[kind].f1


README_ROWS = {
    "combined": "combined (default)",
    "patterns": "patterns only",
    "learned": "learned only",
}


def test_the_readme_table_is_what_graph_eval_prints(results):
    """The README's extractor table (section "Concept extractor") quotes ``kizuki graph
    eval``: each row's P / R / F1 as this evaluation gives them, to three places."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Concept extractor", 1)[1].split("\n### ", 1)[0]
    for variant, label in README_ROWS.items():
        row = next(
            line
            for line in section.splitlines()
            if line.startswith(f"| {label}") or line.startswith(f"| **{label}")
        )
        quoted = [float(x) for x in re.findall(r"\d\.\d{3}", row)]
        scores = results[variant].per_kind
        expected = [
            round(getattr(scores[kind], name), 3)
            for kind in ("cause", "countermeasure")
            for name in ("precision", "recall", "f1")
        ]
        assert quoted == expected, (row, expected)


def test_leave_one_case_out_without_examples_is_fold_independent(extractor, annotations):
    patterns_only = ConceptExtractor(
        extractor.taxonomy,
        examples_from(annotations),
        use_examples=False,
        use_definitions=False,
        _features=extractor._features,
    )
    result = leave_one_case_out(patterns_only, annotations, variant="patterns")
    assert result.per_kind["cause"].tp > 0
