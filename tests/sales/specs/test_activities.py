"""Activities: a task is due by a deadline, an appointment runs from a start to an end, and
their reminders fire at instants that follow the activity's time (recorded whenever they
move). A done activity takes no change until it is reopened; a reminder fires once. What
an activity says about a person is sealed with that person's key.

The callers belong to department "sales" unless their name says otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import uuid4

from crm_sales.activity_commands import (
    ChangeActivity,
    CompleteActivity,
    FireReminder,
    ReopenActivity,
    ScheduleActivity,
)
from crm_sales.application import SalesApplication
from crm_sales.documents.reminders import ActivityIsInvalid
from crm_sales.domain.activity import Activity, ActivityDone
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.activities import (
    ActivityArchived,
    ActivityChanged,
    ActivityCompleted,
    ActivityKind,
    ActivityReminderFired,
    ActivityRemindersScheduled,
    ActivityReopened,
    ActivityScheduled,
    RelatedKind,
    RelatedTo,
    RemindBefore,
    RemindOnLocalDay,
    ScheduledReminder,
)
from crm_shared.domain import NotFound
from crm_shared.records.commands import ArchiveRecord
from crm_shared.records.record import RecordArchived
from crm_shared.specs import Specification
from tests.sales.specs.contact_records import KnownContactRecords, account, contact

OWNER = Principal("rita", Role.SALES_REP, ("sales",))
SUPPORT_MANAGER = Principal("sam", Role.MANAGER, ("support",))

CALL = uuid4()
ADA = RelatedTo(kind=RelatedKind.CONTACT, id=uuid4())
ACME = RelatedTo(kind=RelatedKind.ACCOUNT, id=uuid4())
# Ada and Acme are the contacts service's, in department "sales".
CONTACT_RECORDS = KnownContactRecords(contact(ADA.id), account(ACME.id))

spec = Specification(lambda store: SalesApplication(store, store, contacts=CONTACT_RECORDS))
DUE = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
QUARTER_HOUR = RemindBefore(offset=timedelta(minutes=15))


def at(instant: datetime) -> ScheduledReminder:
    """The call's reminder firing at ``instant``, under the id it fires with."""
    return ScheduledReminder(reminder_id=f"{CALL}@{instant:%Y%m%dT%H%M%SZ}", fires_at=instant)


def task(**fields: Any) -> dict[str, Any]:
    """A call to Ada due at ``DUE``, a quarter of an hour's notice, unless ``fields`` say
    otherwise."""
    values: dict[str, Any] = {
        "kind": ActivityKind.TASK,
        "subject": "Call Ada about the renewal",
        "due_at": DUE,
        "related_to": ADA,
        "reminders": [QUARTER_HOUR],
    }
    return values | fields


def scheduled(**fields: Any) -> ActivityScheduled:
    """The call as recorded: rita's, in sales."""
    recorded = {"assignee": "rita", "owner": "rita", "department": "sales"} | fields
    return ActivityScheduled(**task(**recorded))


def schedule(**fields: Any) -> ScheduleActivity:
    return ScheduleActivity(record_id=CALL, values=task(**fields), owner="rita")


# --- scheduling ------------------------------------------------------------------------


async def test_a_task_is_scheduled_with_the_instants_its_reminders_fire_at() -> None:
    await (
        spec.given()
        .when(schedule(), by=OWNER)
        .then(
            scheduled(),
            ActivityRemindersScheduled(reminders=[at(DUE - timedelta(minutes=15))]),
        )
    )


async def test_an_appointment_reminded_the_local_day_before_rings_at_local_wall_clock_time() -> (
    None
):
    # Berlin moves to summer time (UTC+2) early on 29 March 2026. An appointment at 09:00
    # that day is reminded at 09:00 winter time (UTC+1) the day before: 08:00 UTC, where
    # "24 hours before" would ring at 07:00 UTC, 08:00 on the wall clock.
    starts = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    day_before = RemindOnLocalDay(days_before=1, at=time(9), zone="Europe/Berlin")
    appointment: dict[str, Any] = {
        "kind": ActivityKind.APPOINTMENT,
        "due_at": None,
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=1),
        "time_zone": "Europe/Berlin",
        "reminders": [day_before],
    }
    await (
        spec.given()
        .when(schedule(**appointment), by=OWNER)
        .then(
            scheduled(**appointment),
            ActivityRemindersScheduled(reminders=[at(datetime(2026, 3, 28, 8, 0, tzinfo=UTC))]),
        )
    )


async def test_an_activity_without_reminders_records_no_reminder_instants() -> None:
    await spec.given().when(schedule(reminders=[]), by=OWNER).then(scheduled(reminders=[]))


async def test_an_activity_left_without_an_assignee_is_its_owners() -> None:
    assert "assignee" not in task()
    await spec.given().when(schedule(reminders=[]), by=OWNER).then(scheduled(reminders=[]))


