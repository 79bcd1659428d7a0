"""The rescoring sweeper: rescores each lead when its score is due to change as its
engagement ages (``scoring.next_change``, recorded as the score's ``rescore_at``), and
every lead once a new rule set is put. The due instants are data in the engagement read
model (``crm_sales.lead_engagement``, table ``rescoring``).

Every ``poll_seconds`` it reads the leads due by its clock and rescores each through the
lead's own command (``RescoreLead``, as of the clock), which records ``LeadScoreChanged``
only when something but the decayed amounts moved. It then sets the row to the lead's
next due instant (if the row still holds the one it read: a newer one from the consumer
wins), so a lead whose score held is not looked at again until it is due again.

One sweeper at a time, as the reminder scheduler (``crm_sales.reminder_scheduler``): the
holder of a PostgreSQL session advisory lock sweeps; the others try for it each tick. Two
sweeping anyway would stay correct: rescoring an up-to-date lead records nothing. The
clock is injectable, so a test ages engagement by days without waiting for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastapi import FastAPI
from psycopg import AsyncConnection

from crm_sales.commands import RescoreLead
from crm_sales.domain.lead import Lead
from crm_sales.lead_engagement import SCHEMA
from crm_shared.domain import Gone, NotFound
from crm_shared.scheduling import LeaderLoop, now_utc, system_context, with_job

if TYPE_CHECKING:
    from crm_sales.application import SalesApplication

log = logging.getLogger(__name__)

LOCK = "crm-sales:rescoring-sweeper"
SWEEPER = system_context("rescoring-sweeper")


class RescoringSweeper(LeaderLoop):
    def __init__(
        self,
        database_url: str,
        sales: SalesApplication,
        *,
        schema: str = SCHEMA,
        poll_seconds: float = 1.0,
        batch: int = 200,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        super().__init__(database_url, lock=LOCK, poll_seconds=poll_seconds)
        self.sales = sales
        self.batch = batch
        self.clock = clock
        table = f'"{schema}".rescoring'
        self._due = (
            f"SELECT lead_id, rescore_at FROM {table}"
            " WHERE rescore_at <= %s AND NOT erased ORDER BY rescore_at LIMIT %s"
        )
        self._reschedule = (
            f"UPDATE {table} SET rescore_at = %s WHERE lead_id = %s AND rescore_at = %s"
        )

    async def tick(self, conn: AsyncConnection[Any]) -> int:
        return await self.sweep(conn)

    async def sweep(self, conn: AsyncConnection[Any]) -> int:
        """Rescores the leads due by the clock; how many it looked at."""
        now = self.clock()
        cursor = await conn.execute(self._due, [now, self.batch])
        due = await cursor.fetchall()
        for lead_id, rescore_at in due:
            await self._rescore(conn, lead_id, rescore_at, now)
        return len(due)

    async def _rescore(
        self, conn: AsyncConnection[Any], lead_id: UUID, was_due: datetime, now: datetime
    ) -> None:
        try:
            await self.sales.handle(RescoreLead(record_id=lead_id, at=now), SWEEPER)
            lead = await asyncio.to_thread(self.sales.load, Lead, lead_id)
            next_due = lead.rescore_at
        except (NotFound, Gone):
            next_due = None  # nothing there to rescore, now or later
        except Exception:
            # Left due: tried again next tick.
            log.exception("rescoring lead %s failed", lead_id)
            return
        # Never due again before the instant rescored: a score that held stays quiet.
        if next_due is not None and next_due <= now:
            next_due = None
        await conn.execute(self._reschedule, [next_due, lead_id, was_due])


def with_rescoring(app: FastAPI, database_url: str) -> FastAPI:
    """``app`` with the sweeper in its lifespan (``app.state.rescoring_sweeper``), started
    once the read models are (it reads the engagement model) and stopped before them."""

    async def sweeper(app: FastAPI) -> RescoringSweeper:
        return RescoringSweeper(database_url, app.state.use_cases)

    return with_job(app, "rescoring_sweeper", sweeper)
