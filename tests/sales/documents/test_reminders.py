"""Which reminders are due at an instant, given the ones already fired."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_sales.documents.reminders import (
    Activity,
    ActivityIsInvalid,
    ActivityKind,
    RemindAt,
    RemindBefore,
    Reminder,
    RemindOnLocalDay,
    due_reminders,
    next_reminder_at,
    reminder_id,
)

DUE = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def task(*reminders: Reminder, due: datetime = DUE, activity_id: UUID | None = None) -> Activity:
    return Activity(
        id=activity_id or uuid4(),
        kind=ActivityKind.TASK,
        title="Call Zoë about the renewal",
        assignee="rep-1",
        due=due,
        changed_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        reminders=reminders,
    )


def appointment(*reminders: Reminder, minutes: int = 60) -> Activity:
    return Activity(
        id=uuid4(),
        kind=ActivityKind.APPOINTMENT,
        title="Demo",
        assignee="rep-1",
        due=DUE,
        ends=DUE + timedelta(minutes=minutes),
        changed_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        reminders=reminders,
    )


def test_a_reminder_before_the_due_time_is_due_from_that_instant_on() -> None:
    reminding = task(RemindBefore(timedelta(minutes=15)))
    assert due_reminders([reminding], fired=set(), now=DUE - 16 * MINUTE) == []
    [due] = due_reminders([reminding], fired=set(), now=DUE - 15 * MINUTE)
    assert (due.fires_at, due.activity_id, due.assignee) == (
        DUE - 15 * MINUTE,
        reminding.id,
        "rep-1",
    )


def test_a_reminder_at_an_absolute_instant_is_due_from_that_instant_on() -> None:
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    reminding = task(RemindAt(at))
    assert due_reminders([reminding], fired=set(), now=at - MINUTE) == []
    assert [r.fires_at for r in due_reminders([reminding], fired=set(), now=at)] == [at]


def test_a_fired_reminder_is_not_due_again() -> None:
    reminding = task(RemindBefore(timedelta(minutes=15)))
    [due] = due_reminders([reminding], fired=set(), now=DUE)
    assert due_reminders([reminding], fired={due.id}, now=DUE + MINUTE) == []


def test_a_reminder_keeps_its_id_across_calls() -> None:
    reminding = task(RemindBefore(timedelta(hours=1)))
    first = due_reminders([reminding], fired=set(), now=DUE - timedelta(minutes=59))
    later = due_reminders([reminding], fired=set(), now=DUE + timedelta(days=2))
    assert [r.id for r in first] == [r.id for r in later]


def test_a_reminder_missed_while_the_scheduler_was_down_is_still_due() -> None:
    reminding = task(RemindBefore(timedelta(minutes=15)))
    assert len(due_reminders([reminding], fired=set(), now=DUE + timedelta(hours=3))) == 1


def test_due_reminders_come_earliest_first() -> None:
    reminding = task(RemindBefore(timedelta(minutes=5)), RemindBefore(timedelta(days=1)))
    due = due_reminders([reminding], fired=set(), now=DUE)
    assert [r.fires_at for r in due] == [DUE - timedelta(days=1), DUE - 5 * MINUTE]


def test_two_reminders_on_the_same_instant_fire_once() -> None:
    reminding = task(RemindBefore(timedelta(minutes=15)), RemindAt(DUE - 15 * MINUTE))
    assert len(due_reminders([reminding], fired=set(), now=DUE)) == 1


def test_a_rescheduled_activity_reminds_again_for_its_new_time() -> None:
    reminding = task(RemindBefore(timedelta(minutes=15)))
    fired = {r.id for r in due_reminders([reminding], fired=set(), now=DUE)}
    moved = reminding.revised(DUE, due=DUE + timedelta(days=1))
    assert len(due_reminders([moved], fired=fired, now=DUE + timedelta(days=1))) == 1


def test_a_finished_task_needs_no_reminder() -> None:
    finished = task(RemindBefore(timedelta(minutes=15))).revised(DUE, done_at=DUE - timedelta(1))
    assert due_reminders([finished], fired=set(), now=DUE) == []


def test_an_appointment_that_is_over_needs_no_reminder() -> None:
    meeting = appointment(RemindBefore(timedelta(minutes=15)), minutes=30)
    assert due_reminders([meeting], fired=set(), now=DUE + 30 * MINUTE) == []
    assert len(due_reminders([meeting], fired=set(), now=DUE + 29 * MINUTE)) == 1


def test_the_day_before_at_nine_local_stays_at_nine_across_a_daylight_saving_change() -> None:
    # Berlin moves from CET (+1) to CEST (+2) on Sunday 29 March 2026 at 02:00 local. Due
    # that Sunday at 12:00 CEST, the reminder is Saturday 09:00 CET: 08:00 UTC, where the
    # due day's own offset would give 07:00 UTC, an hour early on the wall clock.
    due = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
    reminding = task(RemindOnLocalDay(1, time(9, 0), "Europe/Berlin"), due=due)
    [day_before] = due_reminders([reminding], fired=set(), now=due)
    assert day_before.fires_at == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)


def test_a_local_day_is_the_day_in_that_zone_not_in_utc() -> None:
    # 03:00 UTC on 3 December is still 2 December, 19:00, in Los Angeles.
    due = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    reminding = task(RemindOnLocalDay(0, time(8, 0), "America/Los_Angeles"), due=due)
    [same_day] = due_reminders([reminding], fired=set(), now=due)
    assert same_day.fires_at == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)


def test_a_local_time_the_clocks_skip_falls_an_hour_later() -> None:
    due = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    reminding = task(RemindOnLocalDay(1, time(2, 30), "Europe/Berlin"), due=due)
    [skipped] = due_reminders([reminding], fired=set(), now=due)
    assert skipped.fires_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_instants_in_other_offsets_are_read_as_the_same_utc_instant() -> None:
    new_york = timezone(timedelta(hours=-5))
    reminding = task(RemindBefore(timedelta(0)), due=datetime(2026, 12, 3, 5, 0, tzinfo=new_york))
    [due] = due_reminders([reminding], fired=set(), now=datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    assert due.fires_at == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_a_naive_due_time_is_refused() -> None:
    with pytest.raises(ActivityIsInvalid) as refused:
        task(due=datetime(2026, 12, 3, 10, 0))
    assert refused.value.field == "due"


@pytest.mark.parametrize(
    ("reminder", "field"),
    [
        (RemindBefore(timedelta(minutes=-5)), "reminders[0].offset"),
        (RemindAt(datetime(2026, 12, 3, 9, 0)), "reminders[0].instant"),
        (RemindOnLocalDay(1, time(9), "Mars/Olympus_Mons"), "reminders[0].zone"),
        # A folder of the time zone database, not a zone: zoneinfo raises an OSError.
        (RemindOnLocalDay(1, time(9), "America"), "reminders[0].zone"),
        (RemindOnLocalDay(-1, time(9), "Europe/Berlin"), "reminders[0].days_before"),
    ],
)
def test_a_reminder_that_breaks_a_rule_is_refused_naming_the_field(
    reminder: Reminder, field: str
) -> None:
    with pytest.raises(ActivityIsInvalid) as refused:
        task(reminder)
    assert refused.value.field == field


def test_an_appointment_ends_after_it_starts() -> None:
    with pytest.raises(ActivityIsInvalid) as refused:
        appointment(minutes=-1)
    assert refused.value.field == "ends"


def test_the_next_reminder_is_when_the_scheduler_next_has_work() -> None:
    reminding = task(RemindBefore(timedelta(hours=1)), RemindBefore(timedelta(minutes=5)))
    assert next_reminder_at(
        [reminding], set(), now=DUE - 2 * timedelta(hours=1)
    ) == DUE - timedelta(hours=1)
    fired = {r.id for r in due_reminders([reminding], set(), now=DUE - timedelta(hours=1))}
    assert next_reminder_at([reminding], fired, now=DUE - timedelta(hours=1)) == DUE - 5 * MINUTE


def test_there_is_no_next_reminder_when_all_have_fired() -> None:
    reminding = task(RemindBefore(timedelta(hours=1)))
    fired = {r.id for r in due_reminders([reminding], set(), now=DUE)}
    assert next_reminder_at([reminding], fired, now=DUE) is None


@given(
    offsets=st.lists(st.integers(0, 180), min_size=1, max_size=4),
    runs=st.lists(st.tuples(st.integers(-240, 240), st.booleans()), min_size=1, max_size=12),
)
def test_a_scheduler_that_crashes_in_any_run_fires_each_reminder_exactly_once(
    offsets: list[int], runs: list[tuple[int, bool]]
) -> None:
    # A run fires what is due and records the ids in one transaction; a crash loses the
    # whole run (nothing fired, nothing recorded) and the restarted scheduler knows only
    # what was recorded. Runs land before, on and after the due instants; one comes last.
    activity = task(*(RemindBefore(timedelta(minutes=m)) for m in offsets))
    recorded: set[str] = set()
    fired: list[str] = []
    for minute, crashes in [*sorted(runs), (300, False)]:
        now = DUE + minute * MINUTE
        due = due_reminders([activity], fired=recorded, now=now)
        assert all(reminder.fires_at <= now for reminder in due)
        if not crashes:
            fired += [reminder.id for reminder in due]
            recorded |= {reminder.id for reminder in due}
    every = {DUE - timedelta(minutes=m) for m in offsets}
    assert sorted(fired) == sorted(reminder_id(activity, instant) for instant in every)
