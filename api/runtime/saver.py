"""Saving snapshots off the write path.

A write is durable once the store commits it; the saved index and graph are only a faster
way to start. Saving them (seconds at 10k cases) therefore happens on one background
thread after the write is answered. Only the newest snapshot is saved: one queued behind
another replaces it. A process that dies before a save finishes starts from the store and
rebuilds what is stale (the snapshot files are checksummed and swapped atomically).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["SnapshotSaver"]

log = logging.getLogger("kizuki.api")


class SnapshotSaver:
    """``submit(snapshot)`` returns at once; ``flush()`` waits until the newest is saved."""

    def __init__(
        self,
        save: Callable[[Any], None],
        on_result: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        self._save = save
        #: Told how each save went (None: saved), e.g. so ``/health`` can say it fails.
        self._on_result = on_result or (lambda error: None)
        self._pending: Any = None
        self._busy = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, snapshot: Any) -> None:
        with self._cond:
            self._pending = snapshot
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="kizuki-saver", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for the newest submitted snapshot to be saved; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._pending is not None, timeout=30):
                    self._thread = None
                    return
                snapshot, self._pending, self._busy = self._pending, None, True
            try:
                self._save(snapshot)
                self._on_result(None)
            except Exception as exc:  # served from memory; a restart rebuilds the stale files
                log.exception("saving the snapshot failed; it will be rebuilt on the next start")
                self._on_result(exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
