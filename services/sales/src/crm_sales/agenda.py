"""What the sales service runs beside its routes for activities: the calendar tokens'
table, and the reminder scheduler, started once the read models are (it reads the
activity list) and stopped before them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg import AsyncConnection

from crm_sales import calendar_tokens
from crm_sales.reminder_scheduler import ReminderScheduler


def with_agenda(app: FastAPI, database_url: str) -> FastAPI:
    """``app`` with the scheduler in its lifespan (``app.state.reminder_scheduler``)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            async with await AsyncConnection.connect(database_url) as conn:
                await calendar_tokens.set_up(conn)
            scheduler = ReminderScheduler(database_url, app.state.use_cases)
            app.state.reminder_scheduler = scheduler
            await scheduler.start()
            try:
                yield
            finally:
                await scheduler.stop()

    app.router.lifespan_context = lifespan
    return app
