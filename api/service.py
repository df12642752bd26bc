"""The running service: the durable case store plus an immutable snapshot of what is served.

The store (SQLite, WAL) is the single source of truth. Everything searchable or drawable
(search index, searcher, knowledge graph) is derived from it and held in one immutable
:class:`~api.snapshot.Snapshot`. A request takes the current snapshot reference once and
works on it alone, so a search that runs during an ingest sees the old state or the new
one, never a half-built one.

A write is committed to the store first; only then is the next snapshot built (the index
grows incrementally, the graph is rebuilt) and swapped in under the write lock. The write
is acknowledged after the swap, so the next search sees it. If the process dies between
commit and swap, the next start finds the saved index stale (its fingerprint no longer
matches the store) and rebuilds it from the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from api.snapshot import Snapshot, build_snapshot, read_state, update_snapshot
from corpus.schema import Case
from corpus.settings import Settings
from corpus.store import CaseStore, DuplicateCaseError

log = logging.getLogger("kizuki.service")

__all__ = ["DuplicateCaseError", "IndexingFailed", "KizukiService", "ServiceNotReady"]


class ServiceNotReady(RuntimeError):
    """The first snapshot is still being built."""


class IndexingFailed(RuntimeError):
    """A write was committed but the next snapshot could not be built (retried later)."""


def _default_seed() -> list[Case]:
    from corpus import seed_cases

    return list(seed_cases())


class KizukiService:
    """Owns the store and the current snapshot; all writes go through here."""

    def __init__(
        self, settings: Settings, seed: Callable[[], Iterable[Case]] | None = _default_seed
    ) -> None:
        self.settings = settings
        self.store = CaseStore(settings.store_path)
        self._seed = seed
        self._write_lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Snapshot:
        """Seed an empty store once, then build (or load) the index and graph from it."""
        if self._seed is not None:
            if self.store.ensure_seeded(self._seed()):
                log.info("seeded the store with the bundled corpus")
        with self._write_lock:
            self._snapshot = build_snapshot(self._read_store(), self.settings)
        snap = self._snapshot
        log.info(
            "serving %d cases (store version %d) built in %.1f s",
            len(snap.cases),
            snap.store_version,
            snap.build_seconds,
        )
        return snap

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot; take it once per request and use only that reference."""
        snap = self._snapshot
        if snap is None:
            raise ServiceNotReady("the service is still starting")
        return snap

    # -- writes ---------------------------------------------------------------------------

    def add_cases(self, cases: list[Case]) -> Snapshot:
        """Commit new cases durably, then serve them; the whole batch or nothing is stored."""
        with self._write_lock:
            self.store.add_cases(cases, origin="api")  # committed (fsync) when this returns
            return self._refresh_locked()

    def delete_case(self, case_id: str) -> bool:
        with self._write_lock:
            if not self.store.delete_case(case_id):
                return False
            self._refresh_locked()
            return True

    def refresh_if_stale(self) -> bool:
        """Pick up writes made by another process (e.g. ``kizuki corpus import``)."""
        snap = self._snapshot
        if snap is None or self.store.version() == snap.store_version:
            return False
        with self._write_lock:
            if self.store.version() == self.snapshot.store_version:
                return False
            self._refresh_locked()
            return True

    # -- internals ------------------------------------------------------------------------

    def _read_store(self) -> tuple[int, list[Case], dict[str, str]]:
        return read_state(self.store)

    def _refresh_locked(self) -> Snapshot:
        started = time.perf_counter()
        state = self._read_store()
        previous = self._snapshot
        try:
            new = update_snapshot(previous, state, self.settings)
        except Exception:
            # The store already holds the write; never serve a stale view of it.
            log.exception("incremental update failed; rebuilding from the store")
            try:
                new = build_snapshot(state, self.settings)
            except Exception as exc:
                # Keep serving the previous state; the refresh loop retries, since the
                # store's version now differs from the snapshot's.
                log.exception(
                    "rebuild failed; still serving store version %s",
                    previous.store_version if previous else None,
                )
                raise IndexingFailed(str(exc)) from exc
        self._snapshot = new  # one reference assignment: readers see old or new
        log.info(
            "snapshot swapped: %d cases, store version %d, %.2f s",
            len(new.cases),
            new.store_version,
            time.perf_counter() - started,
        )
        return new
