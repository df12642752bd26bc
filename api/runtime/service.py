"""The running service: the durable case store plus an immutable snapshot of what is served.

The store (SQLite, or PostgreSQL shared by several servers) is the single source of truth. Everything searchable or drawable
(search index, searcher, knowledge graph) is derived from it and held in one immutable
:class:`~api.runtime.snapshot.Snapshot`. A request takes the current snapshot reference once and
works on it alone, so a search that runs during an ingest sees the old state or the new
one, never a half-built one.

A write is validated for everything derived from it *before* it is committed: under the
write lock the next snapshot (index grown incrementally, graph rebuilt) is built in memory
from the store's state plus the new cases; only if that succeeds is the write committed,
with a check that the store is still at the version the snapshot was built from (another
process may write too). Then the snapshot is saved and swapped in, and the write is
acknowledged, so the next search sees it. A write whose cases cannot be indexed or linked
stores nothing. If the process dies between commit and save, the next start finds the
saved index stale (its fingerprint no longer matches the store) and rebuilds it.

At start the store is checked first (SQLite: a lost write-ahead log, ``PRAGMA quick_check``);
stored rows that cannot be served are reported (log and ``/health``) and skipped.

Analysts' judgements live in the same file, in a table of their own
(``api.runtime.judgements.JudgementBook``): they never change the snapshot, only how its
searches are ranked.
"""

from __future__ import annotations

import contextlib
import logging
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from kizuki.api.exceptions import IndexingFailed, NotIndexable, ServiceNotReady
from kizuki.api.runtime import watermark
from kizuki.api.runtime.judgements import JudgementBook
from kizuki.api.runtime.progress import BuildProgress
from kizuki.api.runtime.saver import SnapshotSaver
from kizuki.api.runtime.snapshot import (
    Snapshot,
    StoreState,
    build_snapshot,
    persist_snapshot,
    read_state,
    update_snapshot,
)
from kizuki.corpus import seed_cases
from kizuki.corpus.feedback import open_feedback_store
from kizuki.corpus.schema import Case
from kizuki.corpus.settings import Settings
from kizuki.corpus.store import (
    DuplicateCaseError,
    StoreChanged,
    StoreDamaged,
    StoreFull,
    StoreUnavailable,
    is_disk_full,
    open_store,
    redact,
)
from kizuki.search.embeddings import check_embedding_cache

log = logging.getLogger("kizuki.service")

__all__ = ["KizukiService"]

#: Attempts at a write when another process keeps changing the store under it; between
#: attempts a writer waits a random moment (up to ``attempt x RETRY_STEP_S``), so two
#: servers that collided do not collide again in lockstep.
WRITE_ATTEMPTS = 8
RETRY_STEP_S = 0.05
#: A start on a disk with less free space than this fails at once, with one line.
MIN_FREE_BYTES = 32 * 2**20


def _back_off(attempt: int) -> None:
    time.sleep(random.uniform(0, (attempt + 1) * RETRY_STEP_S))


def _default_seed() -> list[Case]:
    return list(seed_cases())


