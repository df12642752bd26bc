"""Leave-one-case-out measure of chain extraction against the reviewed chains.

For each bundled case, the chain model (concept → usual type, type → usual position) is
refitted on the other 43 chains, the concept extractor drops that case's annotated
examples (``ConceptExtractor.without``), and the case's chain is read from its text.

* Steps: a step is its (type, concept) pair, concept None included; predicted and reviewed
  steps are compared as multisets per case, micro-averaged. ``concepts`` scores the
  concepts alone (type ignored, None steps left out), ``types`` the types alone.
* Order: over the pairs of reviewed steps that were both found, the share whose order in
  the extracted chain agrees (pairwise order agreement; 0.5 is chance).

The cue patterns of ``graph.chain_extract`` and the taxonomy's patterns were written while
reading these same cases, so part of every figure is in-sample.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

from kizuki.corpus.schema import Case
from kizuki.graph.chain_extract import ChainExtractor, ChainModel
from kizuki.graph.chains import Chain


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    @classmethod
    def of(cls, tp: int, fp: int, fn: int) -> Scores:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(round(p, 4), round(r, 4), round(f, 4), tp, fp, fn)


def _match(pred: list, gold: list) -> tuple[int, int, int]:
    p, g = Counter(pred), Counter(gold)
    tp = sum((p & g).values())
    return tp, sum(p.values()) - tp, sum(g.values()) - tp


def order_agreement(pred: Chain, gold: Chain) -> tuple[int, int]:
    """(agreeing pairs, pairs) over the reviewed steps found in the extracted chain, each
    matched to the first unused predicted step with the same (type, concept)."""
    used: set[int] = set()
    where: list[int] = []
    pkeys = [(s.type, s.concept) for s in pred.steps]
    for step in gold.steps:
        key = (step.type, step.concept)
        hit = next((i for i, k in enumerate(pkeys) if k == key and i not in used), None)
        if hit is not None:
            used.add(hit)
            where.append(hit)
    pairs = list(combinations(where, 2))
    return sum(1 for a, b in pairs if a < b), len(pairs)


def evaluate_chains(
    cases: list[Case], reviewed: Mapping[str, Chain], extractor: Any
) -> dict[str, Any]:
    """Leave-one-case-out step P/R/F1 and order agreement (see the module docstring)."""
    counts: dict[str, list[int]] = {"steps": [0, 0, 0], "concepts": [0, 0, 0], "types": [0, 0, 0]}
    agree = pairs = 0
    for case in cases:
        gold = reviewed.get(case.id)
        if gold is None:
            continue
        model = ChainModel.fit(c for cid, c in reviewed.items() if cid != case.id)
        held = (
            extractor.without([case.id]) if getattr(extractor, "use_examples", False) else extractor
        )
        pred = ChainExtractor(held, model).extract(case)
        views = {
            "steps": lambda ch: [(s.type, s.concept) for s in ch.steps],
            "concepts": lambda ch: [s.concept for s in ch.steps if s.concept],
            "types": lambda ch: [s.type for s in ch.steps],
        }
        for name, view in views.items():
            for i, n in enumerate(_match(view(pred), view(gold))):
                counts[name][i] += n
        a, n = order_agreement(pred, gold)
        agree, pairs = agree + a, pairs + n
    out: dict[str, Any] = {k: asdict(Scores.of(*v)) for k, v in counts.items()}
    out["order"] = {
        "agreement": round(agree / pairs, 4) if pairs else 0.0,
        "agreeing_pairs": agree,
        "pairs": pairs,
    }
    out["cases"] = sum(1 for c in cases if c.id in reviewed)
    return out


def evaluate_chain_variants(
    cases: list[Case], reviewed: Mapping[str, Chain], base: Any, annotations: Any
) -> dict[str, dict[str, Any]]:
    """Both ways of finding a step's concept, leave-one-case-out: ``patterns`` (what the
    product reads imported cases with; the taxonomy's patterns were written reading these
    cases, so its concept figures are in-sample) and ``learned`` (nearest annotated
    examples + definitions without patterns, the held-out case's examples removed: the
    out-of-sample figure). ``base``: a ``ConceptExtractor`` whose featurisers are shared."""
    from kizuki.graph.chain_extract import pattern_tagger
    from kizuki.graph.evaluation import VARIANTS
    from kizuki.graph.extract import ConceptExtractor, examples_from

    learned = ConceptExtractor(
        base.taxonomy, examples_from(annotations), _features=base._features, **VARIANTS["learned"]
    )
    return {
        "patterns": evaluate_chains(cases, reviewed, pattern_tagger(base)),
        "learned": evaluate_chains(cases, reviewed, learned),
    }
