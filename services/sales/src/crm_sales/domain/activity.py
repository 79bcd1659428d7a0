"""An activity: a task due by a deadline, or an appointment from a start to an end,
assigned to someone and usually about a contact, an account, a lead or an opportunity.

Its times and reminders are checked by the rules of ``documents.reminders`` (the same
rules the reminder scheduler and the calendar feed use), and the instants its reminders
fire at are recorded whenever they move (``ActivityRemindersScheduled``). A done activity
takes no change until it is reopened; an archived one (cancelled) none until restored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import TypeAdapter

from crm_sales.documents import reminders
from crm_sales.documents.reminders import ActivityIsInvalid
from crm_shared.auth.policy import Reference
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
    RemindAt,
    RemindBefore,
    Reminder,
    RemindOnLocalDay,
    ScheduledReminder,
    person_of,
)
from crm_shared.domain import Conflict, applies
from crm_shared.events import EventData
from crm_shared.records.record import CrmRecord, RecordEvents

_REMINDERS: TypeAdapter[list[Reminder]] = TypeAdapter(list[Reminder])


class ActivityDone(Conflict):
    """A done activity is a record of what happened: reopen it to change it."""

    code = "activity_done"


class Activity(CrmRecord):
    creation_events = (ActivityScheduled,)
    events = RecordEvents(
        updated=ActivityChanged,
        archived=ActivityArchived,
        restored=ActivityRestored,
        reassigned=ActivityReassigned,
    )

    kind: ActivityKind
    subject: str | None
    notes: str | None
    location: str | None
    due_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    time_zone: str
    assignee: str | None
    related_to: RelatedTo | None
    reminders: list[Reminder]
    done: bool
    completed_at: datetime | None
    scheduled_reminders: list[ScheduledReminder]
    fired_reminders: list[str]
    # Whose key sealed the last change's personal fields (``ActivityChanged``).
    data_subject_id: UUID | None

    @classmethod
    def references_in(cls, values: Mapping[str, Any]) -> dict[str, Reference]:
        """The record it is about (``related_to.id``), of the kind ``related_to`` says."""
        related = values.get("related_to")
        if related is None:
            return {}
        field = "related_to.id"
        return {field: Reference(field=field, kind=str(related.kind), target=related.id)}

    @classmethod
    def create(cls, record_id: UUID, details: EventData) -> Self:
        assert isinstance(details, ActivityScheduled)
        values = _as_recorded(details.__dict__)
        # Left out, the assignee is whoever owns the activity.
        values["assignee"] = values.get("assignee") or details.owner
        if not values.get("subject"):
            raise ActivityIsInvalid("say what the activity is", field="subject")
        planned(record_id, values)
        activity = super().create(record_id, details.model_copy(update=values))
        activity._reschedule()
        return activity

    @applies(ActivityScheduled)
    def _scheduled(self, e: ActivityScheduled) -> None:
        self._start_record(e)
        self.done, self.completed_at = False, None
        self.scheduled_reminders, self.fired_reminders = [], []
        self.data_subject_id = None

    # --- fields and reminders --------------------------------------------------------

    def check_changeable(self) -> None:
        if self.done:
            raise ActivityDone(f"activity {self.id} is done: reopen it first")

    def update(self, changes: Mapping[str, Any]) -> None:
        self.check_changeable()
        self.check_not_archived()
        changed = {k: v for k, v in _as_recorded(changes).items() if getattr(self, k) != v}
        if not changed:
            return
        if "subject" in changed and not changed["subject"]:
            raise ActivityIsInvalid("say what the activity is", field="subject")
        planned(self.id, self._fields() | changed)
        if changed.keys() & ActivityChanged.personal_fields():
            # Sealed for the person the activity is about once this change is made.
            changed["data_subject_id"] = person_of(changed.get("related_to", self.related_to))
        self._trigger(ActivityChanged(**changed))
        self._reschedule()

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ActivityScheduled.model_fields}

    def _reschedule(self) -> None:
        """Records the instants the reminders fire at whenever they move."""
        now = [
            ScheduledReminder(reminder_id=r.id, fires_at=r.fires_at)
            for r in reminders.reminders_of(planned(self.id, self._fields(), self.last_modified))
        ]
        if now != self.scheduled_reminders:
            self._trigger(ActivityRemindersScheduled(reminders=now))

    @applies(ActivityRemindersScheduled)
    def _reminders_scheduled(self, e: ActivityRemindersScheduled) -> None:
        self.scheduled_reminders = list(e.reminders)

    # --- done and reopened -------------------------------------------------------------

    def complete(self) -> None:
        if self.done:
            return  # completing twice (a retried request) is completing once
        self.check_not_archived()
        self._trigger(ActivityCompleted())

    @applies(ActivityCompleted)
    def _completed(self, _: ActivityCompleted) -> None:
        self.done, self.completed_at = True, self.last_modified

    def reopen(self) -> None:
        if self.done:
            self._trigger(ActivityReopened())

    @applies(ActivityReopened)
    def _reopened(self, _: ActivityReopened) -> None:
        self.done, self.completed_at = False, None

    # --- reminders firing --------------------------------------------------------------

    def fire_reminder(self, reminder_id: str) -> None:
        """Records that a reminder fired, once. A reminder no longer scheduled (the
        activity moved since the scheduler saw it), or of an activity that is done or
        cancelled, fires nothing: the scheduler is told by recording nothing."""
        if self.done or self.archived or reminder_id in self.fired_reminders:
            return
        due = next((r for r in self.scheduled_reminders if r.reminder_id == reminder_id), None)
        if due is not None:
            self._trigger(
                ActivityReminderFired(
                    reminder_id=reminder_id, fires_at=due.fires_at, assignee=self.assignee
                )
            )

    @applies(ActivityReminderFired)
    def _reminder_fired(self, e: ActivityReminderFired) -> None:
        self.fired_reminders.append(e.reminder_id)


def planned(
    activity_id: UUID, values: Mapping[str, Any], at: datetime | None = None
) -> reminders.Activity:
    """The activity as the reminder rules see it (last changed ``at``), checked by them:
    an ``Invalid`` naming the field as a request names it when it breaks one."""
    kind: ActivityKind = values["kind"]
    due: datetime | None
    if kind is ActivityKind.TASK:
        for name in ("starts_at", "ends_at"):
            if values.get(name) is not None:
                raise ActivityIsInvalid("a task has a due time, not a start and end", field=name)
        due, due_field = values.get("due_at"), "due_at"
    else:
        if values.get("due_at") is not None:
            raise ActivityIsInvalid("an appointment has a start and end", field="due_at")
        due, due_field = values.get("starts_at"), "starts_at"
        if values.get("ends_at") is None:
            raise ActivityIsInvalid("an appointment ends some time", field="ends_at")
    if due is None:
        raise ActivityIsInvalid(f"a {kind} needs its {due_field}", field=due_field)
    _check_zone(values.get("time_zone") or "UTC")
    if not values.get("assignee"):
        raise ActivityIsInvalid("an activity is someone's: name the assignee", field="assignee")
    try:
        activity = reminders.Activity(
            id=activity_id,
            kind=reminders.ActivityKind(kind),
            title=values.get("subject") or "",
            assignee=values["assignee"],
            due=due,
            ends=values.get("ends_at"),
            changed_at=at or due,  # only the calendar reads it
            reminders=tuple(_rule(r) for r in values.get("reminders") or ()),
        )
    except ActivityIsInvalid as refused:
        field = _request_field(refused.field, values, due_field)
        raise ActivityIsInvalid(str(refused), field=field) from refused
    try:
        reminders.reminders_of(activity)
    except OverflowError as beyond:
        # Near the ends of the calendar (year 1, year 9999) a reminder has no instant.
        raise ActivityIsInvalid(
            "a reminder would fall outside the calendar", field="reminders"
        ) from beyond
    return activity


def _check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as unknown:
        raise ActivityIsInvalid(
            f"{zone!r} is not an IANA time zone", field="time_zone"
        ) from unknown


def _rule(reminder: Reminder) -> reminders.Reminder:
    match reminder:
        case RemindBefore(offset=offset):
            return reminders.RemindBefore(offset)
        case RemindAt(instant=instant):
            return reminders.RemindAt(instant)
        case RemindOnLocalDay(days_before=days_before, at=at, zone=zone):
            return reminders.RemindOnLocalDay(days_before, at, zone)


def _request_field(field: str | None, values: Mapping[str, Any], due_field: str) -> str | None:
    """The reminder rules' name of a field (``due``, ``reminders[0].zone``) as a request's
    validation names it (``starts_at``, ``reminders.0.local_day.zone``: with the kind of
    reminder, as for a discriminated union)."""
    if field is None:
        return None
    if field in ("due", "ends"):
        return {"due": due_field, "ends": "ends_at"}[field]
    if match := re.fullmatch(r"reminders\[(\d+)\]\.(\w+)", field):
        position, name = int(match[1]), match[2]
        return f"reminders.{position}.{values['reminders'][position].type}.{name}"
    return field


def _as_recorded(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as the catalog's own types: a request's models may be its subclasses
    (stricter checks), and a record compares and stores only what the catalog describes."""
    recorded = dict(values)
    if "reminders" in recorded and recorded["reminders"] is None:
        recorded["reminders"] = []  # null clears them: no reminder
    if "time_zone" in recorded and recorded["time_zone"] is None:
        recorded["time_zone"] = "UTC"  # null clears it: back to the default
    if recorded.get("related_to") is not None:
        recorded["related_to"] = RelatedTo.model_validate(recorded["related_to"].model_dump())
    if recorded.get("reminders") is not None:
        recorded["reminders"] = _REMINDERS.validate_python(
            [r.model_dump() for r in recorded["reminders"]]
        )
    return recorded
