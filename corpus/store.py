"""The case store: the single source of truth for the cases Kizuki serves.

One interface, :class:`CaseStore`, with two implementations chosen by the settings
(:func:`open_store`): SQLite, one file beside the server (``corpus.sqlite_store``, the
embedded default), and PostgreSQL (``corpus.pg_store``, ``KIZUKI_DATABASE_URL``), for
several servers over one store. Search indexes and the graph are derived from the store
and rebuilt when it changes (``version()`` is a counter bumped in every write transaction,
``fingerprint()`` hashes the content).

Every write is one transaction, acknowledged only after it is committed: a batch of cases
is stored whole or not at all, and case ids are unique (a constraint of the database).

Reading never fails on one bad row: a stored document that no longer validates (written
by an older version, or edited by hand) is reported by ``read_cases`` and left out, so a
server can still start.

A sibling store (e.g. one for analysts' feedback) shares the same database: the SQLite
file at ``path``, or the PostgreSQL connection pool at ``pool``; ``connect()`` lends one
connection of either kind.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# The store's errors (``corpus.exceptions``), importable from here as before.
from kizuki.corpus.exceptions import DuplicateCaseError as DuplicateCaseError
from kizuki.corpus.exceptions import MissingExtra as MissingExtra
from kizuki.corpus.exceptions import NotSupported as NotSupported
from kizuki.corpus.exceptions import StoreChanged as StoreChanged
from kizuki.corpus.exceptions import StoreDamaged as StoreDamaged
from kizuki.corpus.exceptions import StoreFull as StoreFull
from kizuki.corpus.exceptions import StoreReadOnly as StoreReadOnly
from kizuki.corpus.exceptions import StoreUnavailable as StoreUnavailable
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from pydantic import ValidationError


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error says the disk is full (SQLite's SQLITE_FULL, or ENOSPC / EDQUOT)."""
    import errno
    import sqlite3

    if isinstance(exc, StoreFull):
        return True
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "disk is full" in str(exc)
        )
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class SkippedRow:
    """A stored row that cannot be served: its id (as stored) and why."""

    case_id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.case_id, "reason": self.reason}


class Listener(Protocol):
    """A running subscription to the store's changes (see ``CaseStore.listen``)."""

    def stop(self) -> None: ...


class CaseStore(ABC):
    """Cases persisted in a database. Safe to use from several threads and processes."""

    #: Where the store is, for messages (a file path, or a URL without its password).
    where: str

    # -- writes ---------------------------------------------------------------------------

    @abstractmethod
    def add_cases(
        self, cases: Iterable[Case], origin: str = "import", expected_version: int | None = None
    ) -> int:
        """Store new cases in one transaction; any id clash rejects the whole batch.

        With ``expected_version``, the write is refused (``StoreChanged``, nothing stored)
        when the store is no longer at that version: what the caller derived from that
        version (and validated) would not be what gets committed.
        """

    @abstractmethod
    def delete_case(self, case_id: str, expected_version: int | None = None) -> bool:
        """Remove one case; False when it was not there."""

    @abstractmethod
    def ensure_seeded(self, seed: Iterable[Case], name: str = "seed") -> bool:
        """Load the bundled corpus once, on first start; later starts keep user edits."""

    # -- reads ----------------------------------------------------------------------------

    #: Table names and the driver's placeholder: the reads below are written once, for
    #: both stores (the writes differ: locking, notification, error mapping).
    cases_table = "cases"
    meta_table = "meta"
    placeholder = "?"
    #: How a text column is read as raw bytes, so that one damaged row cannot fail a whole
    #: read (SQLite refuses to hand out text that is not UTF-8); ``{}`` is the column.
    raw_column = "{}"

    def _sql(self, sql: str) -> str:
        return sql.format(cases=self.cases_table, meta=self.meta_table).replace(
            "?", self.placeholder
        )

    def _raw(self, column: str) -> str:
        return self.raw_column.format(column)

    def get(self, case_id: str) -> Case | None:
        with self.connect() as conn:
            sql = self._sql(f"SELECT {self._raw('doc')} FROM {{cases}} WHERE id = ?")
            row = conn.execute(sql, (case_id,)).fetchone()
        if not row:
            return None
        cases, _ = parse_rows([(case_id, row[0])])
        return cases[0] if cases else None

    def all_cases(self) -> list[Case]:
        """Every valid case in insertion order (seed first, then imports and API writes)."""
        return self.read_cases()[0]

    def read_cases(self) -> tuple[list[Case], list[SkippedRow]]:
        """Every case that validates, in insertion order, and the rows that do not."""
        sql = f"SELECT {self._raw('id')}, {self._raw('doc')} FROM {{cases}} ORDER BY seq"
        with self._bulk_connect() as conn:
            rows = conn.execute(self._sql(sql)).fetchall()
        return parse_rows(rows)

    def origins(self) -> dict[str, str]:
        """Case id → where it came from (``seed``, ``import``, ``api``)."""
        sql = f"SELECT {self._raw('id')}, {self._raw('origin')} FROM {{cases}} ORDER BY seq"
        with self._bulk_connect() as conn:
            return {_text(i): _text(o) for i, o in conn.execute(self._sql(sql)).fetchall()}

    def count(self) -> int:
        with self.connect() as conn:
            return conn.execute(self._sql("SELECT COUNT(*) FROM {cases}")).fetchone()[0]

    def version(self) -> int:
        """A counter bumped by every write: cheap staleness check for derived indexes."""
        with self.connect() as conn:
            sql = self._sql("SELECT value FROM {meta} WHERE key = 'version'")
            return int(conn.execute(sql).fetchone()[0])

    @abstractmethod
    def fingerprint(self) -> str:
        """sha256 over the stored cases, in order: equal content gives an equal hash."""

    # -- sharing, following, integrity -----------------------------------------------------

    @abstractmethod
    def connect(self) -> AbstractContextManager[Any]:
        """One connection to the store's database, for a sibling store sharing it."""

    def _bulk_connect(self) -> AbstractContextManager[Any]:
        """A connection for reading every case (may be allowed longer than one write)."""
        return self.connect()

    def health(self) -> dict[str, object] | None:
        """None while the store answers; else ``{"state", "since", "reason"}``."""
        return None

    def listen(self, on_change: Callable[[], None]) -> Listener | None:
        """Call ``on_change`` (from another thread) soon after any process writes.

        None when the store cannot notify (SQLite): the caller polls ``version()``.
        """
        return None

    @abstractmethod
    def check(self) -> None:
        """``StoreDamaged`` unless the database passes its integrity check."""

    def backup(self, destination: str | Path) -> Path:
        """A consistent copy of the live store."""
        raise NotSupported(f"{self.where}: this store cannot be backed up by Kizuki")

    def close(self) -> None:  # noqa: B027 - a no-op where there are no connections to keep
        """Release the store's connections."""


