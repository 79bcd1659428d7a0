"""A contact's or an account's row, folded from the contacts service's events: pure."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from uuid import UUID

from crm_shared.catalog.contacts import (
    AccountArchived,
    AccountCreated,
    AccountReassigned,
    AccountRestored,
    ContactArchived,
    ContactErased,
    ContactReassigned,
    ContactRegistered,
    ContactRestored,
)
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.records.events import ReassignedData


class RecordKind(StrEnum):
    """As a reference names the kind of record it points at."""

    CONTACT = "contact"
    ACCOUNT = "account"


CONTACT_RECORD_EVENTS: tuple[type[EventData], ...] = (
    ContactRegistered,
    ContactReassigned,
    ContactArchived,
    ContactRestored,
    ContactErased,
    AccountCreated,
    AccountReassigned,
    AccountArchived,
    AccountRestored,
)


@dataclass(frozen=True)
class ContactRecord:
    record_id: UUID
    kind: RecordKind
    department: str
    archived: bool = False
    erased: bool = False


def fold(row: ContactRecord | None, event: ReceivedEvent[EventData]) -> ContactRecord | None:
    """The row after ``event``; None where the event tells nothing (no row to change)."""
    match event.data:
        case ContactRegistered(department=department):
            return ContactRecord(event.aggregate_id, RecordKind.CONTACT, department)
        case AccountCreated(department=department):
            return ContactRecord(event.aggregate_id, RecordKind.ACCOUNT, department)
    if row is None:  # the record's creation never reached this model: nothing to change
        return None
    match event.data:
        case ReassignedData(department=department):
            return replace(row, department=department)
        case ContactArchived() | AccountArchived():
            return replace(row, archived=True)
        case ContactRestored() | AccountRestored():
            return replace(row, archived=False)
        case ContactErased():
            return replace(row, erased=True)
    return None
