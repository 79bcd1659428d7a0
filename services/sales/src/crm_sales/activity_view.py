"""What the sales API returns of an activity, filled in from the aggregate by
``RecordView.of``."""

from __future__ import annotations

from datetime import datetime

from crm_shared.catalog.sales.activities import (
    ActivityKind,
    RelatedTo,
    Reminder,
    ScheduledReminder,
)
from crm_shared.records.views import RecordView


class ActivityView(RecordView):
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
