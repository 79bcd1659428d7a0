"""Activities (tasks and appointments) and the reminders due for them at an instant.

Time is UTC instants throughout; a reminder set in local terms ("the day before at 09:00
in Europe/Berlin") is turned into an instant through ``zoneinfo``, so it stays at 09:00
on the wall clock across a daylight-saving change, where "24 hours before" would not.

``due_reminders`` is the whole rule a scheduler needs: given what it has already fired,
what is due now. It keeps no state and looks at no clock. A reminder's id names its
activity and the instant it fires at, so the same reminder has the same id on every call:
a scheduler that records the ids it fired in the same transaction as its position fires
nothing twice after a restart (the id is recorded) and misses nothing (anything due and
unrecorded is returned, however late the scheduler comes back).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_shared.domain import Invalid


class ActivityIsInvalid(Invalid):
    code = "invalid_activity"


class ActivityKind(StrEnum):
    TASK = "task"
    APPOINTMENT = "appointment"


@dataclass(frozen=True)
class RemindBefore:
    """A span before the activity is due (an appointment: before it starts)."""

    offset: timedelta


@dataclass(frozen=True)
class RemindAt:
    instant: datetime


@dataclass(frozen=True)
class RemindOnLocalDay:
    """A wall-clock time in a time zone, some days before the local day the activity is
    due: ``RemindOnLocalDay(1, time(9), "Europe/Berlin")`` is "the day before at 09:00"."""

    days_before: int
    at: time
    zone: str


Reminder = RemindBefore | RemindAt | RemindOnLocalDay


@dataclass(frozen=True)
class Activity:
    """A task (``due`` is its deadline) or an appointment (``due`` is when it starts).

    ``sequence`` counts the revisions since it was created and ``changed_at`` is when the
    last one was made: a calendar program replaces its copy when the sequence grows."""

    id: UUID
    kind: ActivityKind
    title: str
    assignee: str
    due: datetime
    changed_at: datetime
    ends: datetime | None = None
    reminders: tuple[Reminder, ...] = ()
    done_at: datetime | None = None
    description: str = ""
    location: str = ""
    sequence: int = 0

    def __post_init__(self) -> None:
        for name in ("due", "changed_at", "ends", "done_at"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, utc(value, field=name))
        if self.kind is ActivityKind.APPOINTMENT and (self.ends is None or self.ends < self.due):
            raise ActivityIsInvalid("an appointment ends after it starts", field="ends")
        if self.kind is ActivityKind.TASK and self.ends is not None:
            raise ActivityIsInvalid("a task has a due time, not an end", field="ends")
        for position, reminder in enumerate(self.reminders):
            _check(reminder, f"reminders[{position}]")

    @property
    def done(self) -> bool:
        return self.done_at is not None

    def revised(self, at: datetime, **changes: Any) -> Activity:
        """The activity after a change made at ``at``: the next sequence number."""
        return replace(self, **changes, sequence=self.sequence + 1, changed_at=at)


@dataclass(frozen=True, order=True)
class DueReminder:
    fires_at: datetime
    id: str
    activity_id: UUID
    assignee: str
    title: str
    due: datetime


def utc(instant: datetime, *, field: str) -> datetime:
    # A naive datetime is a wall-clock time in no known zone: refusing it beats guessing.
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ActivityIsInvalid("an instant carries its time zone", field=field)
    return instant.astimezone(UTC)


def fires_at(reminder: Reminder, due: datetime) -> datetime:
    match reminder:
        case RemindBefore(offset):
            return due - offset
        case RemindAt(instant):
            return utc(instant, field="reminders")
        case RemindOnLocalDay(days_before, at, zone):
            local_day = due.astimezone(ZoneInfo(zone)).date() - timedelta(days=days_before)
            return local_instant(local_day, at, zone)


def local_instant(day: date, at: time, zone: str) -> datetime:
    """The UTC instant of a wall-clock time on a local day. A time the clocks skip (02:30
    on the spring change) falls an hour later; a time they pass twice, the first one."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def reminder_id(activity: Activity, instant: datetime) -> str:
    # The instant is part of the id: a rescheduled activity's reminders fire again for
    # the new time, while two reminders landing on one instant fire once.
    return f"{activity.id}@{instant:%Y%m%dT%H%M%SZ}"


def reminders_of(activity: Activity) -> list[DueReminder]:
    instants = {fires_at(reminder, activity.due) for reminder in activity.reminders}
    return sorted(
        DueReminder(
            fires_at=instant,
            id=reminder_id(activity, instant),
            activity_id=activity.id,
            assignee=activity.assignee,
            title=activity.title,
            due=activity.due,
        )
        for instant in instants
    )


def due_reminders(
    activities: Iterable[Activity], fired: Collection[str], now: datetime
) -> list[DueReminder]:
    """Every reminder whose instant has come by ``now`` and whose id is not in ``fired``,
    earliest first. A finished task and an appointment that is over need no reminder."""
    now = utc(now, field="now")
    return sorted(
        reminder
        for activity in activities
        if not _over(activity, now)
        for reminder in reminders_of(activity)
        if reminder.fires_at <= now and reminder.id not in fired
    )


def next_reminder_at(
    activities: Iterable[Activity], fired: Collection[str], now: datetime
) -> datetime | None:
    """When a scheduler next has something to fire, so it can sleep until then."""
    now = utc(now, field="now")
    upcoming = [
        reminder.fires_at
        for activity in activities
        if not _over(activity, now)
        for reminder in reminders_of(activity)
        if reminder.id not in fired
    ]
    return max(now, min(upcoming)) if upcoming else None


def _over(activity: Activity, now: datetime) -> bool:
    if activity.done:
        return True
    return activity.ends is not None and activity.ends <= now


def _check(reminder: Reminder, where: str) -> None:
    match reminder:
        case RemindBefore(offset) if offset < timedelta(0):
            raise ActivityIsInvalid("a reminder comes before, not after", field=f"{where}.offset")
        case RemindAt(instant):
            utc(instant, field=f"{where}.instant")
        case RemindOnLocalDay(days_before, _, zone):
            if days_before < 0:
                raise ActivityIsInvalid(
                    "a reminder comes before, not after", field=f"{where}.days_before"
                )
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError, OSError) as unknown:
                raise ActivityIsInvalid(
                    f"{zone!r} is not an IANA time zone", field=f"{where}.zone"
                ) from unknown