async def test_an_activity_may_be_assigned_to_someone_else_than_its_owner() -> None:
    await (
        spec.given()
        .when(schedule(reminders=[], assignee="rob"), by=OWNER)
        .then(scheduled(reminders=[], assignee="rob"))
    )


async def test_a_task_without_a_due_time_is_refused_naming_due_at() -> None:
    await (
        spec.given()
        .when(schedule(due_at=None), by=OWNER)
        .then_refused(ActivityIsInvalid, field="due_at")
    )


async def test_a_task_given_an_end_is_refused_naming_ends_at() -> None:
    await (
        spec.given()
        .when(schedule(ends_at=DUE), by=OWNER)
        .then_refused(ActivityIsInvalid, field="ends_at")
    )


async def test_an_appointment_that_ends_before_it_starts_is_refused_naming_ends_at() -> None:
    backwards = {
        "kind": ActivityKind.APPOINTMENT,
        "due_at": None,
        "starts_at": DUE,
        "ends_at": DUE - timedelta(minutes=1),
    }
    await (
        spec.given()
        .when(schedule(**backwards), by=OWNER)
        .then_refused(ActivityIsInvalid, field="ends_at")
    )


async def test_a_reminder_in_an_unknown_time_zone_is_refused_naming_its_zone() -> None:
    nowhere = RemindOnLocalDay(days_before=1, at=time(9), zone="Mars/Olympus_Mons")
    await (
        spec.given()
        .when(schedule(reminders=[QUARTER_HOUR, nowhere]), by=OWNER)
        .then_refused(ActivityIsInvalid, field="reminders.1.local_day.zone")
    )


async def test_a_reminder_after_the_due_time_is_refused_naming_its_offset() -> None:
    late = RemindBefore(offset=timedelta(minutes=-5))
    await (
        spec.given()
        .when(schedule(reminders=[late]), by=OWNER)
        .then_refused(ActivityIsInvalid, field="reminders.0.before.offset")
    )


async def test_a_reminder_that_would_fall_before_the_calendar_begins_is_refused() -> None:
    first_minutes = datetime(1, 1, 1, 0, 10, tzinfo=UTC)
    await (
        spec.given()
        .when(schedule(due_at=first_minutes), by=OWNER)
        .then_refused(ActivityIsInvalid, field="reminders")
    )


async def test_an_unknown_time_zone_of_the_activity_is_refused_naming_time_zone() -> None:
    await (
        spec.given()
        .when(schedule(time_zone="Europe/Atlantis"), by=OWNER)
        .then_refused(ActivityIsInvalid, field="time_zone")
    )


# --- changing ----------------------------------------------------------------------------


async def test_moving_the_due_time_moves_the_reminders_under_new_ids() -> None:
    later = DUE + timedelta(days=1)
    await (
        spec.given({CALL: [scheduled(), ActivityRemindersScheduled(reminders=[at(DUE)])]})
        .when(ChangeActivity(record_id=CALL, changes={"due_at": later}), by=OWNER)
        .then(
            ActivityChanged(due_at=later),
            ActivityRemindersScheduled(reminders=[at(later - timedelta(minutes=15))]),
        )
    )


async def test_a_change_that_leaves_the_reminders_where_they_were_records_no_reminders() -> None:
    given = {
        CALL: [
            scheduled(),
            ActivityRemindersScheduled(reminders=[at(DUE - timedelta(minutes=15))]),
        ]
    }
    await (
        spec.given(given)
        .when(ChangeActivity(record_id=CALL, changes={"location": "Her office"}), by=OWNER)
        .then(ActivityChanged(location="Her office", data_subject_id=ADA.id))
    )


async def test_clearing_the_subject_is_refused_naming_it() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[])]})
        .when(ChangeActivity(record_id=CALL, changes={"subject": None}), by=OWNER)
        .then_refused(ActivityIsInvalid, field="subject")
    )


async def test_a_change_that_breaks_a_reminder_is_refused_naming_it() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[])]})
        .when(
            ChangeActivity(
                record_id=CALL,
                changes={"reminders": [RemindBefore(offset=timedelta(hours=-1))]},
            ),
            by=OWNER,
        )
        .then_refused(ActivityIsInvalid, field="reminders.0.before.offset")
    )


# --- whose key seals what it says ---------------------------------------------------------


def test_an_activity_about_a_contact_is_sealed_with_the_contacts_key() -> None:
    assert scheduled(related_to=ADA).data_subject(CALL) == ADA.id


def test_an_activity_about_a_lead_is_sealed_with_the_leads_key() -> None:
    lead = RelatedTo(kind=RelatedKind.LEAD, id=uuid4())
    assert scheduled(related_to=lead).data_subject(CALL) == lead.id


def test_an_activity_about_an_account_is_sealed_with_its_own_key() -> None:
    assert scheduled(related_to=ACME).data_subject(CALL) == CALL
    assert scheduled(related_to=None).data_subject(CALL) == CALL


