"""The PostgreSQL case store: one store of record for several Kizuki servers.

Selected by ``KIZUKI_DATABASE_URL=postgresql://…`` (or ``kizuki serve --database-url``).
Connections come from a psycopg pool; each one is checked before it is lent, so a
PostgreSQL restart costs the servers nothing but the requests made while it was down
(those get ``StoreUnavailable``: HTTP 503).

Every write is one transaction that first bumps the version row (``UPDATE … RETURNING``),
which locks it until commit: writers from every server take turns, ``expected_version``
is compared under that lock (``StoreChanged``), and ``seq`` follows commit order. The same
transaction sends ``NOTIFY kizuki_store`` so that the other servers refresh at once
(``listen``); PostgreSQL delivers it only if the write commits. A write is acknowledged
when ``COMMIT`` has returned. Case ids are unique by constraint (``DuplicateCaseError``).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from kizuki.corpus.schema import Case
from kizuki.corpus.store import (
    CaseStore,
    DuplicateCaseError,
    MissingExtra,
    NotSupported,
    StoreChanged,
    StoreDamaged,
    StoreUnavailable,
    check_batch,
    dump_case,
    fingerprint_of,
    redact,
)

try:
    import psycopg
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as exc:  # the `postgres` extra is optional
    raise MissingExtra.for_postgres() from exc

log = logging.getLogger("kizuki.store")

#: The channel every write transaction notifies (payload: the new version, or ``feedback``
#: for a judgement: ``corpus.pg_feedback``).
CHANNEL = "kizuki_store"
#: Seconds to wait for a connection (at start: for the database to answer) before giving up.
CONNECT_TIMEOUT_S = 10.0
#: Default limit on one operation (a statement, or a short transaction), in seconds.
TIMEOUT_S = 10.0
#: Reads of every case (a start, a refresh) may take this many times longer.
BULK_FACTOR = 30
#: After a failure, operations fail at once for this long (seconds) instead of each
#: waiting for its own timeout behind a database that is down.
BREAKER_S = 2.0
#: Connections each server keeps at most (searches never touch the store; writes take turns).
POOL_SIZE = 8
#: Serialises schema creation when several servers start on an empty database at once.
_SCHEMA_LOCK = 0x4B495A55  # "KIZU"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kizuki_cases (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,
    doc      TEXT NOT NULL,
    origin   TEXT NOT NULL,
    added_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS kizuki_meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO kizuki_meta(key, value) VALUES ('version', 0) ON CONFLICT (key) DO NOTHING;
"""


