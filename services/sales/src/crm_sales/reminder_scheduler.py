"""The reminder scheduler: fires each activity reminder exactly once, as its event.

The due instants are data in the activity list (``reminders``, from
``reminders_scheduled``). Every ``poll_seconds`` the scheduler reads the rows with an
unfired reminder whose instant has come, asks the pure rule what is due
(``activity_list.due``) and fires each through the activity itself (``FireReminder``).

Why exactly once (docs/architecture.md, "The reminder scheduler"):

- **The activity is the scheduler's position.** Firing appends ``reminder_fired`` to the
  activity's own events, and the record's state holds every id it fired: recording the
  firing and recording that it fired are one append, in one transaction, under the
  activity's version (a concurrent append loses and is retried on the new state). A
  reminder that the record already fired, or no longer schedules (the activity moved:
  its reminder has a new id), or whose activity is done or cancelled, records nothing.
- **Nothing twice.** A scheduler stopped just after the append (before it marked the row,
  before the event came back to the list) finds the reminder again when it restarts and
  fires it again: the record refuses the second, and nothing is appended.
- **Nothing missed.** A scheduler stopped just before the instant, or before its append
  committed, finds the reminder unfired when it comes back, however late: a due row
  stays due until it is marked, and rows are marked only after the append (or the
  ``reminder_fired`` event) is in.

**One scheduler at a time.** Every worker and replica of the sales service runs one, but
only the holder of a PostgreSQL session advisory lock fires; the others try for it each
tick. The lock belongs to the holder's connection, so a holder that dies (its process
killed, its connection cut) frees it at once for another. The consumer's partition
ownership would not do: the reminders of an activity are due long after its events were
applied, when nothing is being consumed. Two firing anyway (a lock lost and retaken
mid-tick) stay correct, for the reason above: the second append is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from crm_sales.activity_commands import FireReminder
from crm_sales.activity_list import SCHEMA
from crm_sales.activity_list.due import due_now
from crm_sales.activity_list.read_model import ActivityList, row_of
from crm_shared.scheduling import LeaderLoop, now_utc, system_context

if TYPE_CHECKING:
    from crm_sales.application import SalesApplication

log = logging.getLogger(__name__)

LOCK = "crm-sales:reminder-scheduler"
# The scheduler's own name in the activities' history (event metadata's actor).
SCHEDULER = system_context("reminder-scheduler")


class ReminderScheduler(LeaderLoop):
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
        self.schema = schema
        self.batch = batch
        self.clock = clock
        # When the last tick that looked for due reminders began (tests wait for one).
        self.looked_at: datetime | None = None
        model = ActivityList(schema)
        self._due_rows = (
            f"SELECT a.* FROM {model.schema}.activities a WHERE NOT a.archived AND NOT a.done"
            f" AND EXISTS (SELECT 1 FROM {model.schema}.reminders r"
            " WHERE r.activity_id = a.activity_id AND r.fired_at IS NULL AND r.fires_at <= %s)"
            " ORDER BY a.due LIMIT %s"
        )
        self._reminders_of = (
            f"SELECT activity_id, reminder_id, fires_at, fired_at FROM {model.schema}.reminders"
            " WHERE activity_id = ANY(%s)"
        )
        self._mark = (
            f"UPDATE {model.schema}.reminders SET fired_at = %s"
            " WHERE reminder_id = %s AND fired_at IS NULL"
        )

    async def tick(self, conn: AsyncConnection[Any]) -> int:
        return await self.fire_due(conn)

    async def fire_due(self, conn: AsyncConnection[Any]) -> int:
        """Fires what is due now; how many reminders it looked at."""
        now = self.clock()
        self.looked_at = now
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(self._due_rows, [now, self.batch])
            found = await cur.fetchall()
            if not found:
                return 0
            await cur.execute(self._reminders_of, [[r["activity_id"] for r in found]])
            scheduled: dict[Any, list[tuple[str, datetime]]] = {}
            fired: dict[Any, set[str]] = {}
            for r in await cur.fetchall():
                scheduled.setdefault(r["activity_id"], []).append((r["reminder_id"], r["fires_at"]))
                if r["fired_at"] is not None:
                    fired.setdefault(r["activity_id"], set()).add(r["reminder_id"])
        rows = [
            row_of(r, scheduled.get(r["activity_id"], []), fired.get(r["activity_id"], set()))
            for r in found
        ]
        due = due_now(rows, now)
        for reminder in due:
            await self._fire(conn, reminder.activity_id, reminder.id)
        return len(due)

    async def _fire(self, conn: AsyncConnection[Any], activity_id: Any, reminder_id: str) -> None:
        try:
            await self.sales.handle(
                FireReminder(record_id=activity_id, reminder_id=reminder_id),
                SCHEDULER,
            )
        except Exception:
            # Left unmarked: tried again next tick (the record refuses a second firing).
            log.exception("firing reminder %s failed", reminder_id)
            return
        # Recorded on the activity (or refused by it): the list need not offer it again.
        await conn.execute(self._mark, [self.clock(), reminder_id])
