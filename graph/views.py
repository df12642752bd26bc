"""Generated outside views for a case that has none (an imported or edited case).

A bundled case is indexed with outside views written for it (``corpus.outside``): how the
failure reads in everyday words and in English. An imported case has only its own terse
report text, so a pasted first report (or an English one) finds it less often. Its views
are generated here by rules, from the case's own text alone: the taxonomy's concepts that
its causes and countermeasures express, found by the taxonomy's patterns and keywords
(domain knowledge; no model, so a start with many imported cases stays fast), named in the
taxonomy's plain Japanese and English labels, with its sectors and theme in English.
Nothing here is written for, or tuned on, any query.

Off by default (``Settings.generated_views``): ``python scripts/imported_gap.py
--generated-views`` measured them below the imported case's own text, which stands in for
missing views in the ranking features (``search.features``) and is more specific than a
list of concept labels.
"""

from __future__ import annotations

from collections.abc import Iterable

from kizuki.corpus.schema import Case
from kizuki.graph.build import SECTOR_NAMES, THEME_NAMES
from kizuki.graph.extract import ConceptExtractor
from kizuki.graph.taxonomy import Taxonomy

#: Concepts named per kind in a view: the best-supported ones, in case order.
MAX_CONCEPTS = 6


def pattern_extractor(taxonomy: Taxonomy, analyzer: object) -> ConceptExtractor:
    """The concept extractor on the taxonomy's patterns and keywords alone."""
    return ConceptExtractor(taxonomy, use_examples=False, use_definitions=False, analyzer=analyzer)


def _concepts(tags: list[list], limit: int = MAX_CONCEPTS) -> list[str]:
    seen: dict[str, None] = {}
    for sentence in tags:
        for tag in sentence:
            seen.setdefault(tag.concept_id, None)
    return list(seen)[:limit]


def concept_views(case: Case, extractor: ConceptExtractor, taxonomy: Taxonomy) -> tuple[str, ...]:
    """Two views of ``case``: its title with the concepts its causes and countermeasures
    express, in Japanese, and the same in English with its sectors and theme."""
    tags = extractor.tag_case(case)
    causes = [taxonomy.get(c) for c in _concepts(tags["cause"])]
    cms = [taxonomy.get(c) for c in _concepts(tags["countermeasure"])]
    if not causes and not cms:
        return ()
    ja = [case.title or ""]
    if causes:
        ja.append("原因: " + "、".join(c.label_ja for c in causes))
    if cms:
        ja.append("対策: " + "、".join(c.label_ja for c in cms))
    sectors = [SECTOR_NAMES[s][1] for s in case.sectors if s in SECTOR_NAMES]
    en = []
    if sectors:
        en.append("A failure at " + ", ".join(sectors).lower())
    if case.theme and case.theme.id in THEME_NAMES:
        en.append(THEME_NAMES[case.theme.id])
    if causes:
        en.append("Causes: " + "; ".join(c.label_en for c in causes))
    if cms:
        en.append("Countermeasures: " + "; ".join(c.label_en for c in cms))
    return ("。".join(p for p in ja if p) + "。", ". ".join(en) + ".")


def generated_views(
    cases: Iterable[Case],
    have_views: Iterable[str],
    extractor: ConceptExtractor,
    taxonomy: Taxonomy,
) -> dict[str, tuple[str, ...]]:
    """Case id → generated views, for the cases that have no written ones."""
    written = set(have_views)
    out = {}
    for case in cases:
        if case.id not in written:
            views = concept_views(case, extractor, taxonomy)
            if views:
                out[case.id] = views
    return out
