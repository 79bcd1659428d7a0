"""A user's activities as an iCalendar feed, read back with the icalendar library."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import uuid4

import icalendar

from crm_sales.documents.calendar import activity_uid, calendar_feed
from crm_sales.documents.reminders import (
    Activity,
    ActivityKind,
    RemindAt,
    RemindBefore,
    Reminder,
    RemindOnLocalDay,
)

START = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
CHANGED = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def appointment(*reminders: Reminder, **details: str) -> Activity:
    return Activity(
        id=uuid4(),
        kind=ActivityKind.APPOINTMENT,
        title=details.get("title", "Demo for Ångström AB"),
        assignee=details.get("assignee", "rep-1"),
        due=START,
        ends=START + timedelta(hours=1),
        changed_at=CHANGED,
        reminders=reminders,
        description=details.get("description", ""),
        location=details.get("location", ""),
    )


def task(*reminders: Reminder, assignee: str = "rep-1") -> Activity:
    return Activity(
        id=uuid4(),
        kind=ActivityKind.TASK,
        title="Send the quote",
        assignee=assignee,
        due=START,
        changed_at=CHANGED,
        reminders=reminders,
    )


def parsed(*activities: Activity, user: str = "rep-1") -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(calendar_feed(user, activities))


def test_the_feed_is_an_icalendar_2_0_calendar_named_for_its_user() -> None:
    feed = parsed()
    assert (str(feed["version"]), str(feed["x-wr-calname"])) == ("2.0", "CRM activities of rep-1")
    assert feed["prodid"]


def test_the_feed_asks_subscribers_to_refresh_every_quarter_hour() -> None:
    feed = calendar_feed("rep-1", [])
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n" in feed
    assert b"X-PUBLISHED-TTL:PT15M\r\n" in feed


def test_an_appointment_is_an_event_with_its_start_end_and_title() -> None:
    meeting = appointment(location="Room 4", description="Bring the pricing")
    [event] = parsed(meeting).walk("VEVENT")
    assert (event["dtstart"].dt, event["dtend"].dt) == (START, START + timedelta(hours=1))
    assert (str(event["summary"]), str(event["location"]), str(event["description"])) == (
        "Demo for Ångström AB",
        "Room 4",
        "Bring the pricing",
    )


def test_a_task_is_a_to_do_with_its_due_time() -> None:
    [todo] = parsed(task()).walk("VTODO")
    assert (todo["due"].dt, str(todo["status"])) == (START, "NEEDS-ACTION")


def test_a_done_task_is_completed_at_the_time_it_was_done() -> None:
    done_at = START - timedelta(hours=2)
    [todo] = parsed(task().revised(done_at, done_at=done_at)).walk("VTODO")
    assert (str(todo["status"]), todo["completed"].dt, int(todo["percent-complete"])) == (
        "COMPLETED",
        done_at,
        100,
    )


def test_a_done_task_carries_no_alarm() -> None:
    done = task(RemindBefore(timedelta(minutes=30))).revised(START, done_at=START)
    [todo] = parsed(done).walk("VTODO")
    assert todo.walk("VALARM") == []


def test_an_activity_keeps_its_uid_in_every_feed() -> None:
    meeting = appointment()
    first = parsed(meeting).walk("VEVENT")[0]["uid"]
    later = parsed(meeting.revised(CHANGED, title="Demo, moved")).walk("VEVENT")[0]["uid"]
    assert str(first) == str(later) == activity_uid(meeting)


def test_a_change_bumps_the_sequence_and_the_stamp() -> None:
    meeting = appointment()
    moved_at = CHANGED + timedelta(hours=3)
    moved = meeting.revised(
        moved_at, due=START + timedelta(days=1), ends=START + timedelta(days=1, hours=1)
    )
    before = parsed(meeting).walk("VEVENT")[0]
    after = parsed(moved).walk("VEVENT")[0]
    assert (int(before["sequence"]), before["dtstamp"].dt) == (0, CHANGED)
    assert (int(after["sequence"]), after["dtstamp"].dt) == (1, moved_at)
    assert after["last-modified"].dt == moved_at


def test_a_reminder_before_an_appointment_is_an_alarm_relative_to_its_start() -> None:
    [event] = parsed(appointment(RemindBefore(timedelta(minutes=15)))).walk("VEVENT")
    [alarm] = event.walk("VALARM")
    assert (str(alarm["action"]), alarm["trigger"].dt) == ("DISPLAY", -timedelta(minutes=15))
    assert alarm["trigger"].params.get("RELATED", "START") == "START"
    assert str(alarm["description"]) == "Demo for Ångström AB"


def test_a_reminder_before_a_task_is_an_alarm_relative_to_its_due_time() -> None:
    [todo] = parsed(task(RemindBefore(timedelta(hours=1)))).walk("VTODO")
    [alarm] = todo.walk("VALARM")
    assert (alarm["trigger"].dt, alarm["trigger"].params["RELATED"]) == (-timedelta(hours=1), "END")


def test_a_reminder_at_an_instant_is_an_alarm_at_that_date_time() -> None:
    at = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    feed = calendar_feed("rep-1", [task(RemindAt(at))])
    assert b"TRIGGER;VALUE=DATE-TIME:20261202T160000Z" in feed
    [alarm] = icalendar.Calendar.from_ical(feed).walk("VALARM")
    assert alarm["trigger"].dt == at


def test_a_local_day_reminder_is_an_alarm_at_its_utc_instant() -> None:
    # 3 December 10:00 UTC is 11:00 in Berlin; the day before at 09:00 there is 08:00 UTC.
    [alarm] = parsed(task(RemindOnLocalDay(1, time(9), "Europe/Berlin"))).walk("VALARM")
    assert alarm["trigger"].dt == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def test_the_feed_holds_only_the_users_own_activities() -> None:
    mine, theirs = task(assignee="rep-1"), task(assignee="rep-2")
    feed = parsed(mine, theirs, user="rep-1")
    assert [str(todo["uid"]) for todo in feed.walk("VTODO")] == [activity_uid(mine)]


def test_text_with_commas_semicolons_newlines_and_backslashes_is_escaped() -> None:
    title = "Call Zoë, re: pricing; bring notes\nand C:\\quotes"
    feed = calendar_feed("rep-1", [appointment(title=title)])
    assert "SUMMARY:Call Zoë\\, re: pricing\\; bring notes\\nand C:\\\\quotes".encode() in feed
    [event] = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    assert str(event["summary"]) == title


def test_long_lines_are_folded_to_75_octets() -> None:
    feed = calendar_feed("rep-1", [appointment(description="Ångström " * 40)])
    lines = feed.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    [event] = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    assert str(event["description"]) == "Ångström " * 40


def test_the_same_activities_give_the_same_feed() -> None:
    activities = [appointment(RemindBefore(timedelta(minutes=5))), task()]
    assert calendar_feed("rep-1", activities) == calendar_feed("rep-1", activities[::-1])
