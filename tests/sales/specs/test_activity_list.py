"""The activity list's row: given an activity's events, what the list keeps of it, and
what the reminder scheduler finds due in it (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from crm_sales.activity_list.due import due_now
from crm_sales.activity_list.rows import ActivityRow, fold_all
from crm_sales.domain.activity import Activity
from crm_shared.catalog.sales.activities import (
    ActivityArchived,
    ActivityChanged,
    ActivityCompleted,
    ActivityKind,
    ActivityReassigned,
    ActivityReminderFired,
    ActivityRemindersScheduled,
    ActivityReopened,
    ActivityScheduled,
    RelatedKind,
    RelatedTo,
    RemindBefore,
    ScheduledReminder,
)
from crm_shared.events import EventData
from crm_shared.projections.specs import WHEN, history

ADA = RelatedTo(kind=RelatedKind.CONTACT, id=uuid4())
DUE = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
EARLY = DUE - timedelta(minutes=15)
ACTIVITY = uuid4()


def call(**fields: object) -> ActivityScheduled:
    values: dict[str, object] = {
        "kind": ActivityKind.TASK,
        "subject": "Call Ada about the renewal",
        "notes": "She prefers mornings",
        "location": "Her office, Berlin",
        "due_at": DUE,
        "related_to": ADA,
        "owner": "alice",
        "department": "sales",
        **fields,
    }
    return ActivityScheduled.model_validate(values)


def reminders(*instants: datetime) -> ActivityRemindersScheduled:
    return ActivityRemindersScheduled(
        reminders=[
            ScheduledReminder(reminder_id=f"{ACTIVITY}@{i:%Y%m%dT%H%M%SZ}", fires_at=i)
            for i in instants
        ]
    )


def row_of(*events: EventData) -> ActivityRow:
    rows: dict[UUID, ActivityRow] = {}
    fold_all(rows, history(*events, aggregate_id=ACTIVITY))
    (row,) = rows.values()
    return row


def test_a_scheduled_task_is_listed_due_at_its_deadline_assigned_to_its_owner() -> None:
    row = row_of(call())
    assert (row.kind, row.due, row.assignee, row.related_to) == (
        ActivityKind.TASK,
        DUE,
        "alice",
        ADA,
    )
    assert (row.done, row.archived, row.department) == (False, False, "sales")
    assert row.created_at == row.updated_at == WHEN


def test_an_appointment_is_due_when_it_starts() -> None:
    starts = DUE + timedelta(days=1)
    appointment = call(
        kind=ActivityKind.APPOINTMENT,
        due_at=None,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
    )
    assert row_of(appointment).due == starts


def test_the_row_keeps_no_personal_text() -> None:
    row = row_of(call(), ActivityChanged(subject="Call Ada again", notes="Ada's new number"))
    kept = repr(row)
    assert "Ada" not in kept and "Berlin" not in kept and "mornings" not in kept


def test_a_change_moves_the_due_time_and_the_assignee() -> None:
    later = DUE + timedelta(days=2)
    row = row_of(call(), ActivityChanged(due_at=later, assignee="bob"))
    assert (row.due, row.assignee, row.version) == (later, "bob", 2)


def test_completing_and_reopening() -> None:
    assert row_of(call(), ActivityCompleted()).done is True
    assert row_of(call(), ActivityCompleted(), ActivityReopened()).done is False


def test_a_cancelled_activity_is_marked_archived() -> None:
    assert row_of(call(), ActivityArchived(reason="cancelled")).archived is True


def test_a_reassignment_moves_owner_and_department() -> None:
    row = row_of(call(), ActivityReassigned(owner="bob", department="support"))
    assert (row.owner, row.department) == ("bob", "support")


def test_the_row_keeps_the_instants_its_reminders_fire_at_as_last_scheduled() -> None:
    row = row_of(call(), reminders(EARLY), reminders(EARLY + timedelta(days=1)))
    assert [instant for _, instant in row.reminders] == [EARLY + timedelta(days=1)]


def test_a_fired_reminder_is_kept_as_fired() -> None:
    scheduled = reminders(EARLY)
    fired = scheduled.reminders[0].reminder_id
    row = row_of(call(), scheduled, ActivityReminderFired(reminder_id=fired, fires_at=EARLY))
    assert row.fired == {fired}


# --- what the scheduler fires -------------------------------------------------------


def test_a_reminder_is_due_once_its_instant_has_come() -> None:
    row = row_of(call(), reminders(EARLY))
    assert due_now([row], EARLY - timedelta(seconds=1)) == []
    (due,) = due_now([row], EARLY)
    assert (due.activity_id, due.fires_at, due.assignee) == (ACTIVITY, EARLY, "alice")


def test_a_reminder_due_long_ago_and_never_fired_is_still_due() -> None:
    row = row_of(call(), reminders(EARLY))
    assert len(due_now([row], DUE + timedelta(days=30))) == 1


def test_the_scheduler_fires_under_the_id_the_activity_recorded() -> None:
    record = Activity.create(ACTIVITY, call(reminders=[RemindBefore(offset=timedelta(minutes=15))]))
    recorded = [r.reminder_id for r in record.scheduled_reminders]
    row = row_of(*(event.data for event in record.collect_events()))
    assert [due.id for due in due_now([row], DUE)] == recorded


def test_a_fired_reminder_is_not_due_again() -> None:
    scheduled = reminders(EARLY)
    fired = ActivityReminderFired(reminder_id=scheduled.reminders[0].reminder_id, fires_at=EARLY)
    assert due_now([row_of(call(), scheduled, fired)], DUE) == []


def test_a_moved_activitys_old_reminder_is_not_due() -> None:
    later = DUE + timedelta(days=2)
    row = row_of(call(), reminders(EARLY), ActivityChanged(due_at=later), reminders(later))
    assert due_now([row], EARLY + timedelta(minutes=1)) == []


def test_a_done_or_cancelled_activity_has_nothing_due() -> None:
    done = row_of(call(), reminders(EARLY), ActivityCompleted())
    cancelled = row_of(call(), reminders(EARLY), ActivityArchived(reason="off"))
    assert due_now([done, cancelled], DUE) == []


def test_an_appointment_that_is_over_rings_no_more() -> None:
    starts = DUE
    appointment = call(kind=ActivityKind.APPOINTMENT, due_at=None, starts_at=starts, ends_at=starts)
    row = row_of(appointment, reminders(EARLY))
    assert due_now([row], starts + timedelta(minutes=1)) == []
