"""Recurring-root-cause tables, checked against counts recomputed from corpus + annotations."""

from __future__ import annotations

import pandas as pd
import pytest
from kizuki.graph.analytics import (
    case_cause_matrix,
    cause_cooccurrence,
    cause_table,
    coverage_gaps,
    recurring_by,
    recurring_causes,
)
from kizuki.graph.build import sector_node_id


@pytest.fixture(scope="module")
def cases_of(annotations):
    return annotations.concept_cases("cause")


def test_recurring_causes_counts_cases_sectors_and_themes(concept_graph, seed, cases_of):
    df = recurring_causes(concept_graph)
    assert isinstance(df, pd.DataFrame)
    assert set(df["cause_id"]) == set(cases_of)
    by_id = {c.id: c for c in seed}
    for row in df.itertuples():
        cases = sorted(cases_of[row.cause_id])
        assert row.case_ids == cases and row.n_cases == len(cases)
        sectors = {sector_node_id(s) for c in cases for s in by_id[c].sectors}
        themes = {by_id[c].theme.id for c in cases}
        assert row.n_sectors == len(sectors) and row.n_themes == len(themes)
    keys = list(zip(-df["n_cases"], -df["n_sectors"], -df["n_themes"], strict=True))
    assert keys == sorted(keys)


def test_group_level_counts_each_case_once(concept_graph, taxonomy, cases_of):
    df = recurring_causes(concept_graph, level="group").set_index("cause_id")
    for group in taxonomy.groups("cause"):
        expected = {c for leaf in taxonomy.children(group.id) for c in cases_of.get(leaf.id, [])}
        if expected:
            assert df.loc[group.id, "n_cases"] == len(expected)
    with pytest.raises(ValueError):
        recurring_causes(concept_graph, level="leaf")


def test_cooccurrence_lift(concept_graph, cases_of):
    df = cause_cooccurrence(concept_graph)
    n = len(case_cause_matrix(concept_graph))
    assert n == len({c for cases in cases_of.values() for c in cases})
    assert not df.empty
    for row in df.itertuples():
        assert row.cause_a < row.cause_b
        both = set(cases_of[row.cause_a]) & set(cases_of[row.cause_b])
        assert row.case_ids == sorted(both) and row.n_ab == len(both)
        assert row.lift == pytest.approx(len(both) * n / (row.n_a * row.n_b))
        assert 0 < row.jaccard <= 1
    pair = df[
        (df.cause_a == "cause.capacity_limit") & (df.cause_b == "cause.capacity_planning_gap")
    ]
    assert len(pair) == 1 and pair.iloc[0].lift > 1  # capacity overruns come with poor planning
    assert (cause_cooccurrence(concept_graph, min_count=2)["n_ab"] >= 2).all()


@pytest.mark.parametrize("by", ["sector", "theme"])
def test_cause_tables_add_up(concept_graph, seed, cases_of, by):
    table = cause_table(concept_graph, by)
    by_id = {c.id: c for c in seed}
    for cause_id, row in table.iterrows():
        per_case = [len(by_id[c].sectors) if by == "sector" else 1 for c in cases_of[cause_id]]
        assert row.sum() == sum(per_case)
    assert all(col.startswith(f"{by}.") for col in table.columns)
    long = recurring_by(concept_graph, by)
    assert long["n_cases"].sum() == table.to_numpy().sum()
    assert (long["share"] <= 1).all() and (long["share"] > 0).all()


def test_coverage_gaps_follow_the_addresses(concept_graph, annotations, cases_of):
    df = coverage_gaps(concept_graph).set_index("cause_id")
    support = annotations.mitigation_support()
    for cause_id, cases in cases_of.items():
        addressed = {c for (cm, cause), sup in support.items() if cause == cause_id for c in sup}
        row = df.loc[cause_id]
        assert row.n_cases == len(cases)
        assert row.n_addressed == len(set(cases) & addressed)
        assert row.unaddressed_case_ids == sorted(set(cases) - addressed)
        assert row.coverage == pytest.approx(row.n_addressed / row.n_cases)
    assert list(df["coverage"]) == sorted(df["coverage"])


def test_cause_trends_counts_each_edition_and_marks_recurring_and_rising(
    concept_graph, seed, cases_of
):
    """Seed cases given made-up editions: counts and shares per year are recomputed from
    the annotations; a cause is in every edition only when each year has a case of it."""
    from kizuki.graph.analytics import cause_trends

    years_of = {c.id: (2019, 2021, 2024)[k % 3] for k, c in enumerate(seed)}
    years, sizes, df = cause_trends(concept_graph, years_of)
    assert years == [2019, 2021, 2024] and sizes == [15, 15, 14]
    for row in df.itertuples():
        want = [sum(1 for c in cases_of[row.cause_id] if years_of[c] == y) for y in years]
        assert row.counts == want and row.n_cases == sum(want)
        assert row.shares == [round(n / s, 4) for n, s in zip(want, sizes, strict=True)]
        assert row.every_edition == all(want)
        if row.rising:
            assert row.slope > 0 and row.shares[-1] > row.shares[0]
    assert df["every_edition"].any() and not df["every_edition"].all()
    first = list(df["every_edition"])
    assert first == sorted(first, reverse=True)  # every edition first

    one_year = {c.id: 2019 for c in seed}
    years, sizes, df = cause_trends(concept_graph, one_year)
    assert years == [2019] and sizes == [44]
    assert not df["every_edition"].any() and not df["rising"].any()
