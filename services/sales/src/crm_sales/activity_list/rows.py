"""An activity's row in the activity list, folded from its events: pure, no I/O.

The row keeps what the list filters and sorts by, and the instants its reminders fire at
(``reminders_scheduled``) with the ids already fired (``reminder_fired``): the scheduler's
data. It keeps **no personal text**: the subject, notes and location are sealed with the
key of the person the activity is about, and a copy here in clear would outlive that
person's erasure. Whoever needs the text reads the activity itself
(``GET /v1/activities/{id}``, the calendar feed), which opens it with the key while it
exists and finds it unreadable once the person is erased.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from crm_shared.catalog.sales.activities import (
    ActivityArchived,
    ActivityChanged,
    ActivityCompleted,
    ActivityKind,
    ActivityReassigned,
    ActivityReminderFired,
    ActivityRemindersScheduled,
    ActivityReopened,
    ActivityRestored,
    ActivityScheduled,
    RelatedTo,
)
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.projections.rows import fold_batch

ACTIVITY_EVENTS: tuple[type[EventData], ...] = (
    ActivityScheduled,
    ActivityChanged,
    ActivityRemindersScheduled,
    ActivityCompleted,
    ActivityReopened,
    ActivityReminderFired,
    ActivityArchived,
    ActivityRestored,
    ActivityReassigned,
)

# What of a change the row keeps: the rest (subject, notes, location) is personal text.
CHANGED_FIELDS = ("due_at", "starts_at", "ends_at", "time_zone", "assignee", "related_to")


@dataclass(frozen=True)
class ActivityRow:
    activity_id: UUID
    version: int
    kind: ActivityKind
    due_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    time_zone: str
    assignee: str | None
    related_to: RelatedTo | None
    owner: str | None
    department: str
    done: bool
    completed_at: datetime | None
    archived: bool
    created_at: datetime
    updated_at: datetime
    # (reminder id, instant it fires at), as last scheduled; and the ids that fired.
    reminders: tuple[tuple[str, datetime], ...] = ()
    fired: frozenset[str] = frozenset()

    @property
    def due(self) -> datetime | None:
        """When it is due: a task's deadline, an appointment's start (what the list sorts
        and ``due_before`` filters by)."""
        return self.due_at if self.kind is ActivityKind.TASK else self.starts_at


def scheduled(event: ReceivedEvent[ActivityScheduled]) -> ActivityRow:
    e = event.data
    return ActivityRow(
        activity_id=event.aggregate_id,
        version=event.version,
        kind=e.kind,
        due_at=e.due_at,
        starts_at=e.starts_at,
        ends_at=e.ends_at,
        time_zone=e.time_zone,
        # As the record does: left out, the assignee is whoever owns the activity.
        assignee=e.assignee or e.owner,
        related_to=e.related_to,
        owner=e.owner,
        department=e.department,
        done=False,
        completed_at=None,
        archived=False,
        created_at=event.time,
        updated_at=event.time,
    )


def fold(row: ActivityRow | None, event: ReceivedEvent[EventData]) -> ActivityRow | None:
    """The row after ``event`` (the consumer hands each activity's events once, in order)."""
    if isinstance(event.data, ActivityScheduled):
        return scheduled(event)  # type: ignore[arg-type]
    if row is None:
        return None  # its scheduling never reached the list
    changed = _changed(row, event.data, event.time)
    return replace(changed, version=event.version, updated_at=event.time)


def _changed(row: ActivityRow, data: EventData, at: datetime) -> ActivityRow:
    match data:
        case ActivityChanged():
            kept = {f: getattr(data, f) for f in CHANGED_FIELDS if f in data.model_fields_set}
            if "time_zone" in kept and kept["time_zone"] is None:
                kept["time_zone"] = "UTC"  # null clears it, as the record has it
            return replace(row, **kept)
        case ActivityRemindersScheduled(reminders=reminders):
            return replace(row, reminders=tuple((r.reminder_id, r.fires_at) for r in reminders))
        case ActivityReminderFired(reminder_id=reminder_id):
            return replace(row, fired=row.fired | {reminder_id})
        case ActivityCompleted():
            return replace(row, done=True, completed_at=at)
        case ActivityReopened():
            return replace(row, done=False, completed_at=None)
        case ActivityArchived():
            return replace(row, archived=True)
        case ActivityRestored():
            return replace(row, archived=False)
        case ActivityReassigned(owner=owner, department=department):
            return replace(row, owner=owner, department=department)
    return row


def fold_all(rows: dict[UUID, ActivityRow], events: list[ReceivedEvent[EventData]]) -> set[UUID]:
    """Folds a batch into ``rows`` in place; the activities whose row changed."""
    return fold_batch(rows, events, fold)
