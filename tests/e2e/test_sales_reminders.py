"""The reminder scheduler over the real stack: a reminder fires as one ``reminder_fired``
event, however the scheduler is stopped and restarted around its instant, and a reminder
that moved or whose activity is done does not fire.

The scheduler is the sales service's own (the stack's); its clock is set by the test,
so that "just before" and "just after" the instant are exact rather than raced. It is
stopped by cancelling its task wherever it is, as a killed process stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from psycopg import AsyncConnection

from crm_sales.activity_list import SCHEMA
from crm_sales.application import SalesApplication
from crm_sales.reminder_scheduler import ReminderScheduler, now_utc
from crm_shared.catalog.sales.activities import ActivityReminderFired
from tests.e2e.conftest import Stack, eventually

WITHIN = 60.0
TICK = timedelta(milliseconds=1)


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def app_of(stack: Stack) -> FastAPI:
    transport = sales(stack)._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    return app


class Clock:
    def __init__(self) -> None:
        self.now = now_utc()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def scheduler(stack: Stack) -> AsyncIterator[ReminderScheduler]:
    """The stack's scheduler, stopped, on a clock the test sets; put back as it was."""
    running: ReminderScheduler = app_of(stack).state.reminder_scheduler
    clock, poll = running.clock, running.poll_seconds
    await running.stop()
    running.clock, running.poll_seconds = Clock(), 0.05
    try:
        yield running
    finally:
        await running.stop()
        running.clock, running.poll_seconds = clock, poll
        await running.start()


def clock_of(scheduler: ReminderScheduler) -> Clock:
    assert isinstance(scheduler.clock, Clock)
    return scheduler.clock


async def runs_a_tick_at(scheduler: ReminderScheduler, at: datetime) -> None:
    """Starts the scheduler at ``at`` and waits until it has looked for due reminders."""
    clock_of(scheduler).now = at
    scheduler.looked_at = None
    await scheduler.start()
    await eventually(lambda: _looked(scheduler, at), within=WITHIN)


async def _looked(scheduler: ReminderScheduler, at: datetime) -> bool:
    return scheduler.looked_at == at


async def schedule_reminded_at(stack: Stack, at: datetime, **fields: Any) -> str:
    body = {
        "kind": "task",
        "subject": "Call Ada about the renewal",
        "due_at": (at + timedelta(hours=1)).isoformat(),
        "reminders": [{"type": "before", "offset": "PT1H"}],
        **fields,
    }
    response = await sales(stack).post("/v1/activities", json=body, headers=stack.auth())
    assert response.status_code == 201, response.text
    activity_id: str = response.json()["id"]
    return activity_id


async def fired(stack: Stack, activity_id: str) -> list[ActivityReminderFired]:
    """The reminder_fired events in the activity's own history (the event store)."""
    use_cases: SalesApplication = app_of(stack).state.use_cases
    events = await asyncio.to_thread(use_cases.events.events_of, UUID(activity_id))
    return [e.data for e in events if isinstance(e.data, ActivityReminderFired)]


async def reminder_rows(stack: Stack, activity_id: str) -> list[tuple[str, datetime | None]]:
    async with await AsyncConnection.connect(stack.settings.database_url or "") as conn:
        cursor = await conn.execute(
            f"SELECT reminder_id, fired_at FROM {SCHEMA}.reminders WHERE activity_id = %s"
            " ORDER BY fires_at",
            [UUID(activity_id)],
        )
        return list(await cursor.fetchall())


async def listed(stack: Stack, activity_id: str, check: Callable[[Any], bool]) -> bool:
    rows = await reminder_rows(stack, activity_id)
    return check(rows)


def soon() -> datetime:
    # A whole second, as reminder ids name instants to the second.
    return (now_utc() + timedelta(hours=2)).replace(microsecond=0)


