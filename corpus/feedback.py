"""Analysts' judgements on search results, kept durably beside the cases.

A judgement says: for this query, this case is an analogue (grade 2: same mechanism; 1:
partly) or is not (0). It is stored in a ``feedback`` table in the case store's SQLite
file (WAL, ``synchronous=FULL``, one transaction per write, as ``corpus.store``), so a
backup of the store carries the judgements too. Judgements are never deleted: one on a
case that is later deleted is kept (and ignored by the ranking).

An analyst's latest judgement of a (query, case) pair replaces the earlier one (one row
per query, case and analyst; the anonymous analyst is ``""``), and ``add`` enforces the
caller's caps in the same transaction as the write: at most ``per_hour`` judgements per
analyst in any hour, and at most ``per_query`` judged cases per analyst and query.

The SQL is a handful of portable statements (``INSERT … ON CONFLICT … DO UPDATE``, no
SQLite-only functions), so that a PostgreSQL store can carry the same table.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kizuki.corpus.exceptions import FeedbackLimit as FeedbackLimit
from kizuki.corpus.sqlite_store import connect as sqlite_connect

#: Grades a judgement may carry (as in the eval sets: 2 same mechanism, 1 partly, 0 not).
GRADES = (0, 1, 2)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    query_key  TEXT NOT NULL,
    query      TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    grade      INTEGER NOT NULL CHECK (grade IN (0, 1, 2)),
    note       TEXT NOT NULL DEFAULT '',
    analyst    TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    UNIQUE (query_key, case_id, analyst)
);
CREATE INDEX IF NOT EXISTS feedback_by_analyst ON feedback (analyst, created_at);
"""
_COLUMNS = "id, query, case_id, grade, note, analyst, created_at"


@dataclass(frozen=True)
class Judgement:
    """One stored judgement. ``analyst`` is None for an anonymous one."""

    id: int
    query: str
    case_id: str
    grade: int
    note: str
    analyst: str | None
    created_at: float  # seconds since the epoch (UTC)

    @property
    def judged_on(self) -> str:
        """The day of the judgement, ``YYYY-MM-DD`` (UTC)."""
        return datetime.fromtimestamp(self.created_at, UTC).strftime("%Y-%m-%d")

    def iso_time(self) -> str:
        return datetime.fromtimestamp(self.created_at, UTC).isoformat(timespec="seconds")


