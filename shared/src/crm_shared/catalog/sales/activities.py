"""Activity events of the sales service (topic ``crm.sales.events``).

An activity is a task (due by ``due_at``) or an appointment (from ``starts_at`` to
``ends_at``), assigned to a user and usually about a contact, an account, a lead or an
opportunity (``related_to``, by id: the record lives in its own service). Its reminders
are rules ("15 minutes before", "at 08:00 UTC", "the day before at 09:00 in
Europe/Berlin"); the instants they fire at follow from the activity's time and are
published as ``reminders_scheduled`` whenever they move, so a scheduler keeps them as
data and fires each once (``reminder_fired``).

**Personal data.** The subject ("Call Ada about the renewal"), the notes and the location
are what an activity says about a person: they are personal. They are sealed with the key
of the person the activity is about when it is about one (a related contact or lead: the
related record's id is the data subject), and with the activity's own key otherwise.
Erasing that person (deleting the key) then makes every activity text about them
unreadable with the rest of their data, and nothing else. A change carries the data
subject it was sealed for (``data_subject_id``), since it need not name ``related_to``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.events.catalog import EventData, event_type, personal
from crm_shared.records.events import ArchivedData, Changes, ReassignedData


class ActivityKind(StrEnum):
    TASK = "task"
    APPOINTMENT = "appointment"


class RelatedKind(StrEnum):
    CONTACT = "contact"
    ACCOUNT = "account"
    LEAD = "lead"
    OPPORTUNITY = "opportunity"


# The kinds of record that are a natural person: their key seals what is said about them.
PERSON_KINDS = frozenset({RelatedKind.CONTACT, RelatedKind.LEAD})


class RelatedTo(BaseModel):
    """The record an activity is about, by id (contacts and accounts live in the contacts
    service, leads and opportunities in sales)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: RelatedKind = Field(description="contact, account, lead or opportunity")
    id: UUID = Field(description="The record's id in the service that keeps it")


class RemindBefore(BaseModel):
    """A span before the activity is due (an appointment: before it starts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["before"] = "before"
    offset: timedelta = Field(description="ISO 8601 duration, e.g. PT15M")


class RemindAt(BaseModel):
    """A fixed instant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["at"] = "at"
    instant: datetime


class RemindOnLocalDay(BaseModel):
    """A wall-clock time in a time zone, some days before the local day the activity is
    due: it stays at that time on the wall clock across a daylight-saving change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["local_day"] = "local_day"
    days_before: int = Field(description="0: the day it is due; 1: the day before")
    at: time = Field(description="Wall-clock time, e.g. 09:00:00")
    zone: str = Field(description="IANA time zone, e.g. Europe/Berlin")


Reminder = Annotated[RemindBefore | RemindAt | RemindOnLocalDay, Field(discriminator="type")]


class ScheduledReminder(BaseModel):
    """When one of an activity's reminders fires, under the id it fires with (the same
    id for the same activity and instant, so firing it is recorded once)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reminder_id: str = Field(description="The activity's id @ the instant, in UTC")
    fires_at: datetime


_SUBJECT = "What the activity is, e.g. Call Ada about the renewal"
_NOTES = "Free text about the activity"
_DUE_AT = "A task's deadline (null for an appointment)"
_STARTS_AT = "When an appointment starts (null for a task)"
_ENDS_AT = "When an appointment ends (null for a task)"
_TIME_ZONE = "IANA time zone the activity was planned in: how its times are shown"
_ASSIGNEE = "Who does it (user id); reminders go to them"
_RELATED_TO = "The contact, account, lead or opportunity it is about"
_REMINDERS = "When to remind the assignee: before, at an instant, or on a local day"
_DATA_SUBJECT = (
    "Whose key seals this change's personal fields: the related contact's or lead's id, "
    "or null for the activity's own key"
)

_ACTIVITY_EXAMPLE = "9d0c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
_RELATED_EXAMPLE = {"kind": "contact", "id": "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00"}
_REMINDERS_EXAMPLE = [
    {"type": "before", "offset": "PT15M"},
    {"type": "local_day", "days_before": 1, "at": "09:00:00", "zone": "Europe/Berlin"},
]


