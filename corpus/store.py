"""Durable case store: the single source of truth for the cases Kizuki serves.

SQLite in WAL mode with ``synchronous=FULL``: a write returns only after its transaction
is committed to disk, so an acknowledged case survives a process crash or power loss.
Search indexes and the graph are derived from this store and rebuilt when it changes
(``version()`` is a counter bumped in every write transaction, ``fingerprint()`` hashes
the content).

Every write is one transaction: a batch of cases is stored whole or not at all.

Reading never fails on one bad row: a stored document that no longer validates (written
by an older version, or edited by hand) is reported by ``read_cases`` and left out, so a
server can still start. ``check`` runs ``PRAGMA quick_check`` and looks for a missing
write-ahead log, and ``backup`` copies the live store with SQLite's online backup API.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

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


class StoreChanged(RuntimeError):
    """The store's version moved on (another process wrote) since the caller read it."""


class StoreDamaged(RuntimeError):
    """The database fails its integrity check, or its write-ahead log has gone missing."""


@dataclass(frozen=True)
class SkippedRow:
    """A stored row that cannot be served: its id (as stored) and why."""

    case_id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.case_id, "reason": self.reason}


class CaseStore:
    """Cases persisted in one SQLite file. Safe to use from several threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreDamaged(f"{self.path}: cannot be opened: {exc}") from None

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

    def add_cases(
        self, cases: Iterable[Case], origin: str = "import", expected_version: int | None = None
    ) -> int:
        """Store new cases in one transaction; any id clash rejects the whole batch.

        With ``expected_version``, the write is refused (``StoreChanged``, nothing stored)
        when the store is no longer at that version: what the caller derived from that
        version (and validated) would not be what gets committed.
        """
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
            if expected_version is not None:
                self._check_version(conn, expected_version)
            for case in cases:
                try:
                    conn.execute(
                        "INSERT INTO cases(id, doc, origin, added_at) VALUES (?, ?, ?, ?)",
                        (case.id, _dump(case), origin, now),
                    )
                except sqlite3.IntegrityError:
                    raise DuplicateCaseError(f"case id {case.id!r} already exists") from None
        return len(cases)

    def delete_case(self, case_id: str, expected_version: int | None = None) -> bool:
        """Remove one case; False when it was not there."""
        with self._write() as conn:
            if expected_version is not None:
                self._check_version(conn, expected_version)
            cur = conn.execute("DELETE FROM cases WHERE id = ?", (case_id,))
            return cur.rowcount > 0

    @staticmethod
    def _check_version(conn: sqlite3.Connection, expected: int) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if int(row[0]) != expected:
            raise StoreChanged(f"store version is {row[0]}, not {expected}")

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
        """Every valid case in insertion order (seed first, then imports and API writes)."""
        return self.read_cases()[0]

    def read_cases(self) -> tuple[list[Case], list[SkippedRow]]:
        """Every case that validates, in insertion order, and the rows that do not.

        A row that fails the current schema (an id in a reserved namespace, a control
        character, a damaged document) is reported, not fatal: the rest is served.
        """
        with self._connect() as conn:
            rows = conn.execute("SELECT id, doc FROM cases ORDER BY seq").fetchall()
        cases, skipped = [], []
        for case_id, doc in rows:
            try:
                case = Case.model_validate_json(doc)
            except ValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ())) or "document"
                why = str(first.get("msg", "invalid")).removeprefix("Value error, ")
                skipped.append(SkippedRow(str(case_id), f"{where}: {why}"))
                continue
            if case.id != case_id:
                skipped.append(SkippedRow(str(case_id), f"document id {case.id!r} differs"))
                continue
            cases.append(case)
        return cases, skipped

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

    # -- integrity and backup ---------------------------------------------------------------

    def check(self) -> None:
        """``StoreDamaged`` unless ``PRAGMA quick_check`` passes (see also ``wal_problem``)."""
        try:
            with self._connect() as conn:
                rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            raise StoreDamaged(f"{self.path}: cannot be checked: {exc}") from None
        if rows != ["ok"]:
            shown = "; ".join(str(r) for r in rows[:3])
            raise StoreDamaged(f"{self.path}: integrity check failed: {shown}")

    def backup(self, destination: str | Path) -> Path:
        """A consistent copy of the live store (SQLite's online backup API), fsynced.

        Safe while a server writes: the copy is one committed state of the store.
        """
        destination = Path(destination)
        if destination.exists():
            raise FileExistsError(f"{destination} already exists")
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(f".{destination.name}.tmp-{os.getpid()}")
        try:
            with self._connect() as source:
                target = sqlite3.connect(tmp)
                try:
                    source.backup(target)
                    # A standalone file: no -wal beside it is needed to read it.
                    target.execute("PRAGMA journal_mode=DELETE")
                finally:
                    target.close()
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, destination)
        finally:
            tmp.unlink(missing_ok=True)
        return destination


def wal_problem(path: str | Path) -> str | None:
    """Why the store's write-ahead log looks lost (None when nothing says so).

    Committed transactions of a WAL-mode database live in ``<db>-wal`` until they are
    checkpointed into the main file. When that file is deleted while ``<db>-shm`` (the
    log's index, left by a process that did not close the store cleanly) still says it
    holds committed frames, those transactions are gone and SQLite would silently serve
    the older state. Call this *before* opening the store: opening it rewrites the index.
    """
    path = Path(path)
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if not path.exists() or wal.exists() or not shm.exists():
        return None
    try:
        with open(path, "rb") as fh:
            header = fh.read(20)
        with open(shm, "rb") as fh:
            index = fh.read(48)
    except OSError:
        return None
    if len(header) < 20 or header[18] != 2 or len(index) < 48:
        return None  # not in WAL mode, or no readable log index
    # The wal-index header (native byte order): iVersion, unused, iChange, isInit,
    # bigEndCksum, szPage, then mxFrame, the number of committed frames in the log.
    version, _, _, is_init = struct.unpack_from("=IIIB", index, 0)
    (max_frame,) = struct.unpack_from("=I", index, 16)
    if version != 3007000 or not is_init or max_frame == 0:
        return None
    return (
        f"{wal.name} is missing but {shm.name} says it held {max_frame} committed "
        "frame(s): recent writes would be lost. Restore the -wal file, or restore the store "
        "from a backup (kizuki store backup), or remove the -shm file to accept the loss"
    )


def _dump(case: Case) -> str:
    return json.dumps(case.to_json_dict(), ensure_ascii=False, separators=(",", ":"))
