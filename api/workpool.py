"""A bounded pool for search work: a fixed number of worker threads and a short queue.

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

from api.errors import ApiError

T = TypeVar("T")


class WorkPool:
    def __init__(self, workers: int = 0, queue: int = 8, timeout_s: float = 30.0) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1) + 2
        self.queue = max(0, queue)
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="kizuki-search")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Searches running or waiting."""
        return self._pending

    def _release(self, _: Future) -> None:
        with self._lock:
            self._pending -= 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            if self._pending >= self.workers + self.queue:
                raise ApiError(
                    503,
                    "busy",
                    f"the server is busy ({self._pending} searches running or waiting); "
                    "retry shortly",
                    headers={"Retry-After": "1"},
                    params={"retry": 1},
                )
            self._pending += 1
        future = self._executor.submit(fn, *args)
        future.add_done_callback(self._release)
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
        self._executor.shutdown(wait=False, cancel_futures=True)
