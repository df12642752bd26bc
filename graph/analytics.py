"""Recurring root causes: plain tables (pandas DataFrames) computed from the graph.

Every function takes the graph from ``graph.build.build_graph`` and a ``level``:
``"concept"`` counts the concepts cases were tagged with, ``"group"`` rolls them up to their
top-level group (a case with two concepts of one group counts once for the group).
A case with several sectors counts once in each sector. ``cause_trends`` follows the
causes across the report's editions (each case's year comes from its source).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
from kizuki.graph.build import (
    CAUSE,
    HAS_CAUSE,
    IN_SECTOR,
    IN_THEME,
    MITIGATES,
    edges_of_type,
    group_of,
    nodes_of_type,
)

Level = Literal["concept", "group"]
By = Literal["sector", "theme"]


def _level_map(G: nx.MultiDiGraph, level: Level) -> dict[str, str]:
    if level not in ("concept", "group"):
        raise ValueError(f"level must be 'concept' or 'group', not {level!r}")
    causes = nodes_of_type(G, CAUSE)
    return {c: (group_of(G, c) if level == "group" else c) for c in causes}


def _named(G: nx.MultiDiGraph, cause_id: str) -> dict[str, str]:
    """A cause's id and its two labels, the columns every table of causes starts with."""
    return {
        "cause_id": cause_id,
        "label_ja": G.nodes[cause_id]["label_ja"],
        "label_en": G.nodes[cause_id]["label_en"],
    }


def case_causes_long(G: nx.MultiDiGraph, level: Level = "concept") -> pd.DataFrame:
    """One row per (case, cause) at the chosen level: the base of every other table."""
    to_level = _level_map(G, level)
    rows = {(u, to_level[v]) for u, v, _ in edges_of_type(G, HAS_CAUSE)}
    df = pd.DataFrame(sorted(rows), columns=["case_id", "cause_id"])
    return df