@event_type("sales", "activity", "scheduled")
class ActivityScheduled(EventData):
    """A new task or appointment."""

    kind: ActivityKind = Field(description="task or appointment")
    subject: str | None = personal(None, description=_SUBJECT)
    notes: str | None = personal(None, description=_NOTES)
    location: str | None = personal(None, description="Where an appointment takes place")
    due_at: datetime | None = Field(None, description=_DUE_AT)
    starts_at: datetime | None = Field(None, description=_STARTS_AT)
    ends_at: datetime | None = Field(None, description=_ENDS_AT)
    time_zone: str = Field("UTC", description=_TIME_ZONE)
    assignee: str | None = Field(None, description=_ASSIGNEE)
    related_to: RelatedTo | None = Field(None, description=_RELATED_TO)
    reminders: list[Reminder] = Field(default_factory=list, description=_REMINDERS)
    owner: str | None = None
    department: str
    example = {
        "kind": "appointment",
        "subject": "Renewal call with Ada",
        "notes": "She wants the annual plan; bring the price list.",
        "location": "Video call",
        "due_at": None,
        "starts_at": "2026-12-03T14:00:00Z",
        "ends_at": "2026-12-03T14:30:00Z",
        "time_zone": "Europe/Berlin",
        "assignee": "alice",
        "related_to": _RELATED_EXAMPLE,
        "reminders": _REMINDERS_EXAMPLE,
        "owner": "alice",
        "department": "sales",
    }

    def data_subject(self, aggregate_id: UUID) -> UUID:
        return person_of(self.related_to) or aggregate_id


@event_type("sales", "activity", "changed")
class ActivityChanged(Changes):
    """Some of the activity's fields; its kind never changes."""

    subject: str | None = personal(None, description=_SUBJECT)
    notes: str | None = personal(None, description=_NOTES)
    location: str | None = personal(None, description="Where an appointment takes place")
    due_at: datetime | None = Field(None, description=_DUE_AT)
    starts_at: datetime | None = Field(None, description=_STARTS_AT)
    ends_at: datetime | None = Field(None, description=_ENDS_AT)
    time_zone: str | None = Field(None, description=_TIME_ZONE)
    assignee: str | None = Field(None, description=_ASSIGNEE)
    related_to: RelatedTo | None = Field(None, description=_RELATED_TO)
    reminders: list[Reminder] | None = Field(None, description=_REMINDERS)
    data_subject_id: UUID | None = Field(None, description=_DATA_SUBJECT)
    example = {
        "notes": "Moved: she is travelling on the 3rd.",
        "starts_at": "2026-12-04T14:00:00Z",
        "ends_at": "2026-12-04T14:30:00Z",
        "data_subject_id": "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00",
    }

    def data_subject(self, aggregate_id: UUID) -> UUID:
        return self.data_subject_id or aggregate_id


@event_type("sales", "activity", "reminders_scheduled")
class ActivityRemindersScheduled(EventData):
    """The instants the activity's reminders fire at, all of them as they are now (not a
    difference): recorded when the activity is scheduled with reminders and whenever a
    change moves them. A rescheduled reminder has a new id, so it fires again."""

    reminders: list[ScheduledReminder] = Field(default_factory=list)
    example = {
        "reminders": [
            {
                "reminder_id": f"{_ACTIVITY_EXAMPLE}@20261202T080000Z",
                "fires_at": "2026-12-02T08:00:00Z",
            },
            {
                "reminder_id": f"{_ACTIVITY_EXAMPLE}@20261203T134500Z",
                "fires_at": "2026-12-03T13:45:00Z",
            },
        ]
    }


@event_type("sales", "activity", "completed")
class ActivityCompleted(EventData):
    """Done, at the event's time: it takes no changes and rings no more until reopened."""

    example = {}


@event_type("sales", "activity", "reopened")
class ActivityReopened(EventData):
    """Not done after all: it takes changes again, and its reminders still to come ring."""

    example = {}


@event_type("sales", "activity", "reminder_fired")
class ActivityReminderFired(EventData):
    """One of the activity's reminders fired (once: its id is recorded)."""

    reminder_id: str = Field(description="As in reminders_scheduled: activity id @ instant")
    fires_at: datetime = Field(description="The instant it was due to fire")
    assignee: str | None = Field(None, description="Who was reminded (user id)")
    example = {
        "reminder_id": f"{_ACTIVITY_EXAMPLE}@20261203T134500Z",
        "fires_at": "2026-12-03T13:45:00Z",
        "assignee": "alice",
    }


@event_type("sales", "activity", "archived")
class ActivityArchived(ArchivedData):
    """Cancelled: kept for the record, no longer due; its reminders do not ring."""

    example = {"reason": "the customer cancelled the meeting"}


@event_type("sales", "activity", "restored")
class ActivityRestored(EventData):
    example = {}


@event_type("sales", "activity", "reassigned")
class ActivityReassigned(ReassignedData):
    """Moved to another owner or department (the assignee is a field of its own)."""

    example = {"owner": "bob", "department": "sales"}


def person_of(related_to: RelatedTo | None) -> UUID | None:
    """The data subject an activity about ``related_to`` speaks of, if it is a person."""
    if related_to is not None and related_to.kind in PERSON_KINDS:
        return related_to.id
    return None
