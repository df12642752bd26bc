"""Leave-one-case-out evaluation of the concept extractor against the seed annotations.

For each case, the extractor is rebuilt without that case's annotated sentences, then
tags the case's cause and countermeasure sentences; predictions are compared with the
annotated concept sets and counted into micro precision / recall / F1 per kind.

Four variants are measured, because they answer different questions:

* ``combined`` – the default extractor (taxonomy patterns + nearest annotated examples and
  concept definitions);
* ``patterns`` – taxonomy patterns alone: nothing is learned from annotations, but the
  patterns were written while reading these 44 cases, so this score is in-sample;
* ``learned`` – nearest annotated examples + concept definitions, no patterns: the held-out
  case's annotations are unseen (the definitions are taxonomy text, also written by the
  annotator);
* ``examples`` – nearest annotated examples alone: the purely learned baseline.

``k`` and the threshold of each variant were chosen on this same leave-one-case-out run
(a small grid), so the numbers are slightly optimistic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from kizuki.graph.annotations import Annotations, load_annotations
from kizuki.graph.extract import ConceptExtractor, examples_from
from kizuki.graph.taxonomy import KINDS, Kind, Taxonomy, load_taxonomy

VARIANTS: dict[str, dict] = {
    "combined": {"use_patterns": True, "use_examples": True, "use_definitions": True},
    "patterns": {"use_patterns": True, "use_examples": False, "use_definitions": False},
    "learned": {
        "use_patterns": False,
        "use_examples": True,
        "use_definitions": True,
        "k": 3,
        "threshold": 0.35,
    },
    "examples": {
        "use_patterns": False,
        "use_examples": True,
        "use_definitions": False,
        "k": 3,
        "threshold": 0.4,
    },
}


@dataclass(frozen=True)
class PRF:
    """Micro-averaged scores over (sentence, concept) pairs."""

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    sentences: int

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int, sentences: int) -> PRF:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(p, r, f, tp, fp, fn, sentences)

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def micro_prf(predicted: list[set[str]], gold: list[set[str]]) -> PRF:
    """Micro P/R/F1 of predicted concept sets against gold sets (aligned lists)."""
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold must have the same length")
    tp = sum(len(p & g) for p, g in zip(predicted, gold, strict=True))
    fp = sum(len(p - g) for p, g in zip(predicted, gold, strict=True))
    fn = sum(len(g - p) for p, g in zip(predicted, gold, strict=True))
    return PRF.from_counts(tp, fp, fn, len(gold))


@dataclass
class EvalResult:
    """Scores of one extractor variant: per kind, and per concept for error analysis."""

    variant: str
    per_kind: dict[Kind, PRF]
    per_concept: dict[str, PRF]

    def to_dict(self) -> dict:
        return {
            "variant": self.variant,
            "per_kind": {k: v.to_dict() for k, v in self.per_kind.items()},
            "per_concept": {k: v.to_dict() for k, v in sorted(self.per_concept.items())},
        }


def leave_one_case_out(
    extractor: ConceptExtractor, annotations: Annotations, variant: str = "custom"
) -> EvalResult:
    """Tag each case with an extractor that never saw that case's annotations."""
    preds: dict[Kind, list[set[str]]] = {k: [] for k in KINDS}
    golds: dict[Kind, list[set[str]]] = {k: [] for k in KINDS}
    concept_counts: Counter[tuple[str, str]] = Counter()
    concept_sentences: Counter[str] = Counter()
    for case in annotations:
        held_out = extractor.without([case.case_id]) if extractor.use_examples else extractor
        for kind in KINDS:
            for item in case.items(kind):
                pred = {t.concept_id for t in held_out.tag(item.text, kind)}
                gold = set(item.concepts)
                preds[kind].append(pred)
                golds[kind].append(gold)
                for cid in pred | gold:
                    concept_sentences[cid] += 1
                    outcome = "tp" if cid in pred and cid in gold else "fp" if cid in pred else "fn"
                    concept_counts[(cid, outcome)] += 1
    per_kind = {k: micro_prf(preds[k], golds[k]) for k in KINDS}
    per_concept = {
        cid: PRF.from_counts(
            concept_counts[(cid, "tp")],
            concept_counts[(cid, "fp")],
            concept_counts[(cid, "fn")],
            concept_sentences[cid],
        )
        for cid in concept_sentences
    }
    return EvalResult(variant, per_kind, per_concept)


def evaluate(
    variants: tuple[str, ...] = tuple(VARIANTS),
    annotations: Annotations | None = None,
    taxonomy: Taxonomy | None = None,
    embedder: object | None = None,
    threshold: float | None = None,
    base: ConceptExtractor | None = None,
) -> dict[str, EvalResult]:
    """Leave-one-case-out scores of the named variants on the seed annotations.

    The variants share one set of featurisers (those of ``base`` when given: its embedder,
    analyzer and caches, never its examples), so sentences are embedded once.
    """
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    taxonomy = taxonomy or load_taxonomy()
    annotations = annotations or load_annotations(taxonomy=taxonomy)
    examples = examples_from(annotations)
    if base is None:
        base = ConceptExtractor(taxonomy, examples, embedder=embedder)
    else:  # reuse the given extractor's models and caches with these examples
        base = ConceptExtractor(taxonomy, examples, _features=base._features)
    base.prepare()
    results = {}
    for name in variants:
        options = dict(VARIANTS[name])
        if threshold is not None:
            options["threshold"] = threshold
        extractor = ConceptExtractor(taxonomy, examples, _features=base._features, **options)
        results[name] = leave_one_case_out(extractor, annotations, variant=name)
    return results
