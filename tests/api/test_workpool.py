"""The search pool's lanes (issue 20, item 11): long texts queue among themselves, short
searches keep their own workers, and each lane refuses work beyond its queue."""

from __future__ import annotations

import asyncio
import threading

import pytest
from kizuki.api.http.errors import ApiError
from kizuki.api.http.workpool import WorkPool


def test_long_texts_run_one_at_a_time_beside_short_searches():
    pool = WorkPool(workers=2, queue=4, timeout_s=60, long_workers=1, long_chars=100)
    release = threading.Event()
    running: list[str] = []
    lock = threading.Lock()
    peak = {"long": 0}

    def long_job(name: str) -> str:
        with lock:
            running.append(name)
            peak["long"] = max(peak["long"], sum(1 for r in running if r.startswith("long")))
        release.wait(30)
        with lock:
            running.remove(name)
        return name

    def short_job() -> str:
        return "short"

    async def scenario() -> list[str]:
        longs = [asyncio.create_task(pool.run(long_job, f"long{i}", cost=500)) for i in range(3)]
        await asyncio.sleep(0.2)
        # Both long texts wait behind the first one, yet a short search is served at once.
        assert await asyncio.wait_for(pool.run(short_job, cost=20), 30) == "short"
        release.set()
        return await asyncio.gather(*longs)

    try:
        assert asyncio.run(scenario()) == ["long0", "long1", "long2"]
    finally:
        release.set()
        pool.shutdown()
    assert peak["long"] == 1


def test_a_full_lane_answers_503_busy_and_the_other_lane_still_works():
    pool = WorkPool(workers=1, queue=0, timeout_s=60, long_workers=1, long_chars=100)
    release = threading.Event()

    async def scenario() -> None:
        first = asyncio.create_task(pool.run(release.wait, 30, cost=500))
        await asyncio.sleep(0.2)
        with pytest.raises(ApiError) as exc:
            await pool.run(release.wait, 30, cost=500)
        assert exc.value.status_code == 503 and exc.value.code == "busy"
        assert await pool.run(len, "short", cost=5) == 5
        release.set()
        await first

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        pool.shutdown()
