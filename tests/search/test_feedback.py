"""Analysts' judgements in the ranking (``search.feedback``) and their replay in time order
(``search.replay``) on the fixture of ``eval/feedback/`` — real Sudachi, real embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from kizuki.search.evaluation import Query, load_queries, score
from kizuki.search.feedback import (
    MAX_UNITS,
    MIN_SIMILARITY,
    FeedbackIndex,
    Judged,
    apply,
    score_unit,
)
from kizuki.search.replay import Session, load_timeline, replay
from kizuki.search.validation import collect

REPO = Path(__file__).resolve().parents[2]
TIMELINE = REPO / "eval" / "feedback" / "timeline.jsonl"
QUERY = (
    "夜間バッチが予定時刻までに終わらず、翌朝のオンライン開始が遅れてATMや窓口の取引が"
    "できなかった。前日のプログラム変更のテストが不十分だった。"
)


def unit(v) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def near(base: np.ndarray, cos: float, seed: int = 0) -> np.ndarray:
    """A unit vector whose cosine to ``base`` is exactly ``cos``."""
    rng = np.random.default_rng(seed)
    other = rng.normal(size=base.shape)
    other -= other.dot(base) * base
    other = unit(other)
    return unit(cos * base + np.sqrt(1 - cos**2) * other)


@pytest.fixture
def q() -> np.ndarray:
    return unit(np.random.default_rng(42).normal(size=16))


# -- the adjustment itself -------------------------------------------------------------------


def test_similar_judgements_boost_and_demote_weighted_by_similarity(q):
    vectors = {"same": q, "close": near(q, 0.965, 1), "far": near(q, 0.80, 2)}
    index = FeedbackIndex(
        [
            Judged("same", "c-yes", 2, "a", 1.0),
            Judged("same", "c-no", 0, "a", 2.0),
            Judged("close", "c-partly", 1, "b", 3.0),
            Judged("far", "c-far", 2, "b", 4.0),
        ],
        vectors,
    )
    moves = index.adjustments(q)
    assert moves["c-yes"].units == pytest.approx(1.0)
    assert moves["c-no"].units == pytest.approx(-1.0)
    weight = (0.965 - MIN_SIMILARITY) / (1 - MIN_SIMILARITY)
    assert moves["c-partly"].units == pytest.approx(0.5 * weight, rel=1e-3)
    assert "c-far" not in moves  # below the threshold: not the same incident
    reason = moves["c-yes"].reasons[0]
    assert reason.analyst == "a" and reason.similarity == pytest.approx(1.0)
    assert reason.text().startswith(
        "an analyst judged this case similar for 「same」 on 1970-01-01"
    )
    assert "not similar" in moves["c-no"].reasons[0].text()


def test_one_analyst_counts_once_per_case_and_many_analysts_are_capped(q):
    # One analyst judging the same case on 30 near-identical queries moves it one unit.
    copies = {f"q{i}": near(q, 0.999, i) for i in range(30)}
    flood = [Judged(f"q{i}", "c1", 2, "eager", float(i)) for i in range(30)]
    moves = FeedbackIndex(flood, copies).adjustments(q)
    assert moves["c1"].units <= 1.0
    assert len(moves["c1"].reasons) <= 3
    # Distinct analysts add up, to MAX_UNITS at most; anonymous judgements are one analyst.
    many = [Judged("q0", "c1", 2, name, 1.0) for name in ("a", "b", "c", "d", "e")]
    assert FeedbackIndex(many, copies).adjustments(q)["c1"].units == pytest.approx(
        MAX_UNITS, rel=1e-2
    )
    anonymous = [Judged(f"q{i}", "c1", 2, "", float(i)) for i in range(5)]
    assert FeedbackIndex(anonymous, copies).adjustments(q)["c1"].units <= 1.0


def test_the_latest_judgement_of_an_analyst_replaces_the_earlier(q):
    index = FeedbackIndex(
        [Judged("same", "c1", 2, "a", 1.0), Judged("same", "c1", 0, "a", 2.0)], {"same": q}
    )
    assert index.adjustments(q)["c1"].units == pytest.approx(-1.0)


def test_a_full_unit_from_an_identical_query_puts_a_top_ten_case_first():
    scores = np.array([5.0, 4.0, 3.5, 3.0, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 0.2])
    ids = [f"c{i}" for i in range(len(scores))]
    assert score_unit(scores) == pytest.approx(3.5, abs=1e-5)
    index = FeedbackIndex([Judged("same", "c9", 2, "a", 1.0)], {"same": np.ones(4)})
    moved = apply(scores, ids, index.adjustments(np.ones(4)))
    assert int(np.argmax(moved)) == 9
    assert moved[10] == scores[10]  # nothing else moves


# -- in the searcher ---------------------------------------------------------------------------


class CountingQueries:
    """The seed embedder, counting the query texts it embeds."""

    def __init__(self, inner):
        self.inner = inner
        self.queries = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_queries(self, texts):
        self.queries += len(texts)
        return self.inner.embed_queries(texts)


def test_the_searcher_boosts_the_judged_case_and_says_why(seed_index, seed_embedder):
    from kizuki.search.engine import Searcher

    embedder = CountingQueries(seed_embedder)
    searcher = Searcher(seed_index, embedder)
    prepared = searcher.prepare(QUERY)
    before = searcher.rank(prepared, k=10)
    ids = [r.case_id for r in before.results]
    liked, disliked = ids[4], ids[0]
    index = FeedbackIndex(
        [
            Judged(QUERY, liked, 2, "tanaka", 1_780_000_000.0),
            Judged(QUERY, disliked, 0, "tanaka", 1_780_000_000.0),
        ],
        {QUERY: prepared.vector},
    )
    calls = embedder.queries
    after = searcher.rank(prepared, k=10, feedback=index)
    assert embedder.queries == calls, "the prepared query is not embedded again"
    assert after.results[0].case_id == liked
    top = after.results[0]
    assert top.feedback_units == pytest.approx(1.0)
    assert top.feedback[0].reason.startswith("an analyst judged this case similar for 「夜間")
    assert top.feedback[0].judged_on == "2026-05-28"
    assert [r.case_id for r in after.results].index(disliked) > 0
    untouched = [r for r in after.results if r.case_id not in (liked, disliked)]
    assert all(r.feedback == [] and r.feedback_units == 0 for r in untouched)


def test_judgements_of_a_deleted_case_are_kept_but_ignored(seed_index, seed_embedder):
    from kizuki.search.engine import Searcher

    searcher = Searcher(seed_index, seed_embedder)
    prepared = searcher.prepare(QUERY)
    gone = searcher.rank(prepared, k=3).results[1].case_id
    smaller = Searcher(seed_index.remove_cases([gone]), seed_embedder)
    index = FeedbackIndex([Judged(QUERY, gone, 2, "a", 1.0)], {QUERY: prepared.vector})
    plain = smaller.rank(prepared, k=10)
    judged = smaller.rank(prepared, k=10, feedback=index)
    assert gone not in [r.case_id for r in judged.results]
    assert [r.case_id for r in judged.results] == [r.case_id for r in plain.results]
    assert len(index) == 1  # still there: the case may come back


# -- replay in time order ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_runs(seed_searcher):
    sessions = load_timeline(TIMELINE)
    runs = collect([(s.group, s.query) for s in sessions], seed_searcher)
    return sessions, {r.query.id: r for r in runs}


def test_the_fixture_names_rows_of_the_validation_files_and_invents_no_grade():
    sessions = load_timeline(TIMELINE)
    originals = {
        q.id: q
        for name in ("ja_written", "en_renderings", "paraphrases", "ja_real", "en_world")
        for q in load_queries(REPO / "eval" / "validation" / f"{name}.jsonl")
    }
    assert len(sessions) == len(originals) == 226
    for s in sessions:
        assert s.query == originals[s.query.id]
    judged = [s for s in sessions if s.judge_shown]
    assert {s.group for s in judged} == {"ja_written"}
    assert max(s.at for s in judged) < min(s.at for s in sessions if not s.judge_shown)


def test_replay_ranks_each_query_only_with_earlier_judgements(fixture_runs, seed_searcher):
    sessions, runs = fixture_runs
    result = replay(sessions, runs, seed_searcher.scorer)
    first = result.sessions[0]
    assert result.moved[first.query.id] == 0  # nothing was judged before the first search
    # Without feedback, the replay ranks exactly as the searcher does.
    for s in result.sessions[:5]:
        searched = seed_searcher.search(s.query.query, k=10)
        assert result.without[s.query.id].case_ids[:10] == [r.case_id for r in searched.results]
    judged = sum(1 for s in sessions if s.judge_shown)
    assert result.judgements == 10 * judged  # the analyst judged the ten results shown
    out = result.report()
    assert out["queries"] == 226 and set(out["with"]["by_group"]) == {
        "ja_written",
        "en_renderings",
        "paraphrases",
        "ja_real",
        "en_world",
    }
    # Nothing unrelated is hurt: no group loses more than 0.01 nDCG@10.
    for group, before in out["without"]["by_group"].items():
        assert out["with"]["by_group"][group]["ndcg@10"] >= before["ndcg@10"] - 0.01, group


def test_a_repeated_search_gains_from_the_judgement_of_the_first(fixture_runs, seed_searcher):
    """A colleague searches a judged incident again the next day: the judged analogues come
    first. The same query searched *before* the judgement is not moved."""
    sessions, runs = fixture_runs
    graded = [s for s in sessions if s.judge_shown and s.query.relevant]
    # The rows whose ranking leaves room to gain (their first ranking is not ideal).
    rows = [s for s in graded if _ndcg(seed_searcher, runs[s.query.id]) < 0.999][:5]
    assert rows
    trial, trial_runs = [], {}
    for n, s in enumerate(rows):
        base = 100.0 * n
        early = Query(s.query.id + "-early", s.query.query, s.query.relevant)
        later = Query(s.query.id + "-again", s.query.query, s.query.relevant)
        trial += [
            Session(early, "before", base),
            Session(s.query, "judged", base + 1, "analyst-a", judge_shown=True),
            Session(later, "again", base + 2),
        ]
        for qid in (early.id, s.query.id, later.id):
            trial_runs[qid] = runs[s.query.id]
    out = replay(trial, trial_runs, seed_searcher.scorer).report()
    assert out["with"]["by_group"]["before"] == out["without"]["by_group"]["before"]
    assert out["moved_queries"]["before"] == 0
    assert out["moved_queries"]["again"] == len(rows)
    again = out["with"]["by_group"]["again"]["ndcg@10"]
    assert again > out["without"]["by_group"]["again"]["ndcg@10"]


def _ndcg(searcher, run) -> float:
    scores = searcher.scorer.score(run.cands)
    order = run.case_ids[np.lexsort((run.case_ids, -np.round(scores, 9)))].tolist()
    return score(order, run.query.relevant)[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--timeline", str(TIMELINE)], "--timeline goes with --replay"),
        (["--replay", "--timeline", "no-such-timeline.jsonl"], "no-such-timeline.jsonl"),
        (["--replay", "--feedback", "--timeline", str(TIMELINE)], "either --feedback"),
        (["--replay", "--timeline", str(TIMELINE), "--cv", "5"], "--replay takes only"),
    ],
)
def test_eval_replay_options_fail_with_one_error(args, message):
    from kizuki.api.cli import CliError, app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["eval", *args])
    assert result.exit_code != 0 and isinstance(result.exception, CliError), result.output
    assert message in str(result.exception)
