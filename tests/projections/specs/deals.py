"""The sales catalog's events for the forecast's specifications and integration tests:
a deal's life told as events with their recording times, as the sales service stores them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from crm_shared.catalog.sales.opportunities import (
    OpportunityChanged,
    OpportunityForecastSet,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReassigned,
    OpportunityStageChanged,
    OpportunityWon,
    PipelineDefined,
    StageData,
)
from crm_shared.catalog.sales.planning import ExchangeRateRecorded, QuotaSet
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.projections.specs import received

PIPELINE_ID = UUID("1e2d3c4b-5a69-4788-9a6b-5c4d3e2f1a0b")


def at(text: str) -> datetime:
    """An instant written as ``2026-10-01T09:00`` (UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def opened(
    amount: str = "1000",
    currency: str = "USD",
    close_date: date = date(2026, 11, 15),
    stage: str = "prospecting",
    probability: int = 10,
    category: str = "pipeline",
    owner: str | None = "alice",
    team: str | None = "enterprise",
    department: str = "sales",
    pipeline_id: UUID = PIPELINE_ID,
    pipeline: str = "new_business",
) -> OpportunityOpened:
    return OpportunityOpened(
        name="a deal",
        pipeline_id=pipeline_id,
        pipeline=pipeline,
        stage=stage,
        amount=Decimal(amount),
        currency=currency,
        close_date=close_date,
        probability=probability,
        forecast_category=category,
        owner=owner,
        team=team,
        department=department,
    )


def staged(stage: str, probability: int, category: str, was: str = "prospecting") -> EventData:
    return OpportunityStageChanged(
        from_stage=was, stage=stage, probability=probability, forecast_category=category
    )


def changed(**fields: Any) -> EventData:
    return OpportunityChanged(**fields)


def forecast_set(probability: int, category: str) -> EventData:
    return OpportunityForecastSet(
        probability=probability,
        forecast_category=category,
        probability_by_hand=True,
        forecast_category_by_hand=True,
    )


def won(amount: str, closed_on: date, currency: str = "USD") -> EventData:
    return OpportunityWon(
        from_stage="negotiation",
        stage="closed_won",
        amount=Decimal(amount),
        currency=currency,
        closed_on=closed_on,
    )


def lost(closed_on: date) -> EventData:
    return OpportunityLost(
        from_stage="proposal", stage="closed_lost", reason="no budget", closed_on=closed_on
    )


def reassigned(owner: str | None, department: str = "sales") -> EventData:
    return OpportunityReassigned(owner=owner, department=department)


def rate(currency: str, effective: date, value: str, corporate: str = "USD") -> EventData:
    return ExchangeRateRecorded(
        currency=currency, effective=effective, rate=Decimal(value), corporate_currency=corporate
    )


def quota(
    amount: str, period: str = "2026-Q4", owner: str | None = "alice", department: str = "sales"
) -> EventData:
    return QuotaSet(
        owner=owner,
        team=None if owner else "enterprise",
        period=period,
        amount=Decimal(amount),
        currency="USD",
        department=department,
    )


STAGES = [
    StageData(name="prospecting", probability=10, forecast_category="pipeline"),
    StageData(name="proposal", probability=50, forecast_category="best_case"),
    StageData(name="negotiation", probability=80, forecast_category="commit"),
    StageData(name="closed_won", probability=100, forecast_category="closed", outcome="won"),
    StageData(name="closed_lost", probability=0, forecast_category="omitted", outcome="lost"),
]


def pipeline_defined(name: str = "new_business") -> EventData:
    return PipelineDefined(name=name, stages=STAGES, department="sales")


def story(
    *steps: tuple[str, EventData], aggregate_id: UUID | None = None
) -> list[ReceivedEvent[EventData]]:
    """One aggregate's events, each at its recording time, versions 1, 2, ... in order."""
    aggregate_id = aggregate_id or uuid4()
    return [
        received(data, aggregate_id=aggregate_id, version=version, time=at(when))
        for version, (when, data) in enumerate(steps, start=1)
    ]
