"""The one reading of a sector or theme filter, for ``POST /search``, ``GET /analytics/…``,
``GET /cases``, the web page and the CLI alike.

A filter that names nothing the corpus holds is a mistake (a typo, an English slug where a
label was meant), not a request for zero results: it is refused with the known values
listed (``InvalidInput``: 422 over HTTP, the page's error, one ``error:`` line in the CLI).
A sector may be named by its label (地域銀行), its label normalised as the graph's nodes
are (``corpus.schema.normalise_sector``: spaces, bracket width) or its node id
(``sector.regional_banks``); a theme by its id, its label or its node id (``theme.…``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kizuki.api.exceptions import InvalidInput
from kizuki.corpus.schema import Case, normalise_sector
from kizuki.graph.build import sector_node_id, theme_node_id

__all__ = [
    "case_facets",
    "resolve_sector",
    "resolve_sectors",
    "resolve_theme",
    "resolve_themes",
    "resolve_year",
    "resolve_years",
]

#: Known values listed in a refusal, at most (a store with many imported sectors).
MAX_LISTED = 40


def case_facets(cases: Iterable[Case]) -> tuple[list[str], list[tuple[str, str]]]:
    """The sector labels and (theme id, label) pairs of ``cases``, for a caller without a
    snapshot (the snapshot has them as ``sectors`` and ``themes``)."""
    sectors: dict[str, None] = {}
    themes: dict[str, str] = {}
    for case in cases:
        sectors.update(dict.fromkeys(case.sectors))
        if case.theme and case.theme.id not in themes:
            themes[case.theme.id] = case.theme.label
    return sorted(sectors), list(themes.items())


def _listed(values: Sequence[str]) -> str:
    shown = ", ".join(values[:MAX_LISTED])
    more = len(values) - MAX_LISTED
    return f"{shown} (and {more} more)" if more > 0 else shown or "(none)"


def resolve_sector(sectors: Sequence[str], value: str) -> str:
    """The stored label that ``value`` names (label, normalised label or ``sector.`` id)."""
    if value in sectors:
        return value
    norm = normalise_sector(value)
    for label in sectors:
        if normalise_sector(label) == norm or value == sector_node_id(label):
            return label
    known = _listed(sectors)
    raise InvalidInput(
        f"unknown sector {value!r}; known: {known}",
        params={"kind": "unknown_sector", "value": value, "known": known},
    )


def resolve_theme(themes: Sequence[tuple[str, str]], value: str) -> str:
    """The theme id that ``value`` names (id, label or ``theme.`` id)."""
    for theme_id, label in themes:
        if value in (theme_id, label, theme_node_id(theme_id)):
            return theme_id
    known = _listed([theme_id for theme_id, _ in themes])
    raise InvalidInput(
        f"unknown theme {value!r}; known: {known}",
        params={"kind": "unknown_theme", "value": value, "known": known},
    )


def resolve_sectors(sectors: Sequence[str], values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(resolve_sector(sectors, v) for v in values or ()))


def resolve_themes(
    themes: Sequence[tuple[str, str]], values: Iterable[str] | None
) -> tuple[str, ...]:
    return tuple(dict.fromkeys(resolve_theme(themes, v) for v in values or ()))


def resolve_year(years: Sequence[int], value: int) -> int:
    """A report edition's year, refused when no case comes from that edition."""
    if value in years:
        return value
    known = _listed([str(y) for y in years])
    raise InvalidInput(
        f"no case of the {value} edition; editions: {known}",
        params={"kind": "unknown_year", "value": value, "known": known},
    )


def resolve_years(years: Sequence[int], values: Iterable[int] | None) -> tuple[int, ...]:
    return tuple(dict.fromkeys(resolve_year(years, v) for v in values or ()))