def _case_attr(G: nx.MultiDiGraph, etype: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u, v, _ in edges_of_type(G, etype):
        out.setdefault(u, []).append(v)
    return out


def case_cause_matrix(G: nx.MultiDiGraph, level: Level = "concept") -> pd.DataFrame:
    """Cases × causes, 1 where the case has the cause (cases without a cause are left out)."""
    long = case_causes_long(G, level)
    if long.empty:
        return pd.DataFrame()
    return pd.crosstab(long["case_id"], long["cause_id"]).clip(upper=1)


def recurring_causes(G: nx.MultiDiGraph, level: Level = "concept") -> pd.DataFrame:
    """Causes ranked by how many cases, sectors and themes they recur in."""
    long = case_causes_long(G, level)
    sectors, themes = _case_attr(G, IN_SECTOR), _case_attr(G, IN_THEME)
    n_total = long["case_id"].nunique() if not long.empty else 0
    rows = []
    for cause_id, part in long.groupby("cause_id"):
        cases = sorted(part["case_id"])
        cause_sectors = sorted({s for c in cases for s in sectors.get(c, [])})
        cause_themes = sorted({t for c in cases for t in themes.get(c, [])})
        rows.append(
            {
                **_named(G, cause_id),
                "group_id": group_of(G, cause_id),
                "n_cases": len(cases),
                "n_sectors": len(cause_sectors),
                "n_themes": len(cause_themes),
                "share_of_cases": len(cases) / n_total if n_total else 0.0,
                "case_ids": cases,
                "sectors": cause_sectors,
                "themes": cause_themes,
            }
        )
    columns = [
        "cause_id",
        "label_ja",
        "label_en",
        "group_id",
        "n_cases",
        "n_sectors",
        "n_themes",
        "share_of_cases",
        "case_ids",
        "sectors",
        "themes",
    ]
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values(
        ["n_cases", "n_sectors", "n_themes", "cause_id"], ascending=[False, False, False, True]
    ).reset_index(drop=True)


def cause_cooccurrence(
    G: nx.MultiDiGraph, level: Level = "concept", min_count: int = 1
) -> pd.DataFrame:
    """Pairs of causes found in the same case, with lift and Jaccard.

    ``lift = P(a, b) / (P(a) P(b)) = n_ab · N / (n_a · n_b)`` over the N cases that have
    at least one cause: above 1 the pair recurs together more often than chance would
    give. With 44 cases a pair seen once can have a large lift: use ``min_count``.
    """
    matrix = case_cause_matrix(G, level)
    columns = [
        "cause_a",
        "cause_b",
        "label_ja_a",
        "label_ja_b",
        "n_a",
        "n_b",
        "n_ab",
        "lift",
        "jaccard",
        "case_ids",
    ]
    if matrix.empty:
        return pd.DataFrame(columns=columns)
    n = len(matrix)
    counts = matrix.sum()
    rows = []
    for a, b in combinations(sorted(matrix.columns), 2):
        both = matrix.index[(matrix[a] > 0) & (matrix[b] > 0)]
        n_ab = len(both)
        if n_ab < max(1, min_count):
            continue
        n_a, n_b = int(counts[a]), int(counts[b])
        rows.append(
            {
                "cause_a": a,
                "cause_b": b,
                "label_ja_a": G.nodes[a]["label_ja"],
                "label_ja_b": G.nodes[b]["label_ja"],
                "n_a": n_a,
                "n_b": n_b,
                "n_ab": n_ab,
                "lift": n_ab * n / (n_a * n_b),
                "jaccard": n_ab / (n_a + n_b - n_ab),
                "case_ids": sorted(both),
            }
        )
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values(
        ["n_ab", "lift", "cause_a", "cause_b"], ascending=[False, False, True, True]
    ).reset_index(drop=True)


def cause_table(G: nx.MultiDiGraph, by: By = "sector", level: Level = "concept") -> pd.DataFrame:
    """Causes (rows) × sectors or themes (columns): the number of cases.

    Row and column labels are node ids.
    """
    if by not in ("sector", "theme"):
        raise ValueError(f"by must be 'sector' or 'theme', not {by!r}")
    long = case_causes_long(G, level)
    attr = _case_attr(G, IN_SECTOR if by == "sector" else IN_THEME)
    pairs = [
        (cause, value)
        for case, cause in long.itertuples(index=False)
        for value in attr.get(case, [])
    ]
    df = pd.DataFrame(pairs, columns=["cause_id", by])
    table = pd.crosstab(df["cause_id"], df[by]) if not df.empty else pd.DataFrame()
    if table.empty:
        return table
    order = table.sum(axis=1).sort_values(ascending=False, kind="stable").index
    return table.loc[order]


def recurring_by(G: nx.MultiDiGraph, by: By = "sector", level: Level = "concept") -> pd.DataFrame:
    """Long form of ``cause_table``: per sector/theme, its causes ranked by case count.

    ``share`` is the cause's cases / all cases of that sector or theme.
    """
    table = cause_table(G, by, level)
    attr = _case_attr(G, IN_SECTOR if by == "sector" else IN_THEME)
    sizes: dict[str, int] = {}
    for values in attr.values():
        for value in values:
            sizes[value] = sizes.get(value, 0) + 1
    rows = []
    if not table.empty:
        for value in table.columns:
            for cause_id, count in table[value].items():
                if count > 0:
                    rows.append(
                        {
                            by: value,
                            f"{by}_label_ja": G.nodes[value]["label_ja"],
                            **_named(G, cause_id),
                            "n_cases": int(count),
                            f"{by}_cases": sizes.get(value, 0),
                            "share": count / sizes[value] if sizes.get(value) else 0.0,
                        }
                    )
    columns = [
        by,
        f"{by}_label_ja",
        "cause_id",
        "label_ja",
        "label_en",
        "n_cases",
        f"{by}_cases",
        "share",
    ]
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values([by, "n_cases", "cause_id"], ascending=[True, False, True]).reset_index(
        drop=True
    )


def coverage_gaps(G: nx.MultiDiGraph, level: Level = "concept") -> pd.DataFrame:
    """How often a cause's cases record a countermeasure that addresses it.

    A case counts as *addressed* for a cause when it is in the support of some
    ``mitigates`` edge into that cause (or, at group level, into any cause of the group).
    Sorted worst first: low coverage on many cases is where the analyst should look.
    """
    to_level = _level_map(G, level)
    addressed: dict[str, set[str]] = {}
    for _, cause, d in edges_of_type(G, MITIGATES):
        addressed.setdefault(to_level[cause], set()).update(d["support"])
    long = case_causes_long(G, level)
    rows = []
    for cause_id, part in long.groupby("cause_id"):
        cases = set(part["case_id"])
        done = cases & addressed.get(cause_id, set())
        rows.append(
            {
                **_named(G, cause_id),
                "n_cases": len(cases),
                "n_addressed": len(done),
                "coverage": len(done) / len(cases),
                "unaddressed_case_ids": sorted(cases - done),
            }
        )
    columns = [
        "cause_id",
        "label_ja",
        "label_en",
        "n_cases",
        "n_addressed",
        "coverage",
        "unaddressed_case_ids",
    ]
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values(
        ["coverage", "n_cases", "cause_id"], ascending=[True, False, True]
    ).reset_index(drop=True)


def cause_trends(
    G: nx.MultiDiGraph, case_years: Mapping[str, int], level: Level = "concept"
) -> tuple[list[int], list[int], pd.DataFrame]:
    """Causes by the report edition their cases come from: which recur in every edition,
    which are rising.

    ``case_years``: the edition's year of each case to count (cases without a year are
    left out; the denominators are these cases, with or without a cause). Returns the
    years, the number of cases of each, and one row per cause: its cases per year
    (``counts``) and their share of that year's cases (``shares``, so editions of
    different sizes compare), ``n_editions`` it appears in, ``every_edition`` (in each of
    two or more editions), ``slope`` (least-squares change of the share per year) and
    ``rising`` (a positive slope and a larger share in the latest edition than the first).
    Sorted: every edition first, then by cases.
    """
    years = sorted(set(case_years.values()))
    sizes = [sum(1 for y in case_years.values() if y == year) for year in years]
    position = {year: k for k, year in enumerate(years)}
    long = case_causes_long(G, level)
    long = long[long["case_id"].isin(case_years.keys())]
    rows = []
    for cause_id, part in long.groupby("cause_id"):
        counts = [0] * len(years)
        for case_id in set(part["case_id"]):
            counts[position[case_years[case_id]]] += 1
        shares = [n / size if size else 0.0 for n, size in zip(counts, sizes, strict=True)]
        slope = float(np.polyfit(years, shares, 1)[0]) if len(years) >= 2 else 0.0
        present = sum(1 for n in counts if n)
        rows.append(
            {
                **_named(G, cause_id),
                "group_id": group_of(G, cause_id),
                "n_cases": sum(counts),
                "counts": counts,
                "shares": [round(s, 4) for s in shares],
                "n_editions": present,
                "every_edition": len(years) >= 2 and present == len(years),
                "slope": round(slope, 6),
                "rising": len(years) >= 2 and slope > 0 and shares[-1] > shares[0],
            }
        )
    columns = [
        "cause_id",
        "label_ja",
        "label_en",
        "group_id",
        "n_cases",
        "counts",
        "shares",
        "n_editions",
        "every_edition",
        "slope",
        "rising",
    ]
    df = pd.DataFrame(rows, columns=columns)
    if not df.empty:
        df = df.sort_values(
            ["every_edition", "n_cases", "cause_id"], ascending=[False, False, True]
        ).reset_index(drop=True)
    return years, sizes, df
