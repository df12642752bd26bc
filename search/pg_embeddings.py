"""The embedding cache in the PostgreSQL store's database, shared by every server over it.

Servers over one store each grow their own index from the store's cases; with the vectors
in the database, a case is embedded once, by the server that accepted it, and the others
read its vectors (``bytea``, float32) when they catch up. The key is the same
sha256(model id, prompt, text) as the file cache's, so a vector of another model or prompt
is never reused. Connections come from one pool per process and database, checked before
use, so a PostgreSQL restart costs nothing but the calls made while it was down (those
raise ``StoreUnavailable``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import psycopg
from kizuki.corpus.pg_store import BULK_FACTOR, TIMEOUT_S, Watchdog, bounded_pool
from kizuki.corpus.store import StoreUnavailable, redact
from kizuki.search.embeddings import EmbeddingCache
from psycopg_pool import ConnectionPool, PoolTimeout

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kizuki_embeddings (
    key TEXT PRIMARY KEY,
    vec BYTEA NOT NULL
)
"""
#: Serialises table creation when several servers start at once.
_SCHEMA_LOCK = 0x4B495A56

_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def _pool(url: str, timeout_s: float) -> ConnectionPool:
    """This process's pool for the database (the table created on first use)."""
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            pool = bounded_pool(url, "kizuki-embeddings", 4, timeout_s)
            try:
                pool.open(wait=True, timeout=timeout_s)
                with pool.connection() as conn, conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    conn.execute(_SCHEMA)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                pool.close()
                raise StoreUnavailable(f"PostgreSQL at {redact(url)}: {exc}") from None
            _pools[url] = pool
        return pool


class PostgresEmbeddingCache(EmbeddingCache):
    """``EmbeddingCache`` with its vectors in the table ``kizuki_embeddings``."""

    def __init__(self, url: str, bundled: bool = True, timeout_s: float = TIMEOUT_S) -> None:
        self.bundled = bundled
        self._url = url
        self._timeout_s = timeout_s
        self._pool = _pool(url, timeout_s)

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        watchdog = None
        try:
            with self._pool.connection() as conn:
                watchdog = Watchdog(conn, self._timeout_s * BULK_FACTOR)
                with watchdog:
                    yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            why = "did not answer in time" if watchdog is not None and watchdog.fired else exc
            raise StoreUnavailable(f"PostgreSQL at {redact(self._url)}: {why}") from None

    def _stored(self, keys: list[str]) -> list[tuple[str, bytes]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key, vec FROM kizuki_embeddings WHERE key = ANY(%s)", (keys,)
            ).fetchall()
        return [(k, bytes(v)) for k, v in rows]

    def items(self) -> list[tuple[str, np.ndarray]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT key, vec FROM kizuki_embeddings ORDER BY key").fetchall()
        return [(k, np.frombuffer(bytes(v), dtype=np.float32)) for k, v in rows]

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            # Two servers may embed the same text at once: the vectors are equal, keep one.
            cur.executemany(
                "INSERT INTO kizuki_embeddings (key, vec) VALUES (%s, %s) "
                "ON CONFLICT (key) DO NOTHING",
                rows,
            )

    def close(self) -> None:
        """Nothing to release: the pool serves the whole process."""
