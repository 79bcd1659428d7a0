"""What the sales API returns of a lead, filled in from the aggregate by ``RecordView.of``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from crm_sales.domain.lead import LeadStatus
from crm_shared.catalog.sales.leads import ScoreReason
from crm_shared.records.views import RecordView


class LeadView(RecordView):
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    job_title: str | None
    company_name: str | None
    company_size: int | None
    industry: str | None
    country: str | None
    region: str | None
    source: str | None
    campaign_id: UUID | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    team: str | None
    status: LeadStatus
    disqualification_reason: str | None
    score: int = Field(description="By the scoring rules in force (GET /v1/scoring-rules)")
    score_reasons: list[ScoreReason] = Field(
        description="Every rule's points; an engagement's decayed as of the score's last "
        "change, with the engagement's `when`"
    )
    rescore_at: datetime | None = Field(
        None, description="When the score next changes as its engagement ages (null: never)"
    )
    contact_id: UUID | None
    account_id: UUID | None
    opportunity_id: UUID | None
    erased: bool = False
    erased_at: datetime | None = None
