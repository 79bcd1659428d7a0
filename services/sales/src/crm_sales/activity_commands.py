"""The sales service's commands on activities; archiving (cancelling), restoring and
reassigning one are the generic ``crm_shared.records.commands``."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_sales.domain.activity import Activity
from crm_shared.records.commands import ChangeRecord, CreateRecord, RecordCommand


@dataclass(frozen=True, kw_only=True, repr=False)
class ScheduleActivity(CreateRecord[Activity]):
    record_type: type[Activity] = field(default=Activity, init=False)


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangeActivity(ChangeRecord[Activity]):
    record_type: type[Activity] = field(default=Activity, init=False)


@dataclass(frozen=True, kw_only=True)
class CompleteActivity(RecordCommand[Activity]):
    record_type: type[Activity] = field(default=Activity, init=False)

    def apply(self, record: Activity) -> None:
        record.complete()


@dataclass(frozen=True, kw_only=True)
class ReopenActivity(RecordCommand[Activity]):
    record_type: type[Activity] = field(default=Activity, init=False)

    def apply(self, record: Activity) -> None:
        record.reopen()


@dataclass(frozen=True, kw_only=True)
class FireReminder(RecordCommand[Activity]):
    """What the reminder scheduler sends when a reminder is due (ids from
    ``ActivityRemindersScheduled``); firing one twice records it once."""

    record_type: type[Activity] = field(default=Activity, init=False)
    reminder_id: str

    def apply(self, record: Activity) -> None:
        record.fire_reminder(self.reminder_id)
