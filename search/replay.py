"""Replaying judgements in time order: what the analysts' feedback does to the ranking.

The honest measure of learning from judgements: queries are searched in the order they
were searched, each ranked only with the judgements made *before* it, and each is scored
(nDCG@10 and the rest, ``search.evaluation``) twice: by the ranking alone and by the
ranking moved by those earlier judgements (``search.feedback``). A query never sees its
own judgements.

A session's judgements are either given (the store's: what the analyst actually said) or,
for a fixture built from graded eval files, made from the query's own grades after the
search: the analyst judges the ``SHOWN`` results they saw, each by its grade (a case the
file does not list counts as "not similar": its writers graded every case). No label is
invented either way.

Every query is prepared once (``search.validation.collect``: candidates, features and
the query vector), so a replay costs a matrix product per query.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from kizuki.search.evaluation import Query, Ranked, load_queries, report
from kizuki.search.feedback import MIN_SIMILARITY, FeedbackIndex, Judged, apply
from kizuki.search.scorer import LinearScorer
from kizuki.search.validation import QueryRun

#: Results an analyst sees and judges in a fixture session (the page's default ``k``).
SHOWN = 10


@dataclass(frozen=True)
class Session:
    """One search in the replay: the query (with the grades it is scored by), when, by whom,
    and the judgements that follow it."""

    query: Query
    group: str  # for the breakdown (e.g. the eval file)
    at: float  # seconds since the epoch
    analyst: str = ""
    #: Judge the results shown by the query's own grades after the search (a fixture).
    judge_shown: bool = False
    #: Judgements given with their own times (the store's).
    judgements: tuple[Judged, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Replay:
    """Each query's ranking without and with the earlier judgements, and what moved."""

    sessions: tuple[Session, ...]
    without: Mapping[str, Ranked]
    with_feedback: Mapping[str, Ranked]
    moved: Mapping[str, int]  # query id -> how many of its candidates the judgements moved
    judgements: int  # judgements in play by the end

    def report(self) -> dict:
        """nDCG@10 and the rest, without and with feedback, overall and per group."""
        queries = [s.query for s in self.sessions]
        groups = list(dict.fromkeys(s.group for s in self.sessions))
        out: dict = {"queries": len(queries), "judgements": self.judgements}
        for name, runs in (("without", self.without), ("with", self.with_feedback)):
            out[name] = _brief(report(queries, runs))
            out[name]["by_group"] = {
                g: _brief(report([s.query for s in self.sessions if s.group == g], runs))
                for g in groups
            }
        out["moved_queries"] = {
            g: sum(1 for s in self.sessions if s.group == g and self.moved[s.query.id])
            for g in groups
        }
        return out


def _brief(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("n", "ndcg@10", "recall@5", "mrr")}


def replay(
    sessions: Sequence[Session],
    runs: Mapping[str, QueryRun],
    scorer: LinearScorer,
    min_similarity: float = MIN_SIMILARITY,
    shown: int = SHOWN,
) -> Replay:
    """Rank every session's query (``runs`` by query id, each with its vector) without and
    with the judgements made before it, in time order."""
    ordered = sorted(sessions, key=lambda s: s.at)
    pool: list[Judged] = [j for s in ordered for j in s.judgements]
    vectors = {runs[s.query.id].query.query: runs[s.query.id].vector for s in ordered}
    without, with_feedback, moved = {}, {}, {}
    for s in ordered:
        run = runs[s.query.id]
        ids = run.case_ids.tolist()
        scores = scorer.score(run.cands)
        without[s.query.id] = Ranked(_order(run.case_ids, scores), False)
        index = FeedbackIndex([j for j in pool if j.judged_at < s.at], vectors, min_similarity)
        adjustments = index.adjustments(run.vector)
        ranked = _order(run.case_ids, apply(scores, ids, adjustments))
        with_feedback[s.query.id] = Ranked(ranked, False)
        moved[s.query.id] = sum(1 for c in ids if c in adjustments)
        if s.judge_shown:
            pool += [
                Judged(s.query.query, c, s.query.relevant.get(c, 0), s.analyst, s.at)
                for c in ranked[:shown]
            ]
    return Replay(tuple(ordered), without, with_feedback, moved, len(pool))


def _order(case_ids: np.ndarray, scores: np.ndarray) -> list[str]:
    """Best first, with the searcher's tie-break (score, then case id)."""
    return case_ids[np.lexsort((case_ids, -np.round(scores, 9)))].tolist()


def load_timeline(path: str | Path, root: str | Path | None = None) -> list[Session]:
    """A fixture: JSONL rows ``{"at", "file", "id", "analyst", "judges"}`` naming rows of
    graded query files (``file`` relative to ``root``, default the timeline's folder's
    repository: two levels up)."""
    path = Path(path)
    root = Path(root) if root is not None else path.resolve().parents[2]
    files: dict[str, dict[str, Query]] = {}
    out = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                name = str(row["file"])
                if name not in files:
                    files[name] = {q.id: q for q in load_queries(root / name)}
                query = files[name][str(row["id"])]
                at = datetime.fromisoformat(str(row["at"])).timestamp()
            except (ValueError, KeyError, TypeError, OSError) as exc:
                raise ValueError(f"{path}: line {line_no}: {exc}") from exc
            out.append(
                Session(
                    query,
                    Path(name).stem,
                    at,
                    str(row.get("analyst") or ""),
                    bool(row.get("judges", False)),
                )
            )
    return out


def stored_sessions(rows: Sequence[dict], judgements: Sequence[Judged]) -> list[Session]:
    """Sessions of the store's judgements: each judged query searched at its first
    judgement, followed by every judgement made of it, and graded by them (its eval row of
    ``corpus.feedback.eval_rows``; a query judged only "not similar" has none, so it is
    replayed for its judgements but not scored)."""
    by_query: dict[str, list[Judged]] = {}
    for j in sorted(judgements, key=lambda j: j.judged_at):
        by_query.setdefault(j.query, []).append(j)
    graded = {row["query"]: row for row in rows}
    out = []
    for n, (text, given) in enumerate(by_query.items(), start=1):
        row = graded.get(text)
        query = Query(
            row["id"] if row else f"fb-unscored-{n}",
            text,
            dict(row["relevant"]) if row else {},
            kind="feedback",
        )
        out.append(Session(query, "feedback", given[0].judged_at, judgements=tuple(given)))
    return out
