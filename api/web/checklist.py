"""The review page's checklist: each countermeasure sentence printed once.

Several checklist items are often answered by the same past countermeasure (one sentence
of fsa2019-37 can serve "impact analysis", "vendor coordination" and "process" alike).
Printing the sentence, and the cause it answered, under every item made the page several
screens tall with the same text; an item that cites a sentence already shown names the
case and points back to the item that prints it. The exports (Markdown, CSV) stay whole:
each line there must stand alone in the meeting's minutes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kizuki.graph.navigate import MitigationCase
from kizuki.graph.review import ChecklistItem

#: Cited cases shown per item (the support count names them all).
EVIDENCE_PER_ITEM = 3


@dataclass(frozen=True)
class EvidenceRow:
    """One cited (case, countermeasure sentence); ``shown_in`` is the 1-based number of
    the earlier item that prints it in full, or 0 when this row prints it."""

    case: MitigationCase
    shown_in: int = 0


@dataclass(frozen=True)
class ItemView:
    number: int
    item: ChecklistItem
    rows: list[EvidenceRow]


def _distinct(cases: Iterable[MitigationCase]) -> list[MitigationCase]:
    """Each (case, countermeasure sentence) once, first occurrence kept."""
    seen: dict[tuple[str, str], MitigationCase] = {}
    for c in cases:
        seen.setdefault((c.case_id, c.countermeasure), c)
    return list(seen.values())


def checklist_view(
    items: Iterable[ChecklistItem], per_item: int = EVIDENCE_PER_ITEM
) -> list[ItemView]:
    """The items numbered from 1, each with its first ``per_item`` distinct cited cases;
    a sentence an earlier item printed is a back reference, not a second copy."""
    first: dict[tuple[str, str], int] = {}
    out = []
    for number, item in enumerate(items, start=1):
        rows = []
        for c in _distinct(item.cases)[:per_item]:
            key = (c.case_id, c.countermeasure)
            rows.append(EvidenceRow(c, first.get(key, 0)))
            first.setdefault(key, number)
        out.append(ItemView(number, item, rows))
    return out
