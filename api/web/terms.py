"""The shared terms a result shows as chips and highlights.

The search matches on every content word it shares with a case, and it reports each match
(the word as written, and again when a synonym joins the same words). A reader wants the
words that explain the match: each once, and none that every incident report contains.
The API keeps the whole list (its scores use it); only the page trims it, here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kizuki.api.runtime.results import SharedTerm

#: Words (Sudachi's normalized form) that nearly every FSA case text contains: "an event
#: occurred", "used", "carried out", "the relevant"... They match every case alike, so a
#: chip or a highlight on them says nothing about why this case is similar. Only words a
#: reader would call generic are listed; domain words (障害, システム, テスト) stay.
STOP_WORDS = frozenset(
    {
        "事象",
        "発生",
        "利用",
        "行う",
        "実施",
        "する",
        "ある",
        "いる",
        "なる",
        "できる",
        "れる",
        "られる",
        "こと",
        "もの",
        "ため",
        "よう",
        "場合",
        "際",
        "等",
        "一部",
        "当該",
        "今回",
        "対象",
        "その他",
    }
)


def is_telling(term: SharedTerm) -> bool:
    """Whether ``term`` says something about the match: not a stop word, and not a
    one-character fragment (a single kana or kanji cut out of a longer word)."""
    if len(term.term.strip()) <= 1 or len(term.normalized.strip()) <= 1:
        return False
    return term.normalized not in STOP_WORDS and term.term not in STOP_WORDS


@dataclass
class TermChip:
    """One shared term as the page shows it: the query's word once, and the synonyms
    through which it also matched as a detail (the chip's title)."""

    term: str
    normalized: str
    exact: bool = False
    synonyms: list[str] = field(default_factory=list)

    @property
    def via_synonym(self) -> bool:
        """Matched only through a synonym (the chip is coloured apart)."""
        return not self.exact

    @property
    def detail_synonyms(self) -> list[str]:
        """The synonyms worth naming: not the chip's own word in another case or width."""
        same = {self.term.casefold(), self.normalized.casefold()}
        return [s for s in self.synonyms if s.casefold() not in same] if self.exact else []


def telling_terms(terms: Iterable[SharedTerm]) -> list[SharedTerm]:
    """``terms`` without stop words and fragments, in their order."""
    return [t for t in terms if is_telling(t)]


def term_chips(terms: Iterable[SharedTerm], limit: int = 12) -> list[TermChip]:
    """The chips for ``terms``: one per word as written in the query (case-insensitive),
    stop words and fragments left out, at most ``limit``, in the order of first mention."""
    chips: dict[str, TermChip] = {}
    for t in telling_terms(terms):
        key = t.term.casefold()
        chip = chips.get(key)
        if chip is None:
            if len(chips) >= limit:
                continue
            chip = chips[key] = TermChip(term=t.term, normalized=t.normalized)
        if t.via_synonym:
            if t.normalized not in chip.synonyms:
                chip.synonyms.append(t.normalized)
        else:
            chip.exact = True
            chip.normalized = t.normalized
    return list(chips.values())