async def test_a_reminder_fires_once_when_the_scheduler_restarts_just_before_its_instant(
    stack: Stack, scheduler: ReminderScheduler
) -> None:
    at = soon()
    activity = await schedule_reminded_at(stack, at)
    await eventually(lambda: listed(stack, activity, bool), within=WITHIN)
    await runs_a_tick_at(scheduler, at - TICK)
    await scheduler.stop()
    assert await fired(stack, activity) == []
    await runs_a_tick_at(scheduler, at + TICK)
    (once,) = await eventually(lambda: fired(stack, activity), within=WITHIN)
    assert (once.reminder_id, once.fires_at) == (f"{activity}@{at:%Y%m%dT%H%M%SZ}", at)


async def test_a_reminder_fires_once_when_the_scheduler_restarts_just_after_firing_it(
    stack: Stack, scheduler: ReminderScheduler
) -> None:
    at = soon()
    activity = await schedule_reminded_at(stack, at)
    await eventually(lambda: listed(stack, activity, bool), within=WITHIN)
    await runs_a_tick_at(scheduler, at + TICK)
    await eventually(lambda: fired(stack, activity), within=WITHIN)
    await eventually(
        lambda: listed(stack, activity, lambda rows: rows[0][1] is not None), within=WITHIN
    )
    await scheduler.stop()
    # Killed just after the firing was recorded on the activity, before the scheduler
    # (or the event coming back through the list) marked it: the list still offers it.
    async with await AsyncConnection.connect(stack.settings.database_url or "") as conn:
        await conn.execute(
            f"UPDATE {SCHEMA}.reminders SET fired_at = NULL WHERE activity_id = %s",
            [UUID(activity)],
        )
    await runs_a_tick_at(scheduler, at + 2 * TICK)
    # It tried again (and marked the row), and the activity recorded nothing new.
    await eventually(
        lambda: listed(stack, activity, lambda rows: rows[0][1] is not None), within=WITHIN
    )
    await runs_a_tick_at(scheduler, at + 3 * TICK)
    assert len(await fired(stack, activity)) == 1


async def test_a_moved_activitys_old_reminder_does_not_fire(
    stack: Stack, scheduler: ReminderScheduler
) -> None:
    at = soon()
    activity = await schedule_reminded_at(stack, at)
    await eventually(lambda: listed(stack, activity, bool), within=WITHIN)
    moved = await sales(stack).patch(
        f"/v1/activities/{activity}",
        json={"due_at": (at + timedelta(days=1)).isoformat()},
        headers=stack.auth(),
    )
    assert moved.status_code == 200, moved.text
    old = f"{activity}@{at:%Y%m%dT%H%M%SZ}"
    await eventually(
        lambda: listed(stack, activity, lambda rows: rows and rows[0][0] != old), within=WITHIN
    )
    await runs_a_tick_at(scheduler, at + TICK)
    await runs_a_tick_at(scheduler, at + 2 * TICK)
    assert await fired(stack, activity) == []


async def test_a_completed_activitys_reminder_does_not_fire(
    stack: Stack, scheduler: ReminderScheduler
) -> None:
    at = soon()
    activity = await schedule_reminded_at(stack, at)
    done = await sales(stack).post(f"/v1/activities/{activity}/complete", headers=stack.auth())
    assert done.status_code == 200, done.text
    await eventually(lambda: _done_listed(stack, activity), within=WITHIN)
    await runs_a_tick_at(scheduler, at + TICK)
    await runs_a_tick_at(scheduler, at + 2 * TICK)
    assert await fired(stack, activity) == []


async def _done_listed(stack: Stack, activity_id: str) -> bool:
    async with await AsyncConnection.connect(stack.settings.database_url or "") as conn:
        cursor = await conn.execute(
            f"SELECT done FROM {SCHEMA}.activities WHERE activity_id = %s", [UUID(activity_id)]
        )
        row = await cursor.fetchone()
        return bool(row and row[0])


async def test_only_one_scheduler_fires_at_a_time(
    stack: Stack, scheduler: ReminderScheduler
) -> None:
    use_cases: SalesApplication = app_of(stack).state.use_cases
    url = stack.settings.database_url or ""
    other = ReminderScheduler(url, use_cases)
    await runs_a_tick_at(scheduler, now_utc())
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        assert scheduler.leading
        assert not await other.lead(conn)
        await scheduler.stop()  # its connection goes, and the lock with it
        await eventually(lambda: other.lead(conn), within=WITHIN)
