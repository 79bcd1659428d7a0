"""A deal's row in the deal list, folded from its events: pure, no I/O.

The row keeps what the list shows, filters, searches and sorts by. A deal's events carry
its forecast fields as they became (``crm_shared.catalog.sales.opportunities``), so the
fold needs neither the pipelines nor the rules that set them. The events hold no personal
data: the account and the contacts are ids, kept by the contacts service.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from crm_sales.domain.opportunity_states import DealStatus
from crm_sales.domain.pipeline import Outcome
from crm_sales.domain.probability import closed_as
from crm_shared.catalog.sales.opportunities import (
    ContactRole,
    OpportunityChanged,
    OpportunityForecastSet,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReassigned,
    OpportunityStageChanged,
    OpportunityWon,
)
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.projections.rows import fold_batch

DEAL_EVENTS: tuple[type[EventData], ...] = (
    OpportunityOpened,
    OpportunityChanged,
    OpportunityForecastSet,
    OpportunityStageChanged,
    OpportunityWon,
    OpportunityLost,
    OpportunityReassigned,
)

# What of a change the row keeps: line items and the next step are not in the list.
CHANGED_FIELDS = (
    "name",
    "account_id",
    "primary_contact_id",
    "amount",
    "currency",
    "close_date",
    "team",
)


@dataclass(frozen=True)
class DealRow:
    opportunity_id: UUID
    version: int
    name: str
    account_id: UUID | None
    primary_contact_id: UUID | None
    role_contact_ids: tuple[UUID, ...]
    owner: str | None
    team: str | None
    department: str
    pipeline_id: UUID
    pipeline: str
    stage: str
    status: DealStatus
    amount: Decimal
    currency: str
    probability: int
    forecast_category: str
    close_date: date
    created_at: datetime
    updated_at: datetime

    @property
    def contact_ids(self) -> tuple[UUID, ...]:
        """Every contact of the deal, primary or with a role (what ``contact_id`` finds)."""
        primary = (self.primary_contact_id,) if self.primary_contact_id else ()
        return tuple(dict.fromkeys((*primary, *self.role_contact_ids)))


def _role_ids(roles: list[ContactRole]) -> tuple[UUID, ...]:
    return tuple(dict.fromkeys(role.contact_id for role in roles))


def opened(event: ReceivedEvent[OpportunityOpened]) -> DealRow:
    e = event.data
    return DealRow(
        opportunity_id=event.aggregate_id,
        version=event.version,
        name=e.name,
        account_id=e.account_id,
        primary_contact_id=e.primary_contact_id,
        role_contact_ids=_role_ids(e.contact_roles),
        owner=e.owner,
        team=e.team,
        department=e.department,
        pipeline_id=e.pipeline_id,
        pipeline=e.pipeline,
        stage=e.stage,
        status=DealStatus.OPEN,
        amount=e.amount,
        currency=e.currency,
        probability=e.probability,
        forecast_category=e.forecast_category,
        close_date=e.close_date,
        created_at=event.time,
        updated_at=event.time,
    )


def fold(row: DealRow | None, event: ReceivedEvent[EventData]) -> DealRow | None:
    """The row after ``event`` (the consumer hands each deal's events once, in order)."""
    if isinstance(event.data, OpportunityOpened):
        return opened(event)  # type: ignore[arg-type]
    if row is None:
        return None  # nothing to change: its opening never reached the list
    return replace(_changed(row, event.data), version=event.version, updated_at=event.time)


def _changed(row: DealRow, data: EventData) -> DealRow:
    match data:
        case OpportunityChanged():
            given = data.model_fields_set
            kept = {f: getattr(data, f) for f in CHANGED_FIELDS if f in given}
            # A deal always has these (the aggregate refuses clearing them): a null in an
            # event changes nothing rather than breaking the row.
            for required in ("name", "amount", "currency", "close_date"):
                if kept.get(required, "") is None:
                    del kept[required]
            if "contact_roles" in given:
                kept["role_contact_ids"] = _role_ids(data.contact_roles or [])
            return replace(row, **kept)
        case OpportunityForecastSet(probability=p, forecast_category=category):
            return replace(row, probability=p, forecast_category=category)
        case OpportunityStageChanged(stage=stage, probability=p, forecast_category=category):
            return replace(row, stage=stage, probability=p, forecast_category=category)
        case OpportunityWon(stage=stage, amount=amount, currency=currency, closed_on=closed_on):
            # As the deal has it: settled, its close date the day it closed.
            won = replace(row, amount=amount, currency=currency)
            return _closed(won, stage, DealStatus.WON, Outcome.WON, closed_on)
        case OpportunityLost(stage=stage, closed_on=closed_on):
            return _closed(row, stage, DealStatus.LOST, Outcome.LOST, closed_on)
        case OpportunityReassigned(owner=owner, department=department):
            return replace(row, owner=owner, department=department)
    return row


def _closed(
    row: DealRow, stage: str, status: DealStatus, outcome: Outcome, closed_on: date
) -> DealRow:
    settled = closed_as(outcome)
    return replace(
        row,
        stage=stage,
        status=status,
        close_date=closed_on,
        probability=settled.probability,
        forecast_category=settled.category.value,
    )


def fold_all(rows: dict[UUID, DealRow], events: list[ReceivedEvent[EventData]]) -> set[UUID]:
    """Folds a batch into ``rows`` in place; the deals whose row changed."""
    return fold_batch(rows, events, fold)
