"""What the sales API returns of a quote, filled in from the aggregate by
``RecordView.of``."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from crm_sales.documents.quote import QuoteStatus
from crm_shared.catalog.sales.quotes import QuoteLine, QuoteTotals
from crm_shared.records.views import RecordView


class QuoteView(RecordView):
    number: str = Field(description="e.g. Q-2026-000123")
    revision: int = Field(description="The quote's version the customer sees (1, 2, ...)")
    opportunity_id: UUID
    account_id: UUID | None
    primary_contact_id: UUID | None
    customer: str | None = Field(description="As printed; null once the person is erased")
    currency: str
    lines: list[QuoteLine]
    totals: QuoteTotals
    valid_until: date
    status: QuoteStatus
    sent_on: date | None
    accepted_on: date | None
    rejected_on: date | None
    rejection_reason: str | None
