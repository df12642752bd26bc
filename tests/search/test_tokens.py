"""The compact token table: what the analyzer gave, back from arrays, files and merges."""

from __future__ import annotations

import numpy as np
from kizuki.corpus import seed_cases
from kizuki.search.index import FIELDS, _analyze_case
from kizuki.search.tokens import TokenTable, Vocabulary


def _analysed(analyzer, cases):
    return [_analyze_case(analyzer, c) for c in cases]


def test_tokens_round_trip_through_arrays_and_files(seed_analyzer, tmp_path):
    per_case = _analysed(seed_analyzer, seed_cases()[:5])
    table = TokenTable.build(FIELDS, per_case)
    assert len(table) == 5
    assert [table.tokens(i) for i in range(5)] == per_case
    table.save(tmp_path / "t")
    loaded = TokenTable.load(tmp_path / "t")
    assert isinstance(loaded._segments[0].terms, np.memmap)  # stays on disk
    assert [loaded.tokens(i) for i in range(5)] == per_case


def test_terms_follow_the_requested_field_order(seed_analyzer):
    per_case = _analysed(seed_analyzer, seed_cases()[:1])
    table = TokenTable.build(FIELDS, per_case)
    fields = ("causes", "title")
    expected = [t.term for f in fields for t in per_case[0].get(f, [])]
    assert table.terms(0, fields) == expected


def test_spans_only_for_the_asked_terms(seed_analyzer):
    case = seed_cases()[0]
    per_case = _analysed(seed_analyzer, [case])
    table = TokenTable.build(FIELDS, per_case)
    term = per_case[0]["event"][0].term
    spans = table.spans(0, [table.vocab.ids[term]])
    assert list(spans) == [term]
    start, end = spans[term]["event"][0]
    assert case.event[start:end]


def test_extended_and_subset_leave_the_original_alone(seed_analyzer):
    per_case = _analysed(seed_analyzer, seed_cases()[:4])
    table = TokenTable.build(FIELDS, per_case[:3])
    grown = table.extended(per_case[3:])
    assert len(table) == 3 and len(grown) == 4
    assert grown.tokens(3) == per_case[3]
    picked = grown.subset([3, 0])
    assert [picked.tokens(0), picked.tokens(1)] == [per_case[3], per_case[0]]


def test_merged_tables_map_onto_one_vocabulary(seed_analyzer):
    per_case = _analysed(seed_analyzer, seed_cases()[:6])
    parts = [TokenTable.build(FIELDS, per_case[:2]), TokenTable.build(FIELDS, per_case[2:])]
    assert parts[0].vocab is not parts[1].vocab
    merged = TokenTable.merged(FIELDS, parts)
    assert [merged.tokens(i) for i in range(6)] == per_case
    assert sorted(merged.vocab.terms) == sorted(set(merged.vocab.terms))


def test_vocabulary_ids_never_change():
    vocab = Vocabulary(["a", "b"])
    assert vocab.add("b") == 1 and vocab.add("c") == 2 and vocab.terms == ["a", "b", "c"]


def test_term_counts_match_counting_by_hand(seed_analyzer):
    per_case = _analysed(seed_analyzer, seed_cases()[:8])
    table = TokenTable.build(FIELDS, per_case[:5]).extended(per_case[5:])  # two segments
    fields = ("title", "event", "causes")
    docs = np.array([6, 0, 3])
    terms = [table.terms(0, fields)[0], table.terms(6, fields)[1], "≈no-such-term"]
    ids = np.array([table.vocab.add(t) for t in terms])
    lengths, counts = table.term_counts(docs, ids, fields)
    for row, d in enumerate(docs):
        words = table.terms(int(d), fields)
        assert lengths[row] == len(words)
        assert counts[row].tolist() == [words.count(t) for t in terms]
