"""The bundled cases' mechanism facets: reviewed data beside the case (``data/fsa2019_facets.jsonl``).

For each of the 44 cases, the values of each facet (trigger, failed safeguard, affected
service, how it showed, recovery problem; the vocabulary is ``search/data/facets.yaml``),
each with the quote of the case's own text that supports it. Chosen by hand by the Kizuki
team and checked against the reviewed cause annotations; ``tests/corpus/test_mechanisms.py``
checks every quote is the case's text. Like the outside views, they describe the bundled
text only: a stored case that differs from its bundled version gets none (its facets are
read from its text like any imported case's).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from kizuki.corpus.schema import Case

FACETS_PATH = Path(__file__).resolve().parent / "data" / "fsa2019_facets.jsonl"


@lru_cache(maxsize=1)
def bundled_facets() -> Mapping[str, Mapping[str, tuple[dict, ...]]]:
    """Case id → facet → its reviewed values, each ``{value, field, evidence}``."""
    out = {}
    with FACETS_PATH.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out[row["id"]] = MappingProxyType(
                    {facet: tuple(items) for facet, items in row["facets"].items()}
                )
    return MappingProxyType(out)


def reviewed_facets(cases: Iterable[Case]) -> dict[str, dict[str, list[str]]]:
    """Case id → facet → values, for the cases that are exactly their bundled version."""
    from kizuki.corpus import seed_cases

    seed = {c.id: c for c in seed_cases()}
    bundled = bundled_facets()
    return {
        c.id: {f: [item["value"] for item in items] for f, items in bundled[c.id].items()}
        for c in cases
        if c.id in bundled and seed.get(c.id) == c
    }