class PostgresCaseStore(CaseStore):
    """Cases in PostgreSQL tables ``kizuki_cases`` and ``kizuki_meta``."""

    cases_table, meta_table, placeholder = "kizuki_cases", "kizuki_meta", "%s"

    def __init__(
        self, url: str, pool: ConnectionPool | None = None, timeout_s: float = TIMEOUT_S
    ) -> None:
        if not re.match(r"postgres(ql)?://", url):
            raise ValueError(f"not a PostgreSQL URL (postgresql://…): {redact(url)!r}")
        self.url = url
        self.where = redact(url)
        self.timeout_s = timeout_s
        self._own_pool = pool is None
        self._breaker = _Breaker()
        #: Shared with sibling stores over the same database.
        self.pool = pool or bounded_pool(url, "kizuki-store", POOL_SIZE, timeout_s)
        try:
            if self._own_pool:
                # One plain connection first: its error says why (the pool's only says when).
                psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_S)).close()
                self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            with self.connect() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                conn.execute(_SCHEMA)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            self.close()
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreUnavailable(f"PostgreSQL at {self.where} cannot be reached: {why}") from None

    @contextmanager
    def connect(self, timeout_s: float | None = None) -> Iterator[psycopg.Connection]:
        """A pooled connection (autocommit; ``conn.transaction()`` for a transaction),
        held for at most ``timeout_s`` (the store's timeout; bulk reads pass more).

        A database that does not answer (stopped, frozen, unreachable) costs a caller at
        most that long: the connection's socket is then cut, and ``StoreUnavailable`` is
        raised. For ``BREAKER_S`` after a failure, callers fail at once instead of queueing
        behind it (``health`` says since when and why)."""
        self._breaker.check(self.where)
        limit = self.timeout_s if timeout_s is None else timeout_s
        watchdog = None
        try:
            with self.pool.connection() as conn:
                watchdog = Watchdog(conn, limit)
                with watchdog:
                    yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            frozen = watchdog is not None and watchdog.fired
            reason = (
                f"did not answer within {limit:g} s"
                if frozen
                else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            )
            # Only a server that took a connection and then stopped answering makes the
            # next callers fail at once; a refused connection (a server restarting) is
            # retried by each caller, so the first write after the restart succeeds.
            self._breaker.trip(reason, fail_fast=frozen)
            raise StoreUnavailable(f"PostgreSQL at {self.where}: {reason}") from None
        self._breaker.reset()

    def _bulk_connect(self):
        return self.connect(self.timeout_s * BULK_FACTOR)

    def health(self) -> dict[str, object] | None:
        """None when the last operation worked; else since when it fails and why."""
        return self._breaker.state()

    @contextmanager
    def _write(self, expected_version: int | None = None) -> Iterator[psycopg.Connection]:
        """One write transaction: version bumped (and locked) first, NOTIFY sent with it."""
        with self.connect() as conn, conn.transaction():
            (version,) = conn.execute(
                "UPDATE kizuki_meta SET value = value + 1 WHERE key = 'version' RETURNING value"
            ).fetchone()
            if expected_version is not None and version - 1 != expected_version:
                raise StoreChanged(f"store version is {version - 1}, not {expected_version}")
            yield conn
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(version)))

    # -- writes ---------------------------------------------------------------------------

    def add_cases(
        self, cases: Iterable[Case], origin: str = "import", expected_version: int | None = None
    ) -> int:
        cases = check_batch(cases)
        if not cases:
            return 0
        now = time.time()
        try:
            with self._write(expected_version) as conn, conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO kizuki_cases(id, doc, origin, added_at) VALUES (%s, %s, %s, %s)",
                    [(case.id, dump_case(case), origin, now) for case in cases],
                )
        except psycopg.errors.UniqueViolation as exc:
            clash = re.search(r"\(id\)=\((.*)\)", str(exc.diag.message_detail or ""))
            shown = repr(clash.group(1)) if clash else "in the batch"
            raise DuplicateCaseError(f"case id {shown} already exists") from None
        return len(cases)

    def delete_case(self, case_id: str, expected_version: int | None = None) -> bool:
        deleted = False
        with self._write(expected_version) as conn:
            cur = conn.execute("DELETE FROM kizuki_cases WHERE id = %s", (case_id,))
            deleted = cur.rowcount > 0
        return deleted

    def ensure_seeded(self, seed: Iterable[Case], name: str = "seed") -> bool:
        key = f"seeded:{name}"
        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM kizuki_meta WHERE key = %s", (key,)).fetchone():
                return False
        with self.connect() as conn, conn.transaction():
            # The version row's lock: one server seeds. The version moves (and the others
            # are told) only when this one does, so servers starting together agree on it.
            conn.execute("SELECT value FROM kizuki_meta WHERE key = 'version' FOR UPDATE")
            if conn.execute("SELECT 1 FROM kizuki_meta WHERE key = %s", (key,)).fetchone():
                return False
            now = time.time()
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO kizuki_cases(id, doc, origin, added_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                    [(case.id, dump_case(case), name, now) for case in seed],
                )
            conn.execute("INSERT INTO kizuki_meta(key, value) VALUES (%s, 1)", (key,))
            (version,) = conn.execute(
                "UPDATE kizuki_meta SET value = value + 1 WHERE key = 'version' RETURNING value"
            ).fetchone()
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(version)))
        return True

    # -- reads ----------------------------------------------------------------------------

    def fingerprint(self) -> str:
        with self.connect(self.timeout_s * BULK_FACTOR) as conn, conn.cursor() as cur:
            # Streamed row by row: the documents are never all in memory at once.
            rows = cur.stream("SELECT doc FROM kizuki_cases ORDER BY seq")
            return fingerprint_of(doc for (doc,) in rows)

    # -- following, integrity -------------------------------------------------------------

    def listen(self, on_change: Callable[[], None]) -> _Listener:
        return _Listener(self.url, self.where, on_change)

    def check(self) -> None:
        """The tables are there and the version row is readable (PostgreSQL checks its own
        pages; ``amcheck`` is the tool for a deeper look)."""
        with self.connect() as conn:
            row = conn.execute("SELECT value FROM kizuki_meta WHERE key = 'version'").fetchone()
            conn.execute("SELECT COUNT(*) FROM kizuki_cases").fetchone()
        if row is None:
            raise StoreDamaged(f"{self.where}: the store's version row is missing")

    def backup(self, destination) -> None:
        raise NotSupported(
            f"the store is PostgreSQL ({self.where}): back it up with PostgreSQL's tools "
            "(pg_dump, pg_basebackup, continuous archiving)"
        )

    def close(self) -> None:
        if self._own_pool:
            self.pool.close()


