"""What the sales service runs beside its routes for activities: the calendar tokens'
table, and the reminder scheduler, started once the read models are (it reads the
activity list) and stopped before them."""

from __future__ import annotations

from fastapi import FastAPI
from psycopg import AsyncConnection

from crm_sales import calendar_tokens
from crm_sales.reminder_scheduler import ReminderScheduler
from crm_shared.scheduling import with_job


def with_agenda(app: FastAPI, database_url: str) -> FastAPI:
    """``app`` with the scheduler in its lifespan (``app.state.reminder_scheduler``)."""

    async def scheduler(app: FastAPI) -> ReminderScheduler:
        async with await AsyncConnection.connect(database_url) as conn:
            await calendar_tokens.set_up(conn)
        return ReminderScheduler(database_url, app.state.use_cases)

    return with_job(app, "reminder_scheduler", scheduler)
