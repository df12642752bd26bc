"""The SQLite case store: the embedded default (one file beside the server).

SQLite in WAL mode with ``synchronous=FULL``: a write returns only after its transaction
is committed to disk, so an acknowledged case survives a process crash or power loss.
``BEGIN IMMEDIATE`` makes writers (threads or processes) take turns.

``check`` runs ``PRAGMA quick_check`` (``wal_problem`` looks for a lost write-ahead log),
and ``backup`` copies the live store with SQLite's online backup API.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import struct
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kizuki.corpus.schema import Case
from kizuki.corpus.store import (
    CaseStore,
    DuplicateCaseError,
    StoreChanged,
    StoreDamaged,
    StoreFull,
    StoreReadOnly,
    check_batch,
    dump_case,
    fingerprint_of,
    is_disk_full,
)

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


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived connection to a store file, durable writes (``synchronous=FULL``),
    autocommit (``BEGIN`` for a transaction). One per operation: cheap for SQLite, and it
    keeps threads and processes from sharing cursor state."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        yield conn
    except sqlite3.OperationalError as exc:
        if _out_of_space(exc, Path(path)):
            raise StoreFull(f"{path}: the disk is full ({exc}); nothing was written") from None
        raise
    finally:
        conn.close()


def _out_of_space(exc: sqlite3.OperationalError, path: Path) -> bool:
    """SQLITE_FULL, or an I/O error (growing the ``-shm`` or ``-wal`` file) on a disk that
    has no room left."""
    if is_disk_full(exc):
        return True
    io_error = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_IOERR
    try:
        return io_error and shutil.disk_usage(path.parent).free < 2**20
    except OSError:
        return False


class SqliteCaseStore(CaseStore):
    """Cases persisted in one SQLite file. Safe to use from several threads and processes."""

    raw_column = "CAST({} AS BLOB)"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise StoreReadOnly(read_only_message(self.path)) from None
            raise
        try:
            with self.connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            # A store that cannot be written is not damaged: say what the user must change.
            if not _writable(self.path):
                raise StoreReadOnly(read_only_message(self.path)) from None
            raise StoreDamaged(f"{self.path}: cannot be opened: {exc}") from None

    def connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A short-lived connection (autocommit; ``BEGIN`` for a transaction)."""
        return connect(self.path)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute(
                    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'"
                )
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # keep the original error
                    conn.execute("ROLLBACK")
                raise

    # -- writes ---------------------------------------------------------------------------

    def add_cases(
        self, cases: Iterable[Case], origin: str = "import", expected_version: int | None = None
    ) -> int:
        cases = check_batch(cases)
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
                        (case.id, dump_case(case), origin, now),
                    )
                except sqlite3.IntegrityError:
                    raise DuplicateCaseError(f"case id {case.id!r} already exists") from None
        return len(cases)

    def delete_case(self, case_id: str, expected_version: int | None = None) -> bool:
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
        key = f"seeded:{name}"
        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone():
                return False
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone():
                return False
            now = time.time()
            conn.executemany(
                "INSERT OR IGNORE INTO cases(id, doc, origin, added_at) VALUES (?, ?, ?, ?)",
                [(case.id, dump_case(case), name, now) for case in seed],
            )
            conn.execute("INSERT INTO meta(key, value) VALUES (?, '1')", (key,))
        return True

    # -- reads ----------------------------------------------------------------------------

    def fingerprint(self) -> str:
        with self.connect() as conn:
            return fingerprint_of(
                doc.decode("utf-8", errors="replace")
                for (doc,) in conn.execute("SELECT CAST(doc AS BLOB) FROM cases ORDER BY seq")
            )

    # -- integrity and backup ---------------------------------------------------------------

    def check(self) -> None:
        """``StoreDamaged`` unless ``PRAGMA quick_check`` passes (see also ``wal_problem``)."""
        try:
            with self.connect() as conn:
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
        if not destination.parent.is_dir():  # a typo in the path must not create folders
            raise FileNotFoundError(f"{destination.parent}: no such directory")
        tmp = destination.with_name(f".{destination.name}.tmp-{os.getpid()}")
        try:
            with self.connect() as source:
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


def _writable(path: Path) -> bool:
    """Whether SQLite can write the store: its file, and its folder (WAL mode creates the
    ``-wal`` and ``-shm`` files beside it). ``access`` reports a read-only mount to root too."""
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), path.parent)
    if not os.access(folder, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def read_only_message(path: Path) -> str:
    """Why a store cannot be opened for writing, and what to do about it."""
    folder = path.parent
    if not folder.exists():
        what = f"the data dir {folder} cannot be created: its parent folder is read-only"
    elif path.exists() and os.access(folder, os.W_OK):
        what = f"the case store {path} is read-only"
    else:
        what = f"the data dir {folder} is read-only"
    return (
        f"{what}; Kizuki keeps its case store, index and graph in the data dir and must write "
        "them: make it writable, or point KIZUKI_DATA_DIR (or --data-dir) at a writable folder"
    )


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
