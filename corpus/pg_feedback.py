"""Analysts' judgements in PostgreSQL, beside the cases (``kizuki_feedback``).

The statements are ``corpus.feedback.FeedbackStore``'s; this class only runs them on the
case store's connection pool. A write transaction first takes an advisory lock on the
analyst, so the caps are counted and enforced with no other write of that analyst in
between (on any server), and notifies the store's channel, so the other servers take the
judgement into their ranking at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kizuki.corpus.feedback import FeedbackStore
from kizuki.corpus.pg_store import CHANNEL, PostgresCaseStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kizuki_feedback (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    query_key  TEXT NOT NULL,
    query      TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    grade      INTEGER NOT NULL CHECK (grade IN (0, 1, 2)),
    note       TEXT NOT NULL DEFAULT '',
    analyst    TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    UNIQUE (query_key, case_id, analyst)
);
CREATE INDEX IF NOT EXISTS kizuki_feedback_by_analyst ON kizuki_feedback (analyst, created_at);
"""
#: Serialises schema creation when several servers start on an empty database at once.
_SCHEMA_LOCK = 0x4B495A46  # "KIZF"


class PostgresFeedbackStore(FeedbackStore):
    table = "kizuki_feedback"

    def __init__(self, cases: PostgresCaseStore) -> None:
        self.cases = cases
        with cases.connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(_SCHEMA)

    def _runner(self, conn: Any) -> Callable[..., Any]:
        def run(sql: str, params: tuple = ()) -> Any:
            return conn.execute(sql.format(t=self.table).replace("?", "%s"), params)

        return run

    @contextmanager
    def _read(self) -> Iterator[Callable[..., Any]]:
        with self.cases.connect() as conn:
            yield self._runner(conn)

    @contextmanager
    def _transaction(self, analyst: str) -> Iterator[Callable[..., Any]]:
        with self.cases.connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("kizuki-fb:" + analyst,))
            yield self._runner(conn)
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, "feedback"))
