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


def test_years_filter_stored_and_added_cases_and_old_snapshots(tmp_path):
    """The edition's year is a facet like sectors: saved with the snapshot, read back
    without parsing a case, and computed once from the cases for a snapshot saved before
    years were a facet."""
    import json

    from kizuki.corpus.schema import Source

    cases = seed_cases()
    later = [
        c.model_copy(update={"id": f"later-{k}", "source": Source(report="r", year=2024)})
        for k, c in enumerate(cases[:3])
    ]
    CaseTable(cases).save(tmp_path)
    table = CaseTable.load(tmp_path).extended(later)
    assert table.years() == [2019, 2024]
    assert table.mask(None, None, [2024]).tolist() == [False] * 44 + [True] * 3
    assert table.mask(None, None, [2019, 2024]).all()
    assert not table.mask(None, None, [2020]).any()
    facets = json.loads((tmp_path / "cases.facets.json").read_text(encoding="utf-8"))
    del facets["years"]
    (tmp_path / "cases.facets.json").write_text(json.dumps(facets), encoding="utf-8")
    assert CaseTable.load(tmp_path).mask(None, None, [2019]).all()
