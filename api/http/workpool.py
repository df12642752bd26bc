"""A bounded pool for search work: fixed numbers of worker threads and short queues.

Searching is CPU work (Sudachi, e5, faiss, the extractor). Run on an unbounded thread
pool, a few clients sending large queries take every core and everybody waits. Here at
most ``workers`` searches run at once and at most ``queue`` more wait; a request beyond
that is answered at once with 503 and ``Retry-After``. A search that runs past
``timeout_s`` is answered with 503 too; its thread finishes the work in the background
and keeps its slot until then, so the bound on concurrent work stays true.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from kizuki.api.http.errors import ApiError

T = TypeVar("T")


class _Lane:
    """Worker threads and a bounded queue (503 ``busy`` beyond it)."""

    def __init__(self, name: str, workers: int, queue: int) -> None:
        self.name = name
        self.workers = workers
        self.queue = max(0, queue)
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix=f"kizuki-{name}")
        self.pending = 0
        self.lock = threading.Lock()

    def admit(self) -> None:
        with self.lock:
            if self.pending >= self.workers + self.queue:
                raise ApiError(
                    503,
                    "busy",
                    f"the server is busy ({self.pending} {self.name} requests running or "
                    "waiting); retry shortly",
                    headers={"Retry-After": "1"},
                    params={"retry": 1},
                )
            self.pending += 1

    def release(self, _: Future) -> None:
        with self.lock:
            self.pending -= 1


class WorkPool:
    """Two lanes: texts longer than ``long_chars`` (a pasted report, a change plan) run on
    ``long_workers`` threads of their own, the rest on ``workers``. A long text costs a
    second or more of one core (a 512-token embedding, many sentences); with one long lane
    on a 2-core machine, clients sending long texts take at most one core between them
    and a normal search always finds the other one."""

    def __init__(
        self,
        workers: int = 0,
        queue: int = 8,
        timeout_s: float = 30.0,
        long_workers: int = 1,
        long_chars: int = 400,
    ) -> None:
        cores = os.cpu_count() or 1
        self.workers = workers if workers > 0 else cores + 2
        self.long_chars = long_chars
        self.timeout_s = timeout_s
        self._short = _Lane("search", self.workers, queue)
        self._long = _Lane("long-text", max(1, long_workers), queue)

    @property
    def pending(self) -> int:
        """Requests running or waiting, both lanes."""
        return self._short.pending + self._long.pending

    async def run(self, fn: Callable[..., T], *args: Any, cost: int = 0) -> T:
        """Run ``fn(*args)`` on the lane its ``cost`` (characters of text) chooses."""
        lane = self._long if cost > self.long_chars else self._short
        lane.admit()
        future = lane.executor.submit(fn, *args)
        future.add_done_callback(lane.release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)
        except TimeoutError:
            raise ApiError(
                503,
                "search_timeout",
                f"the search did not finish within {self.timeout_s:g} s; retry later",
                headers={"Retry-After": "5"},
                params={"seconds": f"{self.timeout_s:g}"},
            ) from None

    def shutdown(self) -> None:
        for lane in (self._short, self._long):
            lane.executor.shutdown(wait=False, cancel_futures=True)
