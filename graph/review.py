"""Review a planned change against past failures, before it happens.

A change plan is written in the language of causes (who does the work, how it is checked,
what is assumed), which is what the cases' causes record. ``review`` reads a plan the way a
change-review meeting would:

- **steps**: the plan split into its statements (sentences and bullet lines), each searched
  like an incident (the same ranking, one analysis and one embedding per step), keeping the
  past failures it resembles with the terms they share and the case's cause sentence;
- **similar failures**: the whole plan searched as one text (measured on the plan set: the
  whole plan ranks the graded cases better than a fusion of its steps, see README), each
  with the steps that also matched it;
- **risks**: the root-cause concepts the plan's statements point to (``graph.signs``), each
  with the statement it was read from and the cases that failed for that cause;
- **checklist**: the countermeasures institutions adopted against those causes
  (``mitigates`` edges), ranked by how many cases support them, phrased as an item to
  confirm before the change, each citing its cases and their sentences.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Sequence
from typing import Any

import networkx as nx
from kizuki.graph.build import HAS_CAUSE, case_causes
from kizuki.graph.navigate import MitigationCase, NodeRef, ref
from kizuki.graph.ranking import CauseAwareSearcher
from kizuki.graph.recommend import LikelyCause, recommend_countermeasures, sign_evidence
from kizuki.search.analysis import split_sentences
from pydantic import BaseModel

#: Statements of a plan that are reviewed one by one (the rest only count in the whole).
MAX_STEPS = 16
#: Past failures kept per statement.
STEP_MATCHES = 3
#: Risks (cause concepts) shown, most clearly pointed to first.
MAX_RISKS = 8


class StepMatch(BaseModel):
    case_id: str
    title: str
    score: float
    shared_terms: list[str]
    cause: str  # the case's first cause sentence: why it failed


class ReviewStep(BaseModel):
    index: int
    text: str
    matches: list[StepMatch]


class RiskCase(BaseModel):
    case_id: str
    title: str
    sentences: list[str]  # the case's cause sentences behind the risk


class Risk(BaseModel):
    concept: NodeRef
    score: float
    plan_sentence: str  # the plan's statement it was read from
    sign: str  # the observable sign it matched
    cases: list[RiskCase]


class ChecklistItem(BaseModel):
    countermeasure: NodeRef
    item: str  # phrased as something to confirm before the change
    score: float
    support_count: int  # cases that adopted it against these risks
    addresses: list[NodeRef]
    cases: list[MitigationCase]


class SimilarFailure(BaseModel):
    case_id: str
    title: str
    score: float
    matched_steps: list[int]
    causes: list[str]
    countermeasures: list[str]


class Review(BaseModel):
    plan: str
    match_strength: str
    steps: list[ReviewStep]
    risks: list[Risk]
    checklist: list[ChecklistItem]
    similar_failures: list[SimilarFailure]


def plan_steps(plan: str, limit: int = MAX_STEPS) -> list[str]:
    """The plan's statements: sentences, and lines of a bulleted or numbered list."""
    steps = []
    for line in plan.splitlines():
        line = line.strip().lstrip("-*・•●○◆■□0123456789.)）(（ ").strip()
        steps += split_sentences(line, min_chars=6)
    return steps[:limit]


def review(ranker: CauseAwareSearcher, plan: str, k: int = 10) -> Review:
    """The review of ``plan`` (see the module doc); ``ranker`` is the service's
    ``graph.ranking.CauseAwareSearcher``."""
    if not plan.strip():
        raise ValueError("the plan is empty")
    if k < 1:
        raise ValueError("k must be at least 1")
    G: nx.MultiDiGraph = ranker.graph
    whole, _ = ranker.analyse(plan, k=k)
    steps, risks_by_concept = [], {}
    for i, text in enumerate(plan_steps(plan), start=1):
        query = ranker.prepare(text)
        matches = ranker.signs.match(query.terms)
        response = ranker.searcher.rank(query, STEP_MATCHES, ranker.extras(query, matches))
        kept = [] if response.no_good_match else response.results
        steps.append(ReviewStep(index=i, text=text, matches=[_step_match(r) for r in kept]))
        for concept, evidence in sign_evidence(G, query, matches).items():
            best = risks_by_concept.get(concept)
            m = next(m for m in matches if m.concept == concept)
            if best is None or m.score > best[0]:
                risks_by_concept[concept] = (m.score, evidence[0].sentence, m.sign)
    top = max((s for s, _, _ in risks_by_concept.values()), default=1.0) or 1.0
    risks = sorted(
        (
            Risk(
                concept=ref(G, concept),
                score=round(score / top, 4),
                plan_sentence=sentence,
                sign=sign,
                cases=_risk_cases(G, concept),
            )
            for concept, (score, sentence, sign) in risks_by_concept.items()
        ),
        key=lambda r: (-r.score, r.concept.id),
    )[:MAX_RISKS]
    failures = [
        SimilarFailure(
            case_id=r.case_id,
            title=r.title,
            score=r.score,
            matched_steps=[s.index for s in steps if r.case_id in {m.case_id for m in s.matches}],
            causes=list(r.causes),
            countermeasures=list(r.countermeasures),
        )
        for r in whole.results
    ]
    return Review(
        plan=plan,
        match_strength=whole.match_strength,
        steps=steps,
        risks=risks,
        checklist=checklist(G, risks, [f.case_id for f in failures]),
        similar_failures=failures,
    )