async def test_new_notes_after_relating_it_to_an_account_are_sealed_with_its_own_key() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[])]})
        .when(
            ChangeActivity(record_id=CALL, changes={"related_to": ACME, "notes": "Ask for IT"}),
            by=OWNER,
        )
        .then(ActivityChanged(related_to=ACME, notes="Ask for IT", data_subject_id=None))
    )
    assert ActivityChanged(notes="Ask for IT", data_subject_id=None).data_subject(CALL) == CALL


async def test_a_change_without_personal_fields_names_no_data_subject() -> None:
    later = DUE + timedelta(hours=1)
    await (
        spec.given({CALL: [scheduled(reminders=[])]})
        .when(ChangeActivity(record_id=CALL, changes={"due_at": later}), by=OWNER)
        .then(ActivityChanged(due_at=later))
    )


# --- done and reopened ---------------------------------------------------------------------


async def test_completing_an_activity_records_it_done() -> None:
    outcome = await (
        spec.given({CALL: [scheduled(reminders=[])]})
        .when(CompleteActivity(record_id=CALL), by=OWNER)
        .then(ActivityCompleted())
    )
    assert b'"done":true' in outcome.body


async def test_completing_a_done_activity_again_records_nothing() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[]), ActivityCompleted()]})
        .when(CompleteActivity(record_id=CALL), by=OWNER)
        .then()
    )


async def test_a_done_activity_refuses_a_change() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[]), ActivityCompleted()]})
        .when(ChangeActivity(record_id=CALL, changes={"notes": "one more thing"}), by=OWNER)
        .then_refused(ActivityDone)
    )


async def test_a_done_activity_refuses_to_be_archived() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[]), ActivityCompleted()]})
        .when(ArchiveRecord(record_type=Activity, record_id=CALL), by=OWNER)
        .then_refused(ActivityDone)
    )


async def test_reopening_a_done_activity_records_it_reopened() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[]), ActivityCompleted()]})
        .when(ReopenActivity(record_id=CALL), by=OWNER)
        .then(ActivityReopened())
    )


async def test_a_reopened_activity_takes_changes_again() -> None:
    later = DUE + timedelta(hours=1)
    await (
        spec.given({CALL: [scheduled(reminders=[]), ActivityCompleted(), ActivityReopened()]})
        .when(ChangeActivity(record_id=CALL, changes={"due_at": later}), by=OWNER)
        .then(ActivityChanged(due_at=later))
    )


async def test_reopening_an_activity_not_done_records_nothing() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[])]})
        .when(ReopenActivity(record_id=CALL), by=OWNER)
        .then()
    )


async def test_a_cancelled_activity_is_not_completed() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[]), ActivityArchived(reason="cancelled")]})
        .when(CompleteActivity(record_id=CALL), by=OWNER)
        .then_refused(RecordArchived)
    )


# --- reminders firing ----------------------------------------------------------------------

REMINDED = DUE - timedelta(minutes=15)
WITH_REMINDER = [scheduled(), ActivityRemindersScheduled(reminders=[at(REMINDED)])]


async def test_a_scheduled_reminder_fires_for_the_assignee() -> None:
    await (
        spec.given({CALL: WITH_REMINDER})
        .when(FireReminder(record_id=CALL, reminder_id=at(REMINDED).reminder_id), by=OWNER)
        .then(
            ActivityReminderFired(
                reminder_id=at(REMINDED).reminder_id, fires_at=REMINDED, assignee="rita"
            )
        )
    )


async def test_a_reminder_fired_already_fires_nothing_again() -> None:
    fired = ActivityReminderFired(
        reminder_id=at(REMINDED).reminder_id, fires_at=REMINDED, assignee="rita"
    )
    await (
        spec.given({CALL: [*WITH_REMINDER, fired]})
        .when(FireReminder(record_id=CALL, reminder_id=at(REMINDED).reminder_id), by=OWNER)
        .then()
    )


async def test_a_reminder_moved_since_fires_nothing() -> None:
    await (
        spec.given({CALL: WITH_REMINDER})
        .when(FireReminder(record_id=CALL, reminder_id=at(DUE).reminder_id), by=OWNER)
        .then()
    )


async def test_a_done_activitys_reminder_fires_nothing() -> None:
    await (
        spec.given({CALL: [*WITH_REMINDER, ActivityCompleted()]})
        .when(FireReminder(record_id=CALL, reminder_id=at(REMINDED).reminder_id), by=OWNER)
        .then()
    )


# --- who may ---------------------------------------------------------------------------------


async def test_an_activity_of_another_department_is_not_found() -> None:
    await (
        spec.given({CALL: [scheduled(reminders=[])]})
        .when(CompleteActivity(record_id=CALL), by=SUPPORT_MANAGER)
        .then_refused(NotFound)
    )
