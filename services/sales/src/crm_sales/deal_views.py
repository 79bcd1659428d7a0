"""What the sales API returns of a pipeline and of an opportunity, filled in from the
aggregate by ``RecordView.of``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import Field

from crm_sales.domain.opportunity_states import DealStatus
from crm_shared.catalog.sales.opportunities import ContactRole, LineItem, StageData
from crm_shared.records.views import RecordView


class PipelineView(RecordView):
    name: str
    stages: list[StageData] = Field(description="In order; the won and lost stages last")


class OpportunityView(RecordView):
    name: str
    account_id: UUID | None
    primary_contact_id: UUID | None
    contact_roles: list[ContactRole]
    lead_id: UUID | None
    pipeline_id: UUID
    pipeline: str = Field(description="The pipeline's name when the deal opened")
    stage: str
    stage_entered_at: datetime = Field(description="When the deal reached its stage")
    amount: Decimal = Field(description="In the deal's currency; the line items' total if any")
    currency: str
    close_date: date
    probability: int = Field(description="Win probability, percent")
    forecast_category: str
    probability_by_hand: bool = Field(description="Set by a rep: stage changes keep it")
    forecast_category_by_hand: bool = Field(description="Set by a rep: stage changes keep it")
    line_items: list[LineItem]
    next_step: str | None
    team: str | None
    status: DealStatus
    closed_on: date | None
    lost_reason: str | None
