"""What the reminder scheduler fires now, from the activity list's rows: pure, no I/O.

The rows hold the instants their reminders fire at (as ``reminders_scheduled`` recorded
them); the rule of what is due is ``documents.reminders.due_reminders``, the same one the
calendar feed's alarms follow: a reminder whose instant has come, not fired yet, of an
activity that is neither done nor an appointment already over. Each instant is given to
that rule as a ``RemindAt``, so the id it computes is the id the activity recorded
(activity id @ instant): the scheduler fires under the activity's own ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crm_sales.activity_list.rows import ActivityRow
from crm_sales.documents import reminders
from crm_sales.documents.reminders import DueReminder


def as_planned(row: ActivityRow) -> reminders.Activity | None:
    """The row as the reminder rules see it (None: cancelled, or with no due time)."""
    if row.archived or row.due is None or row.assignee is None:
        return None
    return reminders.Activity(
        id=row.activity_id,
        kind=reminders.ActivityKind(row.kind),
        title="",  # the scheduler needs no text: the event names the activity
        assignee=row.assignee,
        due=row.due,
        changed_at=row.updated_at,
        ends=row.ends_at,
        reminders=tuple(reminders.RemindAt(instant) for _, instant in row.reminders),
        done_at=row.completed_at if row.done else None,
    )


def due_now(rows: Iterable[ActivityRow], now: datetime) -> list[DueReminder]:
    """The reminders to fire at ``now``, earliest first."""
    rows = list(rows)
    planned = [a for a in map(as_planned, rows) if a is not None]
    fired = {reminder_id for row in rows for reminder_id in row.fired}
    return reminders.due_reminders(planned, fired, now)
