"""What the customer 360 keeps of sales, per contact: the leads it came from, its deals
(the ones it is the primary contact of) and its activities, folded from
``crm.sales.events``: pure, no I/O.

Only ids, stages, amounts, dates and assignees: nothing personal. An activity's subject
is sealed with a key the sales service keeps, so the 360 shows an activity's kind and
times, not its words (no copy here for an erasure to miss)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from crm_shared.catalog.sales.activities import (
    ActivityArchived,
    ActivityChanged,
    ActivityCompleted,
    ActivityReassigned,
    ActivityReopened,
    ActivityRestored,
    ActivityScheduled,
    RelatedKind,
    RelatedTo,
)
from crm_shared.catalog.sales.leads import LeadConverted
from crm_shared.catalog.sales.opportunities import (
    OpportunityChanged,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReassigned,
    OpportunityStageChanged,
    OpportunityWon,
)
from crm_shared.events import EventData, ReceivedEvent

DEAL_EVENTS: tuple[type[EventData], ...] = (
    OpportunityOpened,
    OpportunityChanged,
    OpportunityStageChanged,
    OpportunityWon,
    OpportunityLost,
    OpportunityReassigned,
)
ACTIVITY_EVENTS: tuple[type[EventData], ...] = (
    ActivityScheduled,
    ActivityChanged,
    ActivityCompleted,
    ActivityReopened,
    ActivityArchived,
    ActivityRestored,
    ActivityReassigned,
)
LEAD_EVENTS: tuple[type[EventData], ...] = (LeadConverted,)
SALES_EVENTS = LEAD_EVENTS + DEAL_EVENTS + ACTIVITY_EVENTS

Event = ReceivedEvent[EventData]


@dataclass(frozen=True)
class LeadLink:
    lead_id: UUID
    contact_id: UUID
    account_id: UUID | None
    opportunity_id: UUID | None
    converted_at: datetime


@dataclass(frozen=True)
class DealRow:
    opportunity_id: UUID
    version: int
    contact_id: UUID | None
    name: str
    stage: str
    status: str  # open, won or lost
    amount: Decimal
    currency: str
    close_date: date
    department: str


@dataclass(frozen=True)
class ActivityRow:
    activity_id: UUID
    version: int
    contact_id: UUID | None
    kind: str
    due_at: datetime | None
    starts_at: datetime | None
    assignee: str | None
    done: bool
    archived: bool
    department: str


def lead_link(event: ReceivedEvent[LeadConverted]) -> LeadLink:
    e = event.data
    return LeadLink(event.aggregate_id, e.contact_id, e.account_id, e.opportunity_id, event.time)


def fold_deal(row: DealRow | None, event: Event) -> DealRow | None:
    """The deal after ``event`` (None: a deal whose opening the 360 never saw)."""
    data = event.data
    if row is not None and event.version <= row.version:
        return row  # delivered again
    if isinstance(data, OpportunityOpened):
        return DealRow(
            opportunity_id=event.aggregate_id,
            version=event.version,
            contact_id=data.primary_contact_id,
            name=data.name,
            stage=data.stage,
            status="open",
            amount=data.amount,
            currency=data.currency,
            close_date=data.close_date,
            department=data.department,
        )
    if row is None:
        return None  # never opened here
    match data:
        case OpportunityChanged():
            fields = ("name", "amount", "currency", "close_date")
            changed = {f: getattr(data, f) for f in fields if f in data.model_fields_set}
            changed = {f: v for f, v in changed.items() if v is not None}
            if "primary_contact_id" in data.model_fields_set:
                changed["contact_id"] = data.primary_contact_id
            row = replace(row, **changed)
        case OpportunityStageChanged(stage=stage):
            row = replace(row, stage=stage)
        case OpportunityWon(stage=stage, amount=amount, currency=currency, closed_on=closed):
            row = replace(
                row, status="won", stage=stage, amount=amount, currency=currency, close_date=closed
            )
        case OpportunityLost(stage=stage, closed_on=closed):
            row = replace(row, status="lost", stage=stage, close_date=closed)
        case OpportunityReassigned(department=department):
            row = replace(row, department=department)
    return replace(row, version=event.version)


def _contact_of(related_to: RelatedTo | None) -> UUID | None:
    if related_to is not None and related_to.kind is RelatedKind.CONTACT:
        return related_to.id
    return None


def fold_activity(row: ActivityRow | None, event: Event) -> ActivityRow | None:
    """The activity after ``event`` (None: one whose scheduling the 360 never saw)."""
    data = event.data
    if row is not None and event.version <= row.version:
        return row  # delivered again
    if isinstance(data, ActivityScheduled):
        return ActivityRow(
            activity_id=event.aggregate_id,
            version=event.version,
            contact_id=_contact_of(data.related_to),
            kind=data.kind.value,
            due_at=data.due_at,
            starts_at=data.starts_at,
            assignee=data.assignee,
            done=False,
            archived=False,
            department=data.department,
        )
    if row is None:
        return None
    match data:
        case ActivityChanged():
            fields = ("due_at", "starts_at", "assignee")
            changed = {f: getattr(data, f) for f in fields if f in data.model_fields_set}
            if "related_to" in data.model_fields_set:
                changed["contact_id"] = _contact_of(data.related_to)
            row = replace(row, **changed)
        case ActivityCompleted():
            row = replace(row, done=True)
        case ActivityReopened():
            row = replace(row, done=False)
        case ActivityArchived():
            row = replace(row, archived=True)
        case ActivityRestored():
            row = replace(row, archived=False)
        case ActivityReassigned(department=department):
            row = replace(row, department=department)
    return replace(row, version=event.version)
