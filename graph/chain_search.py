""" "Same way of failing": a search source that ranks cases by how alike their cause chains
are to the chain read out of the pasted text.

An incident whose recovery made things worse should find the cases whose recovery made
things worse, whatever set them off. The text is read as a chain with the reader imported
cases get (``graph.chain_extract``: clauses, cue words, the taxonomy's patterns), plus a few
English cues for the step types; each chain becomes a set of features (the step types it
has, its concepts, each concept with its step type, each pair of consecutive step types),
and a case scores ``Σ idf(f)`` over the features it shares with the query, ``idf(f) =
log(1 + N / n_f)`` over the cases' chains, so a common step (a failure, a customer impact)
says little and a rarer one (a recovery error, a missed detection) more. The searcher's
learned scorer weighs the source like any other (``graph.ranking``), and only where
cross-validation said it helps (README, "Same way of failing").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from kizuki.corpus.schema import Case
from kizuki.graph.chain_extract import ChainExtractor, ChainModel, pattern_tagger
from kizuki.graph.chains import ANNOTATION, Chain

__all__ = ["SOURCE", "ChainSimilarity", "chain_features"]

#: The name of the source among the searcher's features (``extra:chains``).
SOURCE = "chains"

#: English cues of the step types a first report names (the Japanese ones are the reader's).
_EN_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "recovery_error",
        re.compile(
            r"(recover\w*|restor\w*|roll(ed|ing)?[- ]?back|re-?run\w*|fix\w*|workaround)"
            r"[^.]{0,60}(wrong|error|mistake|fail\w*|worse|broke|missed)",
            re.I,
        ),
    ),
    (
        "missed_detection",
        re.compile(
            r"(unnoticed|not (been )?(noticed|detected|caught|spotted)|undetected|missed"
            r"|overlooked|nobody noticed|no alert|alert(s)? (did not|didn't) fire)",
            re.I,
        ),
    ),
    ("escalation", re.compile(r"(spread|cascad\w*|escalat\w*|prolonged|snowball\w*)", re.I)),
)


def chain_features(chain: Chain) -> set[str]:
    """The chain as features: step types, concepts, typed concepts, consecutive types."""
    out: set[str] = set()
    types = [s.type for s in chain.steps]
    for step in chain.steps:
        out.add(f"t:{step.type}")
        if step.concept:
            out.add(f"c:{step.concept}")
            out.add(f"tc:{step.type}|{step.concept}")
    for a, b in zip(types, types[1:], strict=False):
        if a != b:
            out.add(f"tt:{a}>{b}")
    return out


class ChainSimilarity:
    """Case id → chain similarity to a text, over the chains a graph holds."""

    def __init__(self, chains: Mapping[str, Chain], extractor: Any) -> None:
        self._features = {cid: chain_features(ch) for cid, ch in chains.items()}
        df = Counter(f for feats in self._features.values() for f in feats)
        n = len(self._features) or 1
        self._idf = {f: math.log(1 + n / c) for f, c in df.items()}
        reviewed = [c for c in chains.values() if c.source == ANNOTATION]
        self._reader = ChainExtractor(pattern_tagger(extractor), ChainModel.fit(reviewed))

    @classmethod
    def of_graph(cls, chains: Iterable[tuple[str, dict]], extractor: Any) -> ChainSimilarity:
        """From ``G.graph["chains"]`` items (``graph.chain_graph``)."""
        return cls({cid: Chain.from_dict(d) for cid, d in chains}, extractor)

    def query_features(self, text: str) -> set[str]:
        """The features of the chain read out of a pasted text."""
        case = Case.model_construct(
            id="query", title="", event=text, causes=[text], countermeasures=[], sectors=[]
        )
        feats = chain_features(self._reader.extract(case))
        feats |= {f"t:{kind}" for kind, cue in _EN_CUES if cue.search(text)}
        return feats

    def ranking(self, text: str) -> dict[str, float]:
        """Cases sharing at least one chain feature with the text, by summed idf."""
        wanted = self.query_features(text)
        out: dict[str, float] = {}
        for case_id, feats in self._features.items():
            score = sum(self._idf[f] for f in wanted & feats)
            if score > 0:
                out[case_id] = score
        return out
