"""Cases by position: read on demand from a snapshot, extended in memory, filtered."""

from __future__ import annotations

from kizuki.corpus import seed_cases
from kizuki.search.case_table import CaseTable


def test_stored_cases_are_read_on_demand(tmp_path):
    cases = seed_cases()
    CaseTable(cases).save(tmp_path)
    table = CaseTable.load(tmp_path)
    assert len(table) == 44 and table.ids == [c.id for c in cases]
    assert not table._stored._cache  # ids and facets came without parsing any case
    assert table[5] == cases[5] and table[-1] == cases[-1]
    assert set(table._stored._cache) == {5, 43}
    assert list(table) == cases


def test_extended_shares_the_stored_part(tmp_path):
    cases = seed_cases()
    CaseTable(cases[:40]).save(tmp_path)
    stored = CaseTable.load(tmp_path)
    grown = stored.extended(cases[40:])
    assert len(stored) == 40 and len(grown) == 44
    assert grown._stored is stored._stored
    assert list(grown) == cases
    (tmp_path / "again").mkdir()
    grown.save(tmp_path / "again")
    assert list(CaseTable.load(tmp_path / "again")) == cases


def test_filter_masks_match_the_cases(tmp_path):
    cases = seed_cases()
    CaseTable(cases).save(tmp_path)
    table = CaseTable.load(tmp_path)
    sector = cases[0].sectors[0]
    theme = cases[0].theme.label
    mask = table.mask([sector], [theme])
    expected = [
        sector in c.sectors and c.theme is not None and theme in (c.theme.id, c.theme.label)
        for c in cases
    ]
    assert mask.tolist() == expected and any(expected)
    assert sector in table.sectors() and theme in table.themes()
