"""The data written beside the 44 bundled cases (issue 21): outside views, the English
translation and the mechanism facets. Each file's format and provenance, and that its
quotes are the cases' own text while its own texts never copy it."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from kizuki.corpus import seed_cases
from kizuki.corpus.mechanisms import FACETS_PATH, bundled_facets, reviewed_facets
from kizuki.corpus.outside import (
    ENGLISH_PATH,
    MORE_VIEWS_PATH,
    english_rendering,
    outside_views,
    views_per_case,
)
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from pydantic import ValidationError

CASES = {c.id: c for c in seed_cases()}
#: The registers of the 24 added views, in the order that covers them evenly.
REGISTERS = (
    "ja_ticket en_press ja_complaint ja_engineer en_ticket ja_press ja_helpdesk ja_status "
    "en_engineer ja_mechanism ja_ticket en_complaint ja_complaint ja_engineer en_mechanism "
    "ja_report ja_helpdesk en_press ja_status ja_ticket en_ticket ja_engineer ja_press "
    "ja_mechanism"
).split()
#: The registers of the 12 views added after them (``n`` 25-36), each case told first as
#: users, staff, partners, the press and a regulator would see it: the six Japanese first
#: (indexed by default), then the six English ones (measured to lower the English figures,
#: so not indexed by default: README, "views per case").
MORE_REGISTERS = (
    "ja_sns ja_branch ja_oncall ja_report ja_regulator ja_partner "
    "en_status en_complaint en_regulator en_helpdesk en_press en_ticket"
).split()


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _field(case: Case, name: str) -> str:
    match = re.fullmatch(r"(causes|countermeasures)\[(\d+)\]", name)
    if match:
        return getattr(case, match.group(1))[int(match.group(2))]
    return getattr(case, name)


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_the_attribution_names_every_file_and_what_is_not_the_fsas():
    text = (FACETS_PATH.parent / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for path in (FACETS_PATH, MORE_VIEWS_PATH, ENGLISH_PATH):
        assert f"`{path.name}`" in text
    assert "not the FSA's text" in text and "translation" in text


def test_every_case_has_36_more_views_in_the_register_order():
    """The first 24 come first, so that the first ``n`` views of a case are what ``n`` were
    before the 12 were added (the views-per-case curve subsamples by count)."""
    rows = _rows(MORE_VIEWS_PATH)
    assert [r["id"] for r in rows] == list(CASES)
    for row in rows:
        views = row["views"]
        assert [v["n"] for v in views] == list(range(1, 37))
        assert [v["register"] for v in views] == REGISTERS + MORE_REGISTERS
        assert all(v["lang"] == v["register"].split("_")[0] for v in views)
        assert all(v["author"].startswith("Kizuki team") for v in views)
        assert all("without reading any evaluation query" in v["author"] for v in views)
        english = [v["text"] for v in views[24:] if v["lang"] == "en"]
        assert len(english) == 6
        assert not any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t) for t in english)
    assert views_per_case() == 42
    assert len(outside_views(seed_cases())["fsa2019-01"]) == 42
    assert len(outside_views(seed_cases(), 12)["fsa2019-01"]) == 12
    assert outside_views(seed_cases(), 0) == {}


def test_by_default_the_30_of_before_are_indexed_and_the_twelve_after_are_not():
    """The count the views-per-case measurement kept (README): the twelve written after the
    30 are read only when ``KIZUKI_OUTSIDE_VIEWS`` asks for them."""
    count = Settings.model_fields["outside_views"].default
    rows = {r["id"]: r["views"] for r in _rows(MORE_VIEWS_PATH)}
    for case_id, views in outside_views(seed_cases(), count).items():
        before = {v["text"] for v in rows[case_id] if v["n"] <= 24}
        after = {v["text"] for v in rows[case_id] if v["n"] > 24}
        assert len(views) == 30 and before <= set(views) and not after & set(views), case_id
    assert len(outside_views(seed_cases(), 36)["fsa2019-01"]) == 36


def test_the_setting_can_ask_for_every_written_view_and_no_more():
    """``KIZUKI_OUTSIDE_VIEWS`` reaches every view written (the curve's last point), and
    a count past them is refused rather than silently read as all."""
    assert Settings(outside_views=views_per_case()).outside_views == views_per_case()
    with pytest.raises(ValidationError):
        Settings(outside_views=views_per_case() + 1)


@pytest.mark.parametrize("case_id", list(CASES))
def test_views_never_copy_their_case_or_each_other(case_id):
    """Views describe a case from outside in everyday words: no 20-character stretch of
    the case's own text (the report's wording), and no two views share one."""
    case = CASES[case_id]
    own = [_norm(text) for text in (case.title, case.event, *case.causes, *case.countermeasures)]
    views = [_norm(v) for v in outside_views([case])[case_id][6:]]
    for i, view in enumerate(views):
        for start in range(0, max(1, len(view) - 20 + 1), 3):
            window = view[start : start + 20]
            if len(window) < 20:
                continue
            assert not any(window in field for field in own), (case_id, i, window)
            assert not any(window in other for j, other in enumerate(views) if j != i)


def test_the_english_translation_follows_each_case_item_by_item():
    rows = {r["id"]: r for r in _rows(ENGLISH_PATH)}
    assert list(rows) == list(CASES)
    for case_id, case in CASES.items():
        row = rows[case_id]
        assert len(row["causes"]) == len(case.causes)
        assert len(row["countermeasures"]) == len(case.countermeasures)
        assert len(row["sectors"]) == len(case.sectors)
        text = json.dumps(row, ensure_ascii=False)
        assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), case_id  # all English
    edited = CASES["fsa2019-01"].model_copy(update={"event": "別の本文"})
    assert "fsa2019-01" in english_rendering([CASES["fsa2019-01"]])
    assert english_rendering([edited]) == {}  # it describes the bundled text only


def test_every_case_has_reviewed_facets_with_its_own_text_as_evidence():
    from kizuki.search.facets import vocabulary

    vocab = vocabulary()
    facets = bundled_facets()
    assert list(facets) == list(CASES)
    for case_id, by_facet in facets.items():
        assert set(by_facet) == set(vocab.facets)
        for required in ("trigger", "channel", "impact"):
            assert by_facet[required], (case_id, required)
        for facet, items in by_facet.items():
            for item in items:
                assert item["value"] in vocab.values[facet], (case_id, facet, item)
                assert len(item["evidence"]) >= 6
                assert item["evidence"] in _field(CASES[case_id], item["field"]), (
                    case_id,
                    item,
                )
    edited = CASES["fsa2019-05"].model_copy(update={"title": "別の題"})
    assert reviewed_facets([edited]) == {}
