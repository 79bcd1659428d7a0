"""A lead's row in the lead list, folded from its events: pure, no I/O.

The row keeps what the list shows, filters, searches and sorts by. The person's name and
email are personal data, opened by the consumer; the phone is not kept at all (the list
neither shows nor searches it). When a lead is converted its person lives on as a
contact, which the contacts service keeps and erases: the row then drops the name and
email and keeps the status, the company and the contact's id, so the list holds no copy
of a person that the contact's erasure would not reach. An erased lead's row drops them
too, whatever its status (``LeadErased``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from crm_sales.domain.lead import LeadStatus
from crm_shared.catalog.sales.leads import (
    LeadAssigned,
    LeadChanged,
    LeadConverted,
    LeadDisqualified,
    LeadErased,
    LeadQualified,
    LeadReassigned,
    LeadRegistered,
    LeadScoreChanged,
    LeadWorkStarted,
)
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.projections.rows import fold_batch

LEAD_EVENTS: tuple[type[EventData], ...] = (
    LeadRegistered,
    LeadChanged,
    LeadWorkStarted,
    LeadQualified,
    LeadDisqualified,
    LeadConverted,
    LeadScoreChanged,
    LeadReassigned,
    LeadAssigned,
    LeadErased,
)

# What of a change the row keeps: the rest of a lead's fields are not in the list.
CHANGED_FIELDS = ("first_name", "last_name", "email", "job_title", "company_name", "team")
PERSONAL_FIELDS = ("first_name", "last_name", "email")


@dataclass(frozen=True)
class LeadRow:
    lead_id: UUID
    version: int
    status: LeadStatus
    first_name: str | None
    last_name: str | None
    email: str | None
    job_title: str | None
    company_name: str | None
    owner: str | None
    team: str | None
    department: str
    score: int
    disqualification_reason: str | None
    contact_id: UUID | None
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        """The person's name as the list shows it (empty once converted)."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def search(self) -> str:
        """What ``q`` looks in, case-folded: name, email and company."""
        parts = (self.name, self.email, self.company_name)
        return " ".join(part for part in parts if part).lower()


def registered(event: ReceivedEvent[LeadRegistered]) -> LeadRow:
    e = event.data
    return LeadRow(
        lead_id=event.aggregate_id,
        version=event.version,
        status=LeadStatus.NEW,
        first_name=e.first_name,
        last_name=e.last_name,
        email=e.email,
        job_title=e.job_title,
        company_name=e.company_name,
        owner=e.owner,
        team=e.team,
        department=e.department,
        score=0,
        disqualification_reason=None,
        contact_id=None,
        created_at=event.time,
        updated_at=event.time,
    )


def fold(row: LeadRow | None, event: ReceivedEvent[EventData]) -> LeadRow | None:
    """The row after ``event`` (the consumer hands each lead's events once, in order)."""
    if isinstance(event.data, LeadRegistered):
        return registered(event)  # type: ignore[arg-type]
    if row is None:
        return None  # nothing to change: its registration never reached the list
    return replace(_changed(row, event.data), version=event.version, updated_at=event.time)


def _changed(row: LeadRow, data: EventData) -> LeadRow:
    match data:
        case LeadChanged():
            kept = {f: getattr(data, f) for f in CHANGED_FIELDS if f in data.model_fields_set}
            if row.status is LeadStatus.CONVERTED:
                kept = {f: v for f, v in kept.items() if f not in PERSONAL_FIELDS}
            return replace(row, **kept)
        case LeadWorkStarted():
            return replace(row, status=LeadStatus.WORKING)
        case LeadQualified():
            return replace(row, status=LeadStatus.QUALIFIED, disqualification_reason=None)
        case LeadDisqualified(reason=reason):
            return replace(row, status=LeadStatus.DISQUALIFIED, disqualification_reason=reason)
        case LeadConverted(contact_id=contact_id):
            forgotten: dict[str, Any] = dict.fromkeys(PERSONAL_FIELDS)
            return replace(row, status=LeadStatus.CONVERTED, contact_id=contact_id, **forgotten)
        case LeadErased():
            erased: dict[str, Any] = dict.fromkeys(PERSONAL_FIELDS)
            return replace(row, **erased)
        case LeadScoreChanged(score=score):
            return replace(row, score=score)
        case LeadReassigned(owner=owner, department=department, team=team):
            return replace(row, owner=owner, department=department, team=team or row.team)
        case LeadAssigned(owner=owner, team=team):
            return replace(row, owner=owner, team=team)
    return row


def fold_all(rows: dict[UUID, LeadRow], events: list[ReceivedEvent[EventData]]) -> set[UUID]:
    """Folds a batch into ``rows`` in place; the leads whose row changed."""
    return fold_batch(rows, events, fold)