def bounded_pool(url: str, name: str, max_size: int, timeout_s: float) -> ConnectionPool:
    """A connection pool (not opened yet) whose every wait is bounded by ``timeout_s``:
    connecting, the check before a connection is lent (a frozen server would hold it
    forever), and the server-side statement and lock timeouts."""
    ms = int(timeout_s * 1000)

    def check(conn: psycopg.Connection) -> None:
        with Watchdog(conn, timeout_s):
            ConnectionPool.check_connection(conn)

    return ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={
            "autocommit": True,
            "connect_timeout": max(1, int(min(CONNECT_TIMEOUT_S, timeout_s))),
            # The server's own limits, for a server that is alive but slow or locked.
            "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
        },
        check=check,
        timeout=min(CONNECT_TIMEOUT_S, timeout_s),
        open=False,
        name=name,
    )


class Watchdog:
    """Cuts a connection's socket when the block it guards runs past ``limit`` seconds.

    A frozen server never answers and its kernel keeps the TCP connection alive, so
    libpq would wait forever; shutting the socket down makes the waiting call fail at once
    (``OperationalError``). The server rolls back whatever transaction was open."""

    def __init__(self, conn: psycopg.Connection, limit: float) -> None:
        self.conn = conn
        self.limit = limit
        self.fired = False
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Watchdog:
        self._timer = threading.Timer(self.limit, self._cut)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _cut(self) -> None:
        self.fired = True
        try:
            fd = self.conn.pgconn.socket
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except (OSError, psycopg.Error):
            pass  # already closed


class _Breaker:
    """Fail fast for ``BREAKER_S`` after a failure; remembers since when it fails."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None
        self._reason = ""
        self._retry_at = 0.0

    def check(self, where: str) -> None:
        with self._lock:
            if self._since is not None and time.monotonic() < self._retry_at:
                raise StoreUnavailable(f"PostgreSQL at {where}: {self._reason} (retrying soon)")

    def trip(self, reason: str, fail_fast: bool = True) -> None:
        with self._lock:
            if self._since is None:
                self._since = time.time()
            self._reason = reason
            self._retry_at = time.monotonic() + BREAKER_S if fail_fast else 0.0

    def reset(self) -> None:
        with self._lock:
            self._since = None

    def state(self) -> dict[str, object] | None:
        with self._lock:
            if self._since is None:
                return None
            return {"state": "unavailable", "since": self._since, "reason": self._reason}


class _Listener:
    """``LISTEN kizuki_store`` on a connection of its own, in a daemon thread.

    Reconnects (every ``retry_s``) when the connection is lost, e.g. while PostgreSQL
    restarts, and then calls ``on_change`` once: notifications sent meanwhile are lost.
    """

    def __init__(
        self, url: str, where: str, on_change: Callable[[], None], retry_s: float = 1.0
    ) -> None:
        self._url, self._where, self._on_change, self._retry_s = url, where, on_change, retry_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kizuki-listen", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connected_before = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT_S)
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if connected_before:
                        log.warning("listening to %s again", self._where)
                        self._on_change()
                    connected_before = True
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._on_change()
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                log.warning("lost the notifications of %s (%s); reconnecting", self._where, exc)
                self._stop.wait(self._retry_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