def query_key(query: str) -> str:
    """The key a query's judgements share: sha256 of its text (indexable at any length)."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class FeedbackStore:
    """Judgements in the ``feedback`` table of the store's SQLite file.

    Statements are written once, with ``?`` placeholders and ``{t}`` for the table, and run
    through ``_read`` / ``_transaction``; ``corpus.pg_feedback`` runs the same statements on
    PostgreSQL.
    """

    table = "feedback"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_connect(self.path)

    @contextmanager
    def _read(self) -> Iterator[Callable[..., Any]]:
        """``run(sql, params)`` → a cursor, outside any write transaction."""
        with self._connect() as conn:
            yield lambda sql, params=(): conn.execute(sql.format(t=self.table), params)

    @contextmanager
    def _transaction(self, analyst: str) -> Iterator[Callable[..., Any]]:
        """One write transaction; writes of one ``analyst`` never interleave (the caps are
        counted and enforced inside it)."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield lambda sql, params=(): conn.execute(sql.format(t=self.table), params)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # keep the original error
                    conn.execute("ROLLBACK")
                raise

    def add(
        self,
        query: str,
        case_id: str,
        grade: int,
        note: str = "",
        analyst: str | None = None,
        *,
        per_hour: int | None = None,
        per_query: int | None = None,
        now: float | None = None,
    ) -> tuple[Judgement, bool]:
        """Store (or replace) one judgement, committed when this returns; and whether it
        replaced the analyst's earlier judgement of the same query and case.

        ``FeedbackLimit`` (nothing stored) when the analyst has made ``per_hour``
        judgements in the last hour, or has judged ``per_query`` other cases for this query.
        """
        if grade not in GRADES:
            raise ValueError(f"grade must be one of {GRADES}")
        now = time.time() if now is None else now
        who, key = analyst or "", query_key(query)
        with self._transaction(who) as run:
            earlier = run(
                "SELECT id FROM {t} WHERE query_key = ? AND case_id = ? AND analyst = ?",
                (key, case_id, who),
            ).fetchone()
            _check_caps(run, who, key, now, per_hour, per_query, replacing=bool(earlier))
            run(
                "INSERT INTO {t} (query_key, query, case_id, grade, note, analyst, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (query_key, case_id, analyst) DO UPDATE SET "
                "grade = excluded.grade, note = excluded.note, created_at = excluded.created_at",
                (key, query, case_id, grade, note, who, now),
            )
            row = run(
                f"SELECT {_COLUMNS} FROM {{t}} WHERE query_key = ? AND case_id = ? AND analyst = ?",
                (key, case_id, who),
            ).fetchone()
        return _judgement(row), earlier is not None

    def page(self, limit: int, offset: int = 0) -> tuple[int, list[Judgement]]:
        """The total and one page of judgements, oldest first."""
        with self._read() as run:
            total = run("SELECT COUNT(*) FROM {t}").fetchone()[0]
            rows = run(
                f"SELECT {_COLUMNS} FROM {{t}} ORDER BY created_at, id LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return total, [_judgement(r) for r in rows]

    def all(self) -> list[Judgement]:
        """Every judgement in time order (oldest first)."""
        with self._read() as run:
            rows = run(f"SELECT {_COLUMNS} FROM {{t}} ORDER BY created_at, id").fetchall()
        return [_judgement(r) for r in rows]

    def for_query(self, query: str) -> list[Judgement]:
        """The judgements of exactly this query text, oldest first."""
        with self._read() as run:
            rows = run(
                f"SELECT {_COLUMNS} FROM {{t}} WHERE query_key = ? ORDER BY created_at, id",
                (query_key(query),),
            ).fetchall()
        return [_judgement(r) for r in rows]

    def count(self) -> int:
        with self._read() as run:
            return run("SELECT COUNT(*) FROM {t}").fetchone()[0]

    def state(self) -> tuple[int, float]:
        """How many judgements there are and when the newest was made: changes with every
        write (a replaced judgement takes the time of its replacement)."""
        with self._read() as run:
            count, newest = run("SELECT COUNT(*), MAX(created_at) FROM {t}").fetchone()
        return int(count), float(newest or 0.0)


def _check_caps(
    run: Callable[..., Any],
    analyst: str,
    key: str,
    now: float,
    per_hour: int | None,
    per_query: int | None,
    replacing: bool,
) -> None:
    if per_hour is not None:
        recent = run(
            "SELECT created_at FROM {t} WHERE analyst = ? AND created_at > ? ORDER BY created_at",
            (analyst, now - 3600),
        ).fetchall()
        if len(recent) >= per_hour:
            wait = max(1, int(recent[0][0] + 3600 - now) + 1)
            raise FeedbackLimit(
                f"at most {per_hour} judgements per analyst per hour; retry in {wait} s", wait
            )
    if per_query is not None and not replacing:
        judged = run(
            "SELECT COUNT(*) FROM {t} WHERE analyst = ? AND query_key = ?", (analyst, key)
        ).fetchone()[0]
        if judged >= per_query:
            raise FeedbackLimit(f"at most {per_query} judged cases per analyst and query")


def _judgement(row: tuple) -> Judgement:
    jid, query, case_id, grade, note, analyst, created_at = row
    return Judgement(int(jid), query, case_id, int(grade), note, analyst or None, float(created_at))


def eval_rows(judgements: Iterable[Judgement]) -> list[dict]:
    """The judgements as an eval set (``kizuki eval --queries`` loads it): one row per
    query text with a grade ≥ 1 for some case, in order of its first judgement.

    Each case's grade is the rounded mean (halves up) of its analysts' latest grades; only
    cases graded ≥ 1 go into ``relevant`` (the eval format lists relevant cases only, and
    an empty ``relevant`` would mean "no analogue exists"); the cases judged not similar
    are listed in ``not_relevant``, which the loader ignores. A query judged only "not
    similar" has no row."""
    by_query: dict[str, dict[str, dict[str, int]]] = {}
    first: dict[str, float] = {}
    for j in sorted(judgements, key=lambda j: (j.created_at, j.id)):
        by_query.setdefault(j.query, {}).setdefault(j.case_id, {})[j.analyst or ""] = j.grade
        first.setdefault(j.query, j.created_at)
    rows = []
    for query, cases in by_query.items():
        grades = {c: int(sum(g.values()) / len(g) + 0.5) for c, g in cases.items()}
        relevant = {c: g for c, g in grades.items() if g >= 1}
        if not relevant:
            continue
        rows.append(
            {
                "id": "fb-" + query_key(query)[:12],
                "query": query,
                "relevant": relevant,
                "not_relevant": sorted(c for c, g in grades.items() if g == 0),
                "kind": "feedback",
                "first_judged": datetime.fromtimestamp(first[query], UTC).isoformat(
                    timespec="seconds"
                ),
            }
        )
    return rows


def open_feedback_store(settings: Any, case_store: Any = None) -> FeedbackStore:
    """The judgements beside the cases: in PostgreSQL when the case store is there (sharing
    the connections of ``case_store`` when given), else in the SQLite file."""
    if getattr(settings, "database_url", None):
        from kizuki.corpus.pg_feedback import PostgresFeedbackStore
        from kizuki.corpus.store import open_store

        return PostgresFeedbackStore(case_store or open_store(settings))
    return FeedbackStore(settings.store_path)
