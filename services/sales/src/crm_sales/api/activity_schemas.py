"""Request bodies of the activities routes: strict, validated, normalised
(``crm_shared.values``). The reminders and the related record are the catalog's own
shapes, with a request's limits: what is accepted is what the reminder rules can place in
time (``documents.reminders`` checks the rest, and its refusals name the field too)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, StringConstraints

from crm_shared.catalog.sales import activities as catalog
from crm_shared.records.schemas import NewRecord, UserId
from crm_shared.values import Instant, LongText, ShortText, Strict

# A year either way is as far as a reminder reaches: beyond, instants leave the calendar.
LONGEST_NOTICE = timedelta(days=366)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the database's folders: once


def _known_zone(zone: str) -> str:
    if zone not in _time_zones():
        raise ValueError(f"{zone!r} is not an IANA time zone")
    return zone


TimeZone = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_+/-]{1,64}$"),
    AfterValidator(_known_zone),
    Field(description="IANA time zone, e.g. Europe/Berlin"),
]
Notes = Annotated[LongText, Field(description="Free text about the activity")]


class RemindBefore(catalog.RemindBefore):
    offset: timedelta = Field(
        ge=timedelta(0), le=LONGEST_NOTICE, description="ISO 8601 duration, e.g. PT15M"
    )


class RemindAt(catalog.RemindAt):
    instant: Instant


class RemindOnLocalDay(catalog.RemindOnLocalDay):
    days_before: int = Field(ge=0, le=LONGEST_NOTICE.days, description="0: the day it is due")
    zone: TimeZone


Reminder = Annotated[RemindBefore | RemindAt | RemindOnLocalDay, Field(discriminator="type")]
Reminders = Annotated[list[Reminder], Field(max_length=10)]


class RelatedTo(catalog.RelatedTo):
    pass


class ActivityFields(Strict):
    """What a task or an appointment says. A task has ``due_at``; an appointment
    ``starts_at`` and ``ends_at``."""

    subject: ShortText | None = None
    notes: Notes | None = None
    location: ShortText | None = None
    due_at: Instant | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    assignee: UserId | None = Field(None, description="Left out: the owner")
    related_to: RelatedTo | None = Field(
        None,
        description=(
            "The record it is about: one the caller may see, not archived (422"
            " unknown_reference, archived_reference, naming related_to.id). A contact or"
            " an account created a moment ago may not be known yet: retry."
        ),
    )


class ScheduleActivity(NewRecord, ActivityFields):
    kind: catalog.ActivityKind
    subject: ShortText
    time_zone: TimeZone = "UTC"
    reminders: Reminders = []


class ChangeActivity(ActivityFields):
    """Only the fields present change; null clears a field (reminders: none)."""

    time_zone: TimeZone | None = None
    reminders: Reminders | None = None
