"""A user's activities as an iCalendar feed (RFC 5545) that calendar programs subscribe to.

Appointments are VEVENTs; tasks are VTODOs, the component RFC 5545 has for them (a
program that shows no to-dos, as some web calendars do, skips them rather than showing a
task as a meeting). Each keeps one UID for life and carries SEQUENCE and DTSTAMP from the
activity's revisions, so a subscribed program replaces its copy when the activity changes.
Reminders become VALARMs. The ``icalendar`` library writes the text, escaping and folding
lines as the RFC requires.

The feed has no METHOD: it is a published calendar, not a scheduling message, and so its
DTSTAMP is when the activity was last revised (RFC 5545, 3.8.7.2), which also keeps the
bytes the same until something changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event, Todo, vDuration

from crm_sales.documents.reminders import (
    Activity,
    ActivityKind,
    RemindBefore,
    Reminder,
    fires_at,
    reminder_id,
)

CALENDAR_MEDIA_TYPE = "text/calendar; charset=utf-8"
PRODUCT_ID = "-//CRM//Sales activities//EN"
# How often a subscribed program should fetch the feed again (RFC 7986, and the older
# name that Outlook reads).
REFRESH = timedelta(minutes=15)


def activity_uid(activity: Activity) -> str:
    return f"activity-{activity.id}@crm"


def calendar_feed(user: str, activities: Iterable[Activity]) -> bytes:
    """``user``'s activities, and only theirs, whatever else the caller passes in."""
    feed = Calendar()
    feed.add("prodid", PRODUCT_ID)
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", f"CRM activities of {user}")
    feed.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    feed.add("x-published-ttl", vDuration(REFRESH))  # an X- name: no known value type
    for activity in sorted(
        (activity for activity in activities if activity.assignee == user),
        key=lambda activity: (activity.due, str(activity.id)),
    ):
        feed.add_component(_component(activity))
    return bytes(feed.to_ical())


def _component(activity: Activity) -> Event | Todo:
    component: Event | Todo
    if activity.kind is ActivityKind.APPOINTMENT:
        component = Event()
        component.add("dtstart", activity.due)
        component.add("dtend", activity.ends)
        component.add("status", "CONFIRMED")
    else:
        component = Todo()
        component.add("due", activity.due)
        if activity.done_at is not None:
            component.add("status", "COMPLETED")
            component.add("completed", activity.done_at)
            component.add("percent-complete", 100)
        else:
            component.add("status", "NEEDS-ACTION")
    component.add("uid", activity_uid(activity))
    component.add("dtstamp", activity.changed_at)
    component.add("last-modified", activity.changed_at)
    component.add("sequence", activity.sequence)
    component.add("summary", activity.title)
    if activity.description:
        component.add("description", activity.description)
    if activity.location:
        component.add("location", activity.location)
    if not activity.done:  # a finished task rings no more
        rings: set[datetime] = set()
        for reminder in activity.reminders:
            instant = fires_at(reminder, activity.due)
            if instant not in rings:  # as in due_reminders: one instant, one reminder
                rings.add(instant)
                component.add_component(_alarm(activity, reminder, instant))
    return component


def _alarm(activity: Activity, reminder: Reminder, instant: datetime) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", activity.title)
    # RFC 9074's alarm UID: the id the reminder fires under (due_reminders), for tracing.
    alarm.add("uid", reminder_id(activity, instant))
    match reminder:
        case RemindBefore(offset):
            # A VTODO's alarm relates to its DUE through RELATED=END (RFC 5545, 3.8.6.3).
            related = "START" if activity.kind is ActivityKind.APPOINTMENT else "END"
            alarm.add("trigger", -offset, parameters={"RELATED": related})
        case _:
            # TRIGGER's default value type is DURATION: an instant must say it is one.
            alarm.add("trigger", instant, parameters={"VALUE": "DATE-TIME"})
    return alarm