class KizukiService:
    """Owns the store and the current snapshot; all writes go through here."""

    def __init__(
        self, settings: Settings, seed: Callable[[], Iterable[Case]] | None = _default_seed
    ) -> None:
        self.settings = settings
        self.store = open_store(settings, check=settings.store_check)
        #: Analysts' judgements (in the case store's database, their own table and lock).
        self.judgements = JudgementBook(settings, open_feedback_store(settings, self.store))
        self._seed = seed
        #: What ``start`` is doing (``/health`` shows it while the server starts).
        self.progress = BuildProgress()
        #: Why the start failed, when it did (the server then stops).
        self.start_error: str | None = None
        self._write_lock = threading.Lock()
        #: Held while snapshot files are written: by the background saver, and by a refresh
        #: (which saves what it builds), so that two saves never interleave.
        self._save_lock = threading.Lock()
        self._saver = SnapshotSaver(self._persist, self._saved)
        #: The last store or disk failure a request, the refresh loop or a save met (None
        #: once the store answers again): ``/health`` reports it.
        self._store_problem: tuple[str, float, str] | None = None
        self._save_problem: str | None = None
        self._snapshot: Snapshot | None = None
        #: Problems met since start (corrupt files rebuilt, …), newest last, for /health.
        self.events: list[str] = []
        self.index_verified: bool | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Snapshot:
        """Seed an empty store once, then build (or load) the index and graph from it.

        A store that went back in time (its version below what this data dir already
        served: a deleted or replaced file, a damaged ``-wal``) is refused (``StoreDamaged``)
        before anything is seeded or rebuilt over it (``api.runtime.watermark``)."""
        self.progress.update("checking the case store")
        self._check_disk()
        self._check_watermark()
        check_embedding_cache(self.settings, self._event)
        if self._seed is not None:
            self.progress.update("seeding the case store")
            if self.store.ensure_seeded(self._seed()):
                log.info("seeded the store with the bundled corpus")
        with self._write_lock:
            self.progress.update("reading the case store")
            state = self._read_store()
            self._snapshot = build_snapshot(state, self.settings, progress=self.progress.update)
        snap = self._snapshot
        self._note(snap)
        self._mark(snap)
        self.progress.update("loading the analysts' judgements")
        self.judgements.load()
        self.progress.update("ready")
        log.info(
            "serving %d cases (store version %d) built in %.1f s",
            len(snap.cases),
            snap.store_version,
            snap.build_seconds,
        )
        if getattr(snap.index, "fully_verified", True):
            self.index_verified = True
        else:
            self.index_verified = False
            threading.Thread(
                target=self._verify_index, args=(snap,), name="kizuki-verify", daemon=True
            ).start()
        return snap

    def _event(self, message: str) -> None:
        """Something was repaired or rebuilt: the log and ``/health`` (``events``) say so."""
        log.warning("%s", message)
        self.events.append(message)
        del self.events[:-20]

    # -- the store's state, as /health reports it ------------------------------------------

    def store_failed(self, exc: BaseException) -> None:
        """A request or the refresh loop could not reach (or write) the store."""
        state = "full" if is_disk_full(exc) else "unavailable"
        since = self._store_problem[1] if self._store_problem else time.time()
        self._store_problem = (state, since, str(exc))

    def store_answered(self, wrote: bool = False) -> None:
        """The store answered (a read), or took a write: a full disk is over only then."""
        if self._store_problem is not None and (wrote or self._store_problem[0] != "full"):
            self._store_problem = None

    def _saved(self, error: BaseException | None) -> None:
        if error is None:
            self._save_problem = None
            self.store_answered(wrote=True)
        else:
            self._save_problem = f"{type(error).__name__}: {error}"
            if is_disk_full(error):
                self.store_failed(error)

    def store_state(self) -> dict[str, object]:
        """``{"state": "ok" | "unavailable" | "full", "since", "reason"}`` without asking
        the store (``/health`` must answer while the store does not)."""
        down = self.store.health()
        if self._store_problem is not None:
            state, since, reason = self._store_problem
            return {"state": state, "since": since, "reason": reason}
        if down is not None:
            return dict(down)
        return {"state": "ok", "since": None, "reason": None}

    @property
    def save_problem(self) -> str | None:
        """Why the newest snapshot could not be saved (None when it was)."""
        return self._save_problem

    def _check_disk(self) -> None:
        """Fail fast on a full disk, before hours of rebuilding end in ENOSPC."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.settings.data_dir).free
        if free < MIN_FREE_BYTES:
            raise StoreFull(
                f"the disk holding {self.settings.data_dir} has {free / 2**20:.1f} MiB free; "
                f"Kizuki needs at least {MIN_FREE_BYTES // 2**20} MiB to start (free some "
                "space, or use --data-dir on another disk)"
            )

    @property
    def _store_key(self) -> str:
        """Which store the mark is about: the data dir's own SQLite file (wherever the dir
        is moved), or the PostgreSQL URL without its password."""
        if self.settings.database_url:
            return redact(self.settings.database_url)
        return f"sqlite:{self.settings.store_path.name}"

    def _check_watermark(self) -> None:
        mark = watermark.read(self.settings.data_dir)
        if mark is None:
            return
        problem = mark.problem(
            self._store_key,
            self.store.version(),
            self.store.count(),
            watermark.path_in(self.settings.data_dir),
        )
        if problem:
            raise StoreDamaged(problem)

    def _mark(self, snap: Snapshot) -> None:
        """Record the newest store state served (never fails a write: it only protects)."""
        try:
            watermark.write(
                self.settings.data_dir,
                watermark.Watermark(self._store_key, snap.store_version, len(snap.cases)),
            )
        except OSError as exc:
            log.warning("cannot record the store's high-water mark: %s", exc)

    def _note(self, snap: Snapshot) -> None:
        for row in snap.skipped:
            log.error("stored case %r is not served: %s", row["id"], row["reason"])
        for event in snap.events:
            log.warning("%s", event)
            self.events.append(event)
        del self.events[:-20]

    def _verify_index(self, snap: Snapshot) -> None:
        """Hash a large snapshot's files in the background; rebuild it on a mismatch."""
        try:
            problem = snap.index.verify_files()
        except OSError as exc:
            problem = str(exc)
        if problem is None:
            self.index_verified = True
            return
        message = f"index snapshot fails its checksums ({problem}); rebuilding it from the store"
        log.error("%s", message)
        self.events.append(message)
        with self._write_lock:
            link = self.settings.index_dir
            if link.is_symlink():
                link.unlink()  # the next build cannot load it, so it rebuilds
            try:
                new = build_snapshot(self._read_store(), self.settings)
            except Exception:
                log.exception("rebuilding the index failed; still serving the loaded one")
                return
            self._snapshot = new
            self.index_verified = True

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
        """Validate, commit durably, then serve new cases; the whole batch or nothing.

        Raises ``DuplicateCaseError`` (an id is taken), ``NotIndexable`` (the cases cannot
        be indexed or linked into the graph) or ``IndexingFailed`` (a server-side failure);
        in each case nothing is stored.
        """
        with self._writing():
            for attempt in range(WRITE_ATTEMPTS):
                state = self._state_for_write()
                taken = {c.id for c in state.cases} | {row["id"] for row in state.skipped}
                seen: set[str] = set()
                for case in cases:
                    if case.id in taken:
                        raise DuplicateCaseError(f"case id {case.id!r} already exists")
                    if case.id in seen:
                        raise DuplicateCaseError(f"case id {case.id!r} appears twice in the batch")
                    seen.add(case.id)
                origins = {**state.origins, **{c.id: "api" for c in cases}}
                candidate = StoreState(
                    state.version + 1, [*state.cases, *cases], origins, state.skipped
                )
                new = self._derive(candidate, must_serve=[c.id for c in cases])
                try:
                    # committed (fsync) when this returns
                    self.store.add_cases(cases, origin="api", expected_version=state.version)
                except StoreChanged:
                    _back_off(attempt)
                    continue  # another process wrote meanwhile: derive again from its state
                return self._swap(new)
            raise IndexingFailed("the store kept changing under the write (another writer)")

    def delete_case(self, case_id: str) -> bool:
        with self._writing():
            for attempt in range(WRITE_ATTEMPTS):
                state = self._state_for_write()
                stored = {c.id for c in state.cases} | {row["id"] for row in state.skipped}
                if case_id not in stored:
                    return False
                candidate = StoreState(
                    state.version + 1,
                    [c for c in state.cases if c.id != case_id],
                    {k: v for k, v in state.origins.items() if k != case_id},
                    tuple(row for row in state.skipped if row["id"] != case_id),
                )
                new = self._derive(candidate)
                try:
                    if not self.store.delete_case(case_id, expected_version=state.version):
                        return False
                except StoreChanged:
                    _back_off(attempt)
                    continue
                self._swap(new)
                return True
            raise IndexingFailed("the store kept changing under the write (another writer)")

    def refresh_if_stale(self) -> bool:
        """Pick up writes made by another process (another server, ``kizuki corpus import``)."""
        snap = self._snapshot
        if snap is None or self.store.version() == snap.store_version:
            return False
        with self._write_lock:
            if self.store.version() == self.snapshot.store_version:
                return False
            self._refresh_locked()
            return True

    # -- internals ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The write lock. Writes take turns; but while the store is known not to answer,
        one waiting behind another gives up (``StoreUnavailable``) instead of queueing for
        a timeout each."""
        while not self._write_lock.acquire(timeout=0.5):
            state = self.store_state()
            if state["state"] != "ok":
                raise StoreUnavailable(
                    f"the store does not answer ({state['reason']}); writes wait for it"
                )
        try:
            yield
        finally:
            self._write_lock.release()

    def _state_for_write(self) -> StoreState:
        """The state a write starts from: the served snapshot's while the store has not
        moved since it was built (reading and parsing every stored case again takes most of
        a second at 10k cases), else the store's."""
        snap = self._snapshot
        if snap is not None and self.store.version() == snap.store_version:
            return StoreState(
                snap.store_version, list(snap.cases), dict(snap.origins), tuple(snap.skipped)
            )
        return self._read_store()

    def _read_store(self) -> StoreState:
        return read_state(self.store)

    def _derive(self, candidate: StoreState, must_serve: list[str] = ()) -> Snapshot:
        """The snapshot of a state that is not committed yet (nothing written to disk)."""
        try:
            new = update_snapshot(self._snapshot, candidate, self.settings, persist=False)
        except StoreUnavailable:
            raise  # e.g. the shared embedding cache cannot be reached: the server's side
        except Exception as exc:
            if is_disk_full(exc):
                raise StoreFull(f"the disk is full ({exc}); nothing was stored") from exc
            log.exception("a write cannot be indexed or linked; nothing was stored")
            if isinstance(exc, OSError | MemoryError | sqlite3.Error):
                raise IndexingFailed(str(exc)) from exc
            raise NotIndexable(f"{type(exc).__name__}: {exc}"[:500]) from exc
        missing = [cid for cid in must_serve if cid not in new.by_id]
        if missing:
            why = {row["id"]: row["reason"] for row in new.skipped}
            raise NotIndexable(f"case {missing[0]!r} cannot be served: {why.get(missing[0])}")
        return new

    def _persist(self, snap: Snapshot) -> None:
        with self._save_lock:
            persist_snapshot(snap, self.settings)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the served snapshot is saved (at shutdown); False on timeout."""
        return self._saver.flush(timeout)

    def _swap(self, new: Snapshot) -> Snapshot:
        """Serve the committed state's snapshot (one reference assignment), then save it in
        the background: the write is durable in the store already, the saved files only
        make the next start faster."""
        self.store_answered(wrote=True)
        self._snapshot = new
        self._mark(new)
        self._saver.submit(new)  # saved in the background: the store already holds the write
        return new

    def _refresh_locked(self) -> Snapshot:
        started = time.perf_counter()
        state = self._read_store()
        previous = self._snapshot
        try:
            with self._save_lock:
                new = update_snapshot(previous, state, self.settings)
        except Exception:
            # The store already holds the write; never serve a stale view of it.
            log.exception("incremental update failed; rebuilding from the store")
            try:
                with self._save_lock:
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
        self._note(new)
        self._mark(new)
        log.info(
            "snapshot swapped: %d cases, store version %d, %.2f s",
            len(new.cases),
            new.store_version,
            time.perf_counter() - started,
        )
        return new
