"""Reading a cause chain out of a case's text, for cases nobody wrote a chain for.

The text is cut into clauses (sentence ends, and cue words that start a new step:
その後・さらに・また・併せて・復旧時に…). Each clause of a cause sentence becomes one
step per cause concept the concept extractor finds in it; a clause of the event becomes a
step without a concept when a cue says what it is (障害, 顧客影響…). A step's type comes
from cue patterns first (看過 → missed detection, 復旧…誤 → recovery error, 拡大 →
escalation), then from the type the concept takes most often in the reviewed chains.
Steps are ordered by the usual position of their type in the reviewed chains, then by
where they are in the text.

What the rules and tables were fitted on is the reviewed chains of the bundled cases;
``graph.chain_eval`` measures them leave-one-case-out (the tables refitted without the
held-out case; the cue patterns were written reading these cases, so that part is
in-sample).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kizuki.corpus.schema import Case
from kizuki.graph.chains import EXTRACTION, STEP_TYPES, Chain, ChainStep

#: Where a clause ends: a sentence end, or just before a cue that starts a new step.
_CUT = re.compile(
    r"(?<=[。．])|(?<=、)(?=また|さらに|更に|その後|併せて|加えて|なお|復旧)"
    r"|(?<=(?:ず|り|め|て|し|が)、)|(?<=ほか、)|(?<=により、)|(?=その後)"
)
#: Cue patterns that decide a step's type whatever its concept (first match wins).
CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("recovery_error", re.compile(r"復旧.{0,20}(誤|ミス|不備|失敗|漏れ)|再実行|切り戻|再リリース")),
    (
        "missed_detection",
        re.compile(r"看過|見逃|検知(でき|され)?(ず|なかっ)|気付(か|け)|発見(でき|が遅)"),
    ),
    ("escalation", re.compile(r"拡大|波及|長期化|相当な(日数|時間)|想定以上の時間|二次")),
)
#: Event clauses: what the event says happened (impact before failure: a clause that says
#: both is what customers saw).
EVENT_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("recovery_error", CUES[0][1]),
    ("escalation", CUES[2][1]),
    (
        "customer_impact",
        re.compile(
            r"(でき|行え|利用でき)な|不可|遅延|顧客|取引.{0,8}(停止|中断)|影響|誤って.{0,10}(送|表示)"
        ),
    ),
    ("failure", re.compile(r"異常終了|障害|エラー|ダウン|停止|不具合|不整合|二重|誤っ")),
    ("trigger", re.compile(r"作業|変更|更新|リリース|移行|増加|集中|により|起因")),
)


@dataclass
class ChainModel:
    """What the reviewed chains teach: the usual type of each concept, and the usual
    position of each type (0 = first, 1 = last)."""

    concept_types: dict[str, str] = field(default_factory=dict)
    type_position: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(cls, chains: Iterable[Chain]) -> ChainModel:
        by_concept: dict[str, Counter[str]] = defaultdict(Counter)
        positions: dict[str, list[float]] = defaultdict(list)
        for chain in chains:
            n = len(chain.steps)
            for i, step in enumerate(chain.steps):
                if step.concept:
                    by_concept[step.concept][step.type] += 1
                positions[step.type].append(i / max(1, n - 1))
        rank = {t: i / (len(STEP_TYPES) - 1) for i, t in enumerate(STEP_TYPES)}
        return cls(
            # ties go to the earlier type of the vocabulary
            {
                c: min(counts, key=lambda t: (-counts[t], STEP_TYPES.index(t)))
                for c, counts in by_concept.items()
            },
            {
                t: (sum(positions[t]) / len(positions[t])) if positions[t] else rank[t]
                for t in STEP_TYPES
            },
        )


def clauses(text: str) -> list[tuple[int, str]]:
    """(offset, clause) of a text, each clause an exact substring (stripped of 、 and
    spaces at its ends)."""
    out: list[tuple[int, str]] = []
    start = 0
    bounds = sorted({m.start() for m in _CUT.finditer(text)} | {len(text)})
    for end in bounds:
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip("、。 　○・"))
        core = piece.strip("、。 　○・")
        if len(core) >= 4:
            out.append((start + lead, core))
        start = end
    return out


def _cue_type(text: str, cues: tuple[tuple[str, re.Pattern[str]], ...]) -> str | None:
    for kind, pattern in cues:
        if pattern.search(text):
            return kind
    return None


class ChainExtractor:
    """Chains from case text with a concept extractor (``graph.extract.ConceptExtractor``
    or anything with its ``tag(sentence, kind)``) and a ``ChainModel``."""

    def __init__(self, extractor: Any, model: ChainModel, min_confidence: float = 0.0) -> None:
        self.extractor = extractor
        self.model = model
        self.min_confidence = min_confidence

    def extract(self, case: Case) -> Chain:
        """The case's chain (possibly with fewer than 2 steps for a terse case)."""
        found: list[tuple[float, int, ChainStep]] = []
        for i, sentence in enumerate(case.causes):
            for offset, clause in clauses(sentence):
                for step in self._cause_steps(clause, f"causes[{i}]"):
                    found.append(
                        (self.model.type_position[step.type], 1000 * (i + 1) + offset, step)
                    )
        for offset, clause in clauses(case.event):
            kind = _cue_type(clause, EVENT_CUES)
            if kind is not None:
                step = ChainStep(kind, None, "event", clause)
                found.append((self.model.type_position[kind], offset, step))
        found.sort(key=lambda t: (t[0], t[1]))
        steps: list[ChainStep] = []
        seen: set[tuple[str, str | None]] = set()
        for _, _, step in found:
            key = (step.type, step.concept) if step.concept is None else ("", step.concept)
            if key in seen:
                continue  # a concept is one step; one impact / failure step from the event
            seen.add(key)
            steps.append(step)
        return Chain(case.id, tuple(steps), EXTRACTION)

    def _cause_steps(self, clause: str, field_name: str) -> list[ChainStep]:
        tags = [
            t for t in self.extractor.tag(clause, "cause") if t.confidence >= self.min_confidence
        ]
        cue = _cue_type(clause, CUES)
        out = []
        for tag in tags:
            kind = cue or self.model.concept_types.get(tag.concept_id, "latent_condition")
            out.append(ChainStep(kind, tag.concept_id, field_name, clause))
        return out


def pattern_tagger(extractor: Any) -> Any:
    """The taxonomy's patterns alone, sharing ``extractor``'s analyzer: what reads chains
    for imported cases (cheap: nothing is embedded per clause) and what is measured."""
    from kizuki.graph.extract import ConceptExtractor

    return ConceptExtractor(
        extractor.taxonomy,
        [],
        use_examples=False,
        use_definitions=False,
        _features=extractor._features,
    )


def chains_for(
    cases: Iterable[Case],
    reviewed: Mapping[str, Chain],
    extractor: Any,
    model: ChainModel | None = None,
) -> dict[str, Chain]:
    """Every case's chain: the reviewed one while the case's text still holds its quotes,
    else one read from the text (when ``extractor`` is given)."""
    from kizuki.graph.chains import chain_matches

    model = model or ChainModel.fit(reviewed.values())
    reader = ChainExtractor(extractor, model) if extractor is not None else None
    out: dict[str, Chain] = {}
    for case in cases:
        chain = reviewed.get(case.id)
        if chain is not None and chain_matches(case, chain):
            out[case.id] = chain
        elif reader is not None:
            out[case.id] = reader.extract(case)
    return out