def checklist(
    G: nx.MultiDiGraph, risks: Sequence[Risk], prefer_cases: Sequence[str] = (), limit: int = 12
) -> list[ChecklistItem]:
    """Countermeasures against the risks, most supported first, each with its evidence."""
    causes = [
        LikelyCause(
            concept=r.concept,
            score=r.score,
            text_score=r.score,
            neighbour_score=0.0,
            from_text=[],
            from_cases=[],
        )
        for r in risks
    ]
    items = []
    for rec in recommend_countermeasures(G, causes, prefer_cases=list(prefer_cases), limit=0):
        support = len({c.case_id for c in rec.cases})
        items.append(
            ChecklistItem(
                countermeasure=rec.concept,
                item=f"「{rec.concept.label_ja}」は計画に含まれているか",
                score=round(rec.score, 4),
                support_count=support,
                addresses=[a.cause for a in rec.addresses],
                cases=rec.cases,
            )
        )
    items.sort(key=lambda i: (-i.support_count, -i.score, i.countermeasure.id))
    return items[:limit]


#: Characters that Markdown would read as markup in running text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def _md(text: str) -> str:
    """Text as literal Markdown: HTML escaped (a plan may hold ``<script>``) and Markdown's
    own markup characters backslash-escaped, on one line."""
    flat = " ".join(text.split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def quote_cut(text: str, limit: int = 200) -> str:
    """At most ``limit`` characters of a text on one line, cut after a sentence end or a
    space where one is in reach, and marked 「…」 when something was left out."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[:limit]
    ends = [m.end() for m in re.finditer(r"[。．！？!?]\s*|\s", head)]
    cut = ends[-1] if ends and ends[-1] >= limit // 2 else limit
    return head[:cut].rstrip() + "…"


def _evidence(item: ChecklistItem, limit: int) -> list[MitigationCase]:
    """The item's first cases, each (case, countermeasure sentence) pair once."""
    seen: dict[tuple[str, str], MitigationCase] = {}
    for c in item.cases:
        seen.setdefault((c.case_id, c.countermeasure), c)
    return list(seen.values())[:limit]


def checklist_markdown(result: Review) -> str:
    """The checklist as Markdown, for the change-review meeting's minutes."""
    lines = ["# 変更レビュー チェックリスト", "", f"> {_md(quote_cut(result.plan))}", ""]
    for item in result.checklist:
        cases = ", ".join(dict.fromkeys(c.case_id for c in item.cases))
        lines.append(f"- [ ] {_md(item.item)}（{item.support_count} 件の事例: {_md(cases)}）")
        for c in _evidence(item, 2):
            lines.append(
                f"  - {_md(c.case_id)}: 対策「{_md(c.countermeasure)}」← 原因「{_md(c.cause)}」"
            )
    return "\n".join(lines) + "\n"


def checklist_csv(result: Review) -> str:
    """The checklist as CSV: item, countermeasure, support, causes, cases, evidence."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["item", "countermeasure", "support_count", "addresses", "cases", "evidence"])
    for item in result.checklist:
        writer.writerow(
            [
                item.item,
                item.countermeasure.id,
                item.support_count,
                " ".join(a.id for a in item.addresses),
                " ".join(dict.fromkeys(c.case_id for c in item.cases)),
                " | ".join(f"{c.case_id}: {c.countermeasure}" for c in _evidence(item, 3)),
            ]
        )
    return out.getvalue()


def _step_match(r: Any) -> StepMatch:
    return StepMatch(
        case_id=r.case_id,
        title=r.title,
        score=r.score,
        shared_terms=list(dict.fromkeys(t.term for t in r.shared_terms))[:8],
        cause=r.causes[0] if r.causes else "",
    )


def _risk_cases(G: nx.MultiDiGraph, concept: str, limit: int = 5) -> list[RiskCase]:
    out = []
    for case_id, _, key in G.in_edges(concept, keys=True):
        if key != HAS_CAUSE:
            continue
        sentences = list(case_causes(G, case_id).get(concept, {}).get("sentences", []))
        out.append(
            RiskCase(case_id=case_id, title=G.nodes[case_id]["label_ja"], sentences=sentences)
        )
    out.sort(key=lambda c: c.case_id)
    return out[:limit]
