"""Time-driven reactions (reminders, rescoring, SLA timers, drip steps): a job that one
process at a time runs every few seconds, whichever holds a PostgreSQL session advisory lock
named for it; the others try for the lock each tick and take over when its holder dies (the
lock goes with its session). What is due is data in a read model, and what a tick fires it
records through the service's own commands, so a restart fires nothing twice and misses
nothing (docs/architecture.md, "Time-driven reactions")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from psycopg import AsyncConnection

from crm_shared.auth.caller import Caller
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.events import EventMetadata

log = logging.getLogger(__name__)


def now_utc() -> datetime:
    return datetime.now(UTC)


def system_context(name: str) -> CommandContext:
    """The context of a service's own job's commands: named in the events' history as
    ``system:<name>``, with an admin's reach (the job acts on every department's records)."""
    return CommandContext(
        Caller(Principal(id=name, role=Role.ADMIN), EventMetadata(actor=f"system:{name}"))
    )


class LeaderLoop:
    """Runs ``tick`` every ``poll_seconds`` while this process holds the lock ``lock``.

    A subclass gives ``tick``; a failing tick (or a lost database, and the lock with it)
    is logged and tried again a poll later, never ends the loop."""

    def __init__(self, database_url: str, *, lock: str, poll_seconds: float = 1.0) -> None:
        self.database_url = database_url
        self.lock = lock
        self.poll_seconds = poll_seconds
        self.leading = False
        self._task: asyncio.Task[None] | None = None

    async def tick(self, conn: AsyncConnection[Any]) -> int:
        """Does what is due; how many things it looked at."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name=self.lock)

    async def stop(self) -> None:
        """Stops at once, wherever it is (as a killed process would)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.leading = False

    async def lead(self, conn: AsyncConnection[Any]) -> bool:
        """Whether this process (on ``conn``) is the one that runs the job: it holds the lock."""
        cursor = await conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [self.lock])
        row = await cursor.fetchone()
        self.leading = bool(row and row[0])
        return self.leading

    async def _run(self) -> None:
        while True:
            try:
                async with await AsyncConnection.connect(
                    self.database_url, autocommit=True
                ) as conn:
                    while True:
                        if self.leading or await self.lead(conn):
                            await self.tick(conn)
                        await asyncio.sleep(self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: a tick failed; retrying", self.lock)
                self.leading = False
                await asyncio.sleep(self.poll_seconds)


def with_job(app: FastAPI, name: str, make: Callable[[FastAPI], Awaitable[LeaderLoop]]) -> FastAPI:
    """``app`` with a job in its lifespan (``app.state.<name>``), made once the app's
    lifespan has started everything else (the read models the job reads, the use cases it
    commands) and stopped before them."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            job = await make(app)
            setattr(app.state, name, job)
            await job.start()
            try:
                yield
            finally:
                await job.stop()

    app.router.lifespan_context = lifespan
    return app
