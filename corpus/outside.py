"""Outside views: how each bundled case looks from outside, written as domain knowledge.

A new incident is described by its symptoms, in everyday words, in Japanese or English;
the report's cases are terse official Japanese about causes. For each bundled case,
``data/fsa2019_expansions.jsonl`` holds six short fictional texts written by Kizuki's
team (document expansion, the doc2query idea, written once at build time rather than
generated): what customers and staff would see (``*_symptom``), how an engineer or a
newspaper would report it (``*_report``) and the mechanism in general terms
(``*_mechanism``), in Japanese and English. They are indexed as extra views of the case,
never shown as the case's own text, and were written without reading any evaluation query.

They describe the bundled text only: a stored case that differs from its bundled version
(edited, or an imported case re-using the id) gets no outside views.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from kizuki.corpus.schema import Case

OUTSIDE_VIEWS_PATH = Path(__file__).resolve().parent / "data" / "fsa2019_expansions.jsonl"
#: The views each bundled case has, in a fixed order (language prefix, then kind).
VIEW_NAMES = ("ja_symptom", "ja_report", "ja_mechanism", "en_symptom", "en_report", "en_mechanism")


@lru_cache(maxsize=1)
def _bundled() -> Mapping[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    with OUTSIDE_VIEWS_PATH.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out[row["id"]] = tuple(row["views"][name] for name in VIEW_NAMES)
    return MappingProxyType(out)


def outside_views(cases: Iterable[Case]) -> dict[str, tuple[str, ...]]:
    """Case id → its outside views, for the cases that are exactly their bundled version."""
    from kizuki.corpus import seed_cases

    seed = {c.id: c for c in seed_cases()}
    bundled = _bundled()
    return {c.id: bundled[c.id] for c in cases if c.id in bundled and seed.get(c.id) == c}
