"""Durable case store: the single source of truth for the cases Kizuki serves.

SQLite in WAL mode with ``synchronous=FULL``: a write returns only after its transaction
is committed to disk, so an acknowledged case survives a process crash or power loss.
Search indexes and the graph are derived from this store and rebuilt when it changes
(``version()`` is a counter bumped in every write transaction, ``fingerprint()`` hashes
the content).

Every write is one transaction: a batch of cases is stored whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from corpus.schema import Case

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    doc      TEXT NOT NULL,
    origin   TEXT NOT NULL,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('version', '0');
"""


class DuplicateCaseError(ValueError):
    """A case id that is already stored (or repeated within one batch)."""


class CaseStore:
    """Cases persisted in one SQLite file. Safe to use from several threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A short-lived connection per operation: cheap for SQLite, and it keeps
        # threads and processes from sharing cursor state.
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute(
                    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'"
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- writes ---------------------------------------------------------------------------

    def add_cases(self, cases: Iterable[Case], origin: str = "import") -> int:
        """Store new cases in one transaction; any id clash rejects the whole batch."""
        cases = list(cases)
        seen: set[str] = set()
        for case in cases:
            if case.id in seen:
                raise DuplicateCaseError(f"case id {case.id!r} appears twice in the batch")
            seen.add(case.id)
        if not cases:
            return 0
        now = time.time()
        with self._write() as conn:
            for case in cases:
                try:
                    conn.execute(
                        "INSERT INTO cases(id, doc, origin, added_at) VALUES (?, ?, ?, ?)",
                        (case.id, _dump(case), origin, now),
                    )
                except sqlite3.IntegrityError:
                    raise DuplicateCaseError(f"case id {case.id!r} already exists") from None
        return len(cases)

    def delete_case(self, case_id: str) -> bool:
        """Remove one case; False when it was not there."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM cases WHERE id = ?", (case_id,))
            return cur.rowcount > 0

    def ensure_seeded(self, seed: Iterable[Case], name: str = "seed") -> bool:
        """Load the bundled corpus once, on first start; later starts keep user edits."""
        key = f"seeded:{name}"
        with self._connect() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone():
                return False
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone():
                return False
            now = time.time()
            conn.executemany(
                "INSERT OR IGNORE INTO cases(id, doc, origin, added_at) VALUES (?, ?, ?, ?)",
                [(case.id, _dump(case), name, now) for case in seed],
            )
            conn.execute("INSERT INTO meta(key, value) VALUES (?, '1')", (key,))
        return True

    # -- reads ----------------------------------------------------------------------------

    def get(self, case_id: str) -> Case | None:
        with self._connect() as conn:
            row = conn.execute("SELECT doc FROM cases WHERE id = ?", (case_id,)).fetchone()
        return Case.model_validate_json(row[0]) if row else None

    def all_cases(self) -> list[Case]:
        """Every case in insertion order (seed first, then imports and API writes)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT doc FROM cases ORDER BY seq").fetchall()
        return [Case.model_validate_json(doc) for (doc,) in rows]

    def origins(self) -> dict[str, str]:
        """Case id → where it came from (``seed``, ``import``, ``api``)."""
        with self._connect() as conn:
            return dict(conn.execute("SELECT id, origin FROM cases ORDER BY seq").fetchall())

    def count(self) -> int:
        with self._connect() as conn:
            return conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]

    def version(self) -> int:
        """A counter bumped by every write: cheap staleness check for derived indexes."""
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        return int(row[0])

    def fingerprint(self) -> str:
        """sha256 over the stored cases, in order: equal content gives an equal hash."""
        digest = hashlib.sha256()
        with self._connect() as conn:
            for (doc,) in conn.execute("SELECT doc FROM cases ORDER BY seq"):
                digest.update(doc.encode("utf-8"))
                digest.update(b"\n")
        return digest.hexdigest()


def _dump(case: Case) -> str:
    return json.dumps(case.to_json_dict(), ensure_ascii=False, separators=(",", ":"))
