"""Cause signs: which root causes a fresh incident report points to, from what it observes.

A new incident is reported by its symptoms and early facts ("other banks on the same
provider are down too", "since last night's release the balances are wrong", "the campaign
started at 10:00"), rarely by its root cause. ``data/cause_signs.yaml`` holds, for every
leaf cause concept of the taxonomy, short sentences in Japanese and English describing how
that cause shows up in a first report, written from domain knowledge (not from the 44
cases' wording, and not from any evaluation query).

``CauseSigns`` indexes each sign as a small BM25 document over the search analyzer's terms
(synonym concepts included, so English and everyday Japanese meet the same signs) and, for
an incident's analysed terms, returns the concepts whose best sign it matches best. No
model runs: the incident's terms are those the search already analysed.

The causes found this way are a *feature* of the ranking (cases holding them, see
``graph.ranking``); measured under cross-validation on the validation queries they earn
their place (numbers in README, "Search quality").

The same file lists kinds of incident the system-failure corpus does not cover at all
(``out_of_scope``: cyber attacks, fraud, disasters, …) with their signs;
``CauseSigns.out_of_scope`` says how much more a report reads like one of those than like
any system-failure cause, a signal for the no-good-match model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from kizuki.corpus.yamlfile import load_yaml
from kizuki.graph.taxonomy import Taxonomy

SIGNS_PATH = Path(__file__).resolve().parent / "data" / "cause_signs.yaml"
#: Concepts kept per incident: the few it points to most clearly.
TOP_CONCEPTS = 3


@dataclass(frozen=True)
class SignMatch:
    """A cause concept the incident points to, and the sign it matched best."""

    concept: str
    score: float  # how far its best sign stands above the field (0..)
    sign: str
    terms: frozenset[str] = frozenset()  # the sign's analysed terms (to find the evidence)


#: Prefix of the out-of-scope kinds among the concepts (they are not taxonomy causes).
OUT_OF_SCOPE = "out_of_scope."


def load_signs(taxonomy: Taxonomy, path: str | Path = SIGNS_PATH) -> dict[str, list[str]]:
    """Concept id -> its signs (Japanese then English), checked against the taxonomy; the
    out-of-scope kinds come as ``out_of_scope.<kind>``."""
    data = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    signs = data.get("signs") or {}
    leaves = {c.id for c in taxonomy.leaves("cause")}
    unknown = set(signs) - leaves
    if unknown:
        raise ValueError(f"{path}: signs for unknown cause concepts {sorted(unknown)}")
    kinds = {f"{OUT_OF_SCOPE}{k}": v for k, v in (data.get("out_of_scope") or {}).items()}
    out = {}
    for concept, by_lang in {**signs, **kinds}.items():
        texts = [t for lang in ("ja", "en") for t in (by_lang or {}).get(lang) or []]
        if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise ValueError(f"{path}: {concept} has no signs, or an empty or non-text one")
        out[concept] = texts
    return out


class CauseSigns:
    """The signs as BM25 documents; ``match`` reads an incident's analysed terms."""

    def __init__(self, signs: Mapping[str, Sequence[str]], analyzer) -> None:
        from kizuki.search.lexical import LexicalIndex

        self.concepts = sorted(signs)
        self.texts: list[str] = []
        owners: list[int] = []
        for j, concept in enumerate(self.concepts):
            for text in signs[concept]:
                self.texts.append(text)
                owners.append(j)
        self._owners = np.array(owners, np.int64)
        self._outside = np.array([c.startswith(OUT_OF_SCOPE) for c in self.concepts])
        # Two BM25 collections, so that adding out-of-scope kinds leaves the causes' term
        # weights (and their matches) exactly as they were.
        terms = [analyzer.terms(t) for t in self.texts]
        self._terms = [frozenset(t) for t in terms]
        outside_row = self._outside[self._owners]
        self._rows = [np.flatnonzero(~outside_row), np.flatnonzero(outside_row)]
        self._indexes = [LexicalIndex([terms[i] for i in rows]) for rows in self._rows]

    @classmethod
    def load(cls, taxonomy: Taxonomy, analyzer, path: str | Path = SIGNS_PATH) -> CauseSigns:
        return cls(load_signs(taxonomy, path), analyzer)

    def _best(self, terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each sign's score and each concept's best sign score for these terms."""
        scores = np.zeros(len(self.texts))
        for rows, index in zip(self._rows, self._indexes, strict=True):
            if len(rows):
                scores[rows] = index.scores(list(terms))
        best = np.zeros(len(self.concepts))
        if len(scores):
            np.maximum.at(best, self._owners, scores)
        return scores, best

    def out_of_scope(self, terms: Sequence[str]) -> float:
        """How much more the report reads like an out-of-scope kind than like any cause:
        ``o / (o + c)`` of the best out-of-scope and best cause sign scores (0..1)."""
        _, best = self._best(terms)
        o = best[self._outside].max() if self._outside.any() else 0.0
        c = best[~self._outside].max() if (~self._outside).any() else 0.0
        return float(o / (o + c)) if o > 0 else 0.0

    def match(self, terms: Sequence[str], top: int = TOP_CONCEPTS) -> list[SignMatch]:
        """The ``top`` cause concepts whose best sign scores highest for these terms, each
        scored by its margin over the concept ranked ``2·top``-th (a concept barely above
        the rest says little), best first; none when nothing matches."""
        scores, best = self._best(terms)
        best[self._outside] = 0.0  # kinds outside the corpus are not causes
        if not len(scores) or best.max() <= 0:
            return []
        arg = np.full(len(self.concepts), -1)
        for row in np.argsort(scores):  # ascending: the best row per concept is written last
            arg[self._owners[row]] = row
        ranked = np.argsort(-best, kind="stable")
        floor = best[ranked[min(2 * top, len(ranked)) - 1]]
        out = []
        for j in ranked[:top]:
            margin = float(best[j] - floor)
            if margin > 0:
                row = int(arg[j])
                out.append(SignMatch(self.concepts[j], margin, self.texts[row], self._terms[row]))
        return out
