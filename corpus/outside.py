"""Outside views: how each bundled case looks from outside, written as domain knowledge.

A new incident is described by its symptoms, in everyday words, in Japanese or English;
the report's cases are terse official Japanese about causes. For each bundled case,
``data/fsa2019_expansions.jsonl`` holds six short fictional texts written by Kizuki's
team (document expansion, the doc2query idea, written once at build time rather than
generated): what customers and staff would see (``*_symptom``), how an engineer or a
newspaper would report it (``*_report``) and the mechanism in general terms
(``*_mechanism``), in Japanese and English. They are indexed as extra views of the case,
never shown as the case's own text, and were written without reading any evaluation query.

``data/fsa2019_views.jsonl`` adds 24 more per case in more registers (terse operator
tickets, customer complaints relayed by the call centre, help-desk logs, status-page notices,
engineers' first chat messages, press items, managers' first reports, the mechanism in
general terms), in Japanese and English, in an order that covers the registers evenly: the
first ``n`` views of a case are as varied as ``n`` views can be. Twelve more per case follow
them (``n`` 25-36), appended so that the first 30 stay what they were: six in Japanese
registers the file had few of (customers' posts, branch and partner calls, on-call notes,
managers' and regulator-style first reports), then six in English (status-page notices,
customer complaints, regulator-style notifications, help-desk logs, wire reports, tickets),
which were measured to lower the English figures and so come last. Every view names its
author (the team, without reading any evaluation query). How many are indexed is a setting
(``Settings.outside_views``), chosen by measurement (README, "views per case").

They describe the bundled text only: a stored case that differs from its bundled version
(edited, or an imported case re-using the id) gets no outside views.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from kizuki.corpus.schema import Case

DATA = Path(__file__).resolve().parent / "data"
OUTSIDE_VIEWS_PATH = DATA / "fsa2019_expansions.jsonl"
MORE_VIEWS_PATH = DATA / "fsa2019_views.jsonl"
#: The first six views of each bundled case, in a fixed order (language prefix, then kind).
VIEW_NAMES = ("ja_symptom", "ja_report", "ja_mechanism", "en_symptom", "en_report", "en_mechanism")


@lru_cache(maxsize=1)
def _bundled() -> Mapping[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    with OUTSIDE_VIEWS_PATH.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out[row["id"]] = tuple(row["views"][name] for name in VIEW_NAMES)
    with MORE_VIEWS_PATH.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            ordered = sorted(row["views"], key=lambda v: v["n"])
            out[row["id"]] = out.get(row["id"], ()) + tuple(v["text"] for v in ordered)
    return MappingProxyType(out)


def views_per_case() -> int:
    """How many outside views each bundled case has (the most a setting can ask for)."""
    return max((len(v) for v in _bundled().values()), default=0)


def outside_views(cases: Iterable[Case], per_case: int | None = None) -> dict[str, tuple[str, ...]]:
    """Case id → its first ``per_case`` outside views (all when None), for the cases that
    are exactly their bundled version."""
    from kizuki.corpus import seed_cases

    seed = {c.id: c for c in seed_cases()}
    bundled = _bundled()
    return {
        c.id: bundled[c.id][:per_case]
        for c in cases
        if c.id in bundled and seed.get(c.id) == c and (per_case is None or per_case > 0)
    }


ENGLISH_PATH = DATA / "fsa2019_en.jsonl"


@dataclass(frozen=True)
class EnglishCase:
    """The Kizuki team's English translation of a bundled case, sentence for sentence:
    ``causes[i]`` and ``countermeasures[i]`` translate the case's own ``i``-th sentence."""

    title: str
    event: str
    causes: tuple[str, ...]
    countermeasures: tuple[str, ...]


@lru_cache(maxsize=1)
def _english_cases() -> Mapping[str, EnglishCase]:
    out: dict[str, EnglishCase] = {}
    with ENGLISH_PATH.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out[row["id"]] = EnglishCase(
                    row["title"], row["event"], tuple(row["causes"]), tuple(row["countermeasures"])
                )
    return MappingProxyType(out)


@lru_cache(maxsize=1)
def _english() -> Mapping[str, str]:
    return MappingProxyType(
        {
            case_id: "\n".join([e.title, e.event, *e.causes])
            for case_id, e in _english_cases().items()
        }
    )


def english_case(case: Case) -> EnglishCase | None:
    """The English translation of ``case``, when it is exactly its bundled version (an
    edited case, or an imported one re-using the id, would be mistranslated: None)."""
    from kizuki.corpus import seed_cases

    english = _english_cases().get(case.id)
    if english is None:
        return None
    seed = {c.id: c for c in seed_cases()}
    return english if seed.get(case.id) == case else None


def english_rendering(cases: Iterable[Case]) -> dict[str, str]:
    """Case id → the English translation of its title, event and causes
    (``data/fsa2019_en.jsonl``), for the cases that are exactly their bundled version."""
    from kizuki.corpus import seed_cases

    seed = {c.id: c for c in seed_cases()}
    english = _english()
    return {c.id: english[c.id] for c in cases if c.id in english and seed.get(c.id) == c}