def open_store(settings: Settings, check: bool = False) -> CaseStore:
    """The store the settings name: PostgreSQL when ``database_url`` is set, else SQLite.

    With ``check``, the store's integrity is checked first (``StoreDamaged``).
    """
    if settings.database_url:
        from kizuki.corpus.pg_store import PostgresCaseStore

        store: CaseStore = PostgresCaseStore(
            settings.database_url, timeout_s=settings.store_timeout_s
        )
    else:
        from kizuki.corpus.sqlite_store import SqliteCaseStore, wal_problem

        # Before the store is opened: opening it would rebuild the log's index.
        problem = wal_problem(settings.store_path) if check else None
        if problem:
            raise StoreDamaged(f"{settings.store_path}: {problem}")
        store = SqliteCaseStore(settings.store_path)
    if check:
        store.check()
    return store


def store_exists(settings: Settings) -> bool:
    """Whether a store is already there (a PostgreSQL store is always taken to be)."""
    return bool(settings.database_url) or settings.store_path.is_file()


# -- helpers shared by the implementations ----------------------------------------------------


def redact(url: str) -> str:
    """A database URL without its password, for messages and logs."""
    return re.sub(r"(://[^/:@]*):[^/@]*@", r"\1:***@", url)


def check_batch(cases: Iterable[Case]) -> list[Case]:
    """The batch as a list; ``DuplicateCaseError`` when one id appears twice in it."""
    cases = list(cases)
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise DuplicateCaseError(f"case id {case.id!r} appears twice in the batch")
        seen.add(case.id)
    return cases


def _text(value: str | bytes) -> str:
    """A column read as raw bytes, as text (damaged bytes replaced, for ids in messages)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return value


def parse_rows(
    rows: Iterable[tuple[str | bytes, str | bytes]],
) -> tuple[list[Case], list[SkippedRow]]:
    """Stored (id, document) rows → the cases that validate, and the rows that do not.

    A row that fails the current schema (an id in a reserved namespace, a control
    character, a damaged document, bytes that are not UTF-8) is reported, not fatal: the
    rest is served.
    """
    cases, skipped = [], []
    for raw_id, raw_doc in rows:
        case_id = _text(raw_id)
        try:
            doc = raw_doc if isinstance(raw_doc, str) else bytes(raw_doc).decode("utf-8")
        except UnicodeDecodeError as exc:
            skipped.append(SkippedRow(case_id, f"document: damaged, not UTF-8 at byte {exc.start}"))
            continue
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


def fingerprint_of(docs: Iterator[str]) -> str:
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(doc.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def dump_case(case: Case) -> str:
    return json.dumps(case.to_json_dict(), ensure_ascii=False, separators=(",", ":"))
