"""Views generated for a case without written ones (``graph.views``): from its own text,
in the taxonomy's Japanese and English labels; never for a bundled case."""

from __future__ import annotations

from kizuki.corpus.outside import outside_views
from kizuki.corpus.schema import Source
from kizuki.graph.views import concept_views, generated_views, pattern_extractor


def twin(case):
    """The bundled case as an import stores it: same text, another source."""
    return case.model_copy(update={"source": Source(report="imported", year=2019)})


def test_an_imported_twin_gets_views_in_both_languages_a_bundled_case_none(
    seed, taxonomy, seed_analyzer
):
    extractor = pattern_extractor(taxonomy, seed_analyzer)
    case = next(c for c in seed if c.id == "fsa2019-14")
    imported = twin(case)
    assert outside_views([imported]) == {} and outside_views([case])
    views = generated_views([case, imported], outside_views([case]), extractor, taxonomy)
    assert set(views) == set()  # the same id: the bundled one has written views
    views = generated_views([imported], (), extractor, taxonomy)
    ja, en = views["fsa2019-14"]
    tags = extractor.tag_case(imported)
    first = taxonomy.get(tags["cause"][0][0].concept_id)
    assert ja.startswith(case.title) and first.label_ja in ja
    assert first.label_en in en and "Major banks".lower() in en
    assert "原因" not in en and all(ord(ch) < 0x3000 for ch in en)


def test_a_case_with_no_cause_or_countermeasure_gets_no_view(seed, taxonomy, seed_analyzer):
    extractor = pattern_extractor(taxonomy, seed_analyzer)
    bare = twin(seed[0]).model_copy(update={"causes": [], "countermeasures": []})
    assert concept_views(bare, extractor, taxonomy) == ()
