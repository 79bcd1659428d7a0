"""The forecast's fold: each opportunity's and quota's states as validity intervals.

Pure functions over the catalog's typed events, no I/O. An event that changes what the
forecast keeps of a deal ends its current state at the event's time and starts the next
one there: ``valid_from`` and ``valid_to`` are recording times (when the sales service
stored the event), so the states valid at an instant are the deals exactly as they could
be seen then (docs/architecture.md, "The pipeline forecast"). A state is keyed by the
version of the event that started it; the consumer hands each version over once and in
order, so folding a batch twice cannot happen, and a row inserted twice would fail loudly
on its key rather than corrupt the intervals.

What an event carries is stored as it is (an unknown forecast category, say): the sales
service validates it, the read model only keeps it, and the queries decide how to count
it (``queries.as_opportunity_state``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Generic, TypeAlias, TypeVar
from uuid import UUID

from crm_sales.domain.opportunity_states import DealStatus
from crm_shared.catalog.sales.opportunities import (
    OpportunityChanged,
    OpportunityForecastSet,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReassigned,
    OpportunityStageChanged,
    OpportunityWon,
)
from crm_shared.catalog.sales.planning import QuotaSet
from crm_shared.events import EventData, ReceivedEvent

OPPORTUNITY_EVENTS = (
    OpportunityOpened,
    OpportunityChanged,
    OpportunityForecastSet,
    OpportunityStageChanged,
    OpportunityWon,
    OpportunityLost,
    OpportunityReassigned,
)

Event: TypeAlias = ReceivedEvent[EventData]


def storable(text: str) -> str:
    """PostgreSQL text cannot hold NUL, which an old event may carry."""
    return text.replace("\x00", "\ufffd")


@dataclass(frozen=True, slots=True)
class DealState:
    """A deal as it stood from ``valid_from`` until ``valid_to`` (None: still so)."""

    opportunity_id: UUID
    version: int  # of the event that started this state
    department: str
    owner: str | None
    team: str | None
    pipeline_id: UUID
    pipeline: str
    stage: str
    amount: Decimal
    currency: str
    close_date: date
    probability: int
    category: str
    status: DealStatus
    created_at: datetime
    valid_from: datetime
    valid_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class QuotaState:
    """A quota (one owner's or one team's, for one period) as it stood in an interval."""

    quota_id: UUID
    version: int
    per: str  # "owner" or "team"
    who: str
    period: str
    amount: Decimal
    currency: str
    department: str
    valid_from: datetime
    valid_to: datetime | None = None


S = TypeVar("S", "DealState", "QuotaState")


@dataclass(frozen=True, slots=True)
class Intervals(Generic[S]):
    """What a batch does to the stored intervals: the current states it ends (by key, at
    which instant) and the states it adds (every one but each record's last ended)."""

    ended: dict[tuple[UUID, int], datetime]
    added: list[S]


def deal_after(current: DealState | None, event: Event) -> DealState | None:
    """The deal's next state, or None where the event changes nothing the forecast keeps
    (a renamed deal, a new next step) or names a deal never opened."""
    data = event.data
    if isinstance(data, OpportunityOpened):
        return DealState(
            opportunity_id=event.aggregate_id,
            department=storable(data.department),
            owner=None if data.owner is None else storable(data.owner),
            team=None if data.team is None else storable(data.team),
            pipeline_id=data.pipeline_id,
            pipeline=storable(data.pipeline),
            stage=storable(data.stage),
            amount=data.amount,
            currency=storable(data.currency),
            close_date=data.close_date,
            probability=data.probability,
            category=storable(data.forecast_category),
            status=DealStatus.OPEN,
            created_at=event.time,
            version=event.version,
            valid_from=event.time,
        )
    if current is None:
        return None
    match data:
        case OpportunityChanged():
            return _changed(current, data, event)
        case OpportunityForecastSet():
            return replace(
                current,
                probability=data.probability,
                category=storable(data.forecast_category),
                version=event.version,
                valid_from=event.time,
            )
        case OpportunityStageChanged():
            return replace(
                current,
                stage=storable(data.stage),
                probability=data.probability,
                category=storable(data.forecast_category),
                version=event.version,
                valid_from=event.time,
            )
        case OpportunityWon():
            return replace(
                current,
                stage=storable(data.stage),
                amount=data.amount,
                currency=storable(data.currency),
                close_date=data.closed_on,
                probability=100,
                category="closed",
                status=DealStatus.WON,
                version=event.version,
                valid_from=event.time,
            )
        case OpportunityLost():
            return replace(
                current,
                stage=storable(data.stage),
                close_date=data.closed_on,
                probability=0,
                category="omitted",
                status=DealStatus.LOST,
                version=event.version,
                valid_from=event.time,
            )
        case OpportunityReassigned():
            owner = None if data.owner is None else storable(data.owner)
            return replace(
                current,
                owner=owner,
                department=storable(data.department),
                version=event.version,
                valid_from=event.time,
            )
    return None


def _changed(current: DealState, data: OpportunityChanged, event: Event) -> DealState | None:
    """The forecast's fields among those the change touched (a null amount, currency or
    close date cannot clear what a deal must have, so it is ignored); None when the change
    touched none of them."""
    touched = data.model_fields_set
    state = current
    if "amount" in touched and data.amount is not None:
        state = replace(state, amount=data.amount)
    if "currency" in touched and data.currency is not None:
        state = replace(state, currency=storable(data.currency))
    if "close_date" in touched and data.close_date is not None:
        state = replace(state, close_date=data.close_date)
    if "team" in touched:
        state = replace(state, team=None if data.team is None else storable(data.team))
    if state == current:
        return None
    return replace(state, version=event.version, valid_from=event.time)


def quota_after(event: Event) -> QuotaState | None:
    """The quota a ``QuotaSet`` makes; None for one that names neither owner nor team."""
    data = event.data
    if not isinstance(data, QuotaSet):
        return None
    if data.owner is not None:
        per, who = "owner", data.owner
    elif data.team is not None:
        per, who = "team", data.team
    else:
        return None
    return QuotaState(
        quota_id=event.aggregate_id,
        version=event.version,
        per=per,
        who=storable(who),
        period=storable(data.period),
        amount=data.amount,
        currency=storable(data.currency),
        department=storable(data.department),
        valid_from=event.time,
    )


def fold_deals(current: Mapping[UUID, DealState], events: Iterable[Event]) -> Intervals[DealState]:
    """A batch of opportunity events (each deal's in version order) over the deals' current
    states: which current states end, and the states that follow."""
    latest: dict[UUID, DealState] = dict(current)
    chains: dict[UUID, list[DealState]] = {}
    for event in events:
        following = deal_after(latest.get(event.aggregate_id), event)
        if following is not None:
            latest[event.aggregate_id] = following
            chains.setdefault(event.aggregate_id, []).append(following)
    ended, added = _link(current, chains)
    return Intervals(ended, added)


def fold_quotas(
    current: Mapping[UUID, QuotaState], events: Iterable[Event]
) -> Intervals[QuotaState]:
    """A batch of quota events: a quota set again replaces the one before from then on."""
    chains: dict[UUID, list[QuotaState]] = {}
    for event in events:
        following = quota_after(event)
        if following is not None:
            chains.setdefault(event.aggregate_id, []).append(following)
    ended, added = _link(current, chains)
    return Intervals(ended, added)


def _link(
    current: Mapping[UUID, S], chains: Mapping[UUID, list[S]]
) -> tuple[dict[tuple[UUID, int], datetime], list[S]]:
    """Each record's new states end where the next begins; its stored current state ends
    where the first new one begins."""
    ended: dict[tuple[UUID, int], datetime] = {}
    added: list[S] = []
    for key, chain in chains.items():
        before = current.get(key)
        if before is not None:
            ended[(key, before.version)] = chain[0].valid_from
        for state, following in pairwise(chain):
            added.append(replace(state, valid_to=following.valid_from))
        added.append(chain[-1])
    return ended, added
