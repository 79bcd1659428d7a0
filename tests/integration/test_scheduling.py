"""A job that one process at a time runs (``crm_shared.scheduling.LeaderLoop``), over the
real PostgreSQL: of two loops on one lock only one ticks, and when it stops (its session
and the lock with it) the other takes over; a failing tick does not end the loop."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

from psycopg import AsyncConnection

from crm_shared.scheduling import LeaderLoop
from tests.e2e.conftest import eventually


async def ticked(loop: Counting, times: int) -> bool:
    return loop.ticks >= times


class Counting(LeaderLoop):
    def __init__(self, database_url: str, lock: str, *, failing: int = 0) -> None:
        super().__init__(database_url, lock=lock, poll_seconds=0.05)
        self.ticks, self.failing = 0, failing

    async def tick(self, conn: AsyncConnection[Any]) -> int:
        if self.failing:
            self.failing -= 1
            raise RuntimeError("a tick that fails")
        self.ticks += 1
        return 1


async def test_one_of_two_loops_on_a_lock_ticks_and_the_other_takes_over_when_it_stops(
    fresh_database: str,
) -> None:
    lock = f"test-{uuid4()}"
    first, second = Counting(fresh_database, lock), Counting(fresh_database, lock)
    await first.start()
    await eventually(lambda: ticked(first, 3), within=10)
    await second.start()
    try:
        await asyncio.sleep(0.5)
        assert first.leading and not second.leading and second.ticks == 0
        await first.stop()
        await eventually(lambda: ticked(second, 3), within=10)
        assert second.leading
    finally:
        await first.stop()
        await second.stop()


async def test_a_failing_tick_is_tried_again_and_the_loop_goes_on(fresh_database: str) -> None:
    loop = Counting(fresh_database, f"test-{uuid4()}", failing=2)
    await loop.start()
    try:
        await eventually(lambda: ticked(loop, 2), within=10)
        assert loop.running and loop.failing == 0
    finally:
        await loop.stop()
    assert not loop.running and not loop.leading
