"""The request body of ``POST /v1/leads/{id}/convert``."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from crm_sales.api.deal_schemas import Amount, Currency
from crm_sales.conversion.use_case import Conversion, NewOpportunity
from crm_shared.values import ShortText, Strict


class ConversionOpportunity(Strict):
    name: ShortText
    pipeline_id: UUID
    amount: Amount | None = None
    currency: Currency
    close_date: date = Field(description="When the deal is expected to close")


class Convert(Strict):
    create_account: bool = Field(
        True, description="Create an account from the lead's company (when it names one)"
    )
    opportunity: ConversionOpportunity | None = Field(
        None, description="Open this deal for the new contact; left out: none"
    )

    def conversion(self) -> Conversion:
        wanted = self.opportunity
        return Conversion(
            create_account=self.create_account,
            opportunity=None
            if wanted is None
            else NewOpportunity(
                name=wanted.name,
                pipeline_id=wanted.pipeline_id,
                currency=wanted.currency,
                close_date=wanted.close_date,
                amount=wanted.amount,
            ),
        )
