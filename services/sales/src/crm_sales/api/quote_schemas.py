"""Request bodies of the quotes routes: strict, validated, normalised, with the amounts'
shapes of the opportunities routes (decimals as strings or whole numbers, never floats)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import Field

from crm_sales.api.deal_schemas import Discount, NoFloat, Quantity, UnitPrice
from crm_sales.api.schemas import Reason
from crm_sales.domain.quote_lines import QuoteItem
from crm_shared.records.schemas import NewRecord
from crm_shared.values import ShortText, Strict

TaxPercent = Annotated[
    Decimal,
    NoFloat,
    Field(ge=0, le=100, allow_inf_nan=False, description='The tax rate, percent, e.g. "19"'),
]


class QuoteLineIn(Strict):
    line_id: UUID = Field(default_factory=uuid4, description="Left out: a new line")
    product_id: UUID | None = Field(None, description="The catalog product, if any")
    name: ShortText
    quantity: Quantity
    unit_price: UnitPrice
    discount_percent: Discount = Decimal(0)
    tax_percent: TaxPercent | None = Field(None, description="Left out: the quote's tax_percent")


LineItems = Annotated[list[QuoteLineIn], Field(min_length=1, max_length=500)]


class DraftQuote(NewRecord):
    """A quote of an opportunity: its line items, copied, unless ``line_items`` are given."""

    opportunity_id: UUID = Field(description="The deal to quote, in the caller's sight")
    customer: ShortText = Field(description="Who the quote is for, as printed on it")
    tax_percent: TaxPercent = Field(Decimal(0), description="The tax rate of every line")
    line_items: LineItems | None = Field(None, description="Left out: the deal's line items")
    valid_until: date | None = Field(None, description="Left out: 30 days from today (UTC)")


class ChangeQuote(Strict):
    """A draft changes in place; a sent or rejected quote becomes a new version; an
    accepted one refuses (409). Only the fields present change."""

    line_items: LineItems | None = None
    tax_percent: TaxPercent | None = Field(
        None,
        description="The tax rate of the lines given without one; alone, of every line",
    )
    valid_until: date | None = None


class RejectQuote(Strict):
    reason: Reason = Field(description="Why the customer declined (required)")


def items(values: Mapping[str, Any]) -> dict[str, Any]:
    """A request's lines as the quote prices them: each with its tax rate."""
    shaped = dict(values)
    tax = shaped.pop("tax_percent", None)
    given: list[QuoteLineIn] | None = shaped.get("line_items")
    if given is not None:
        shaped["line_items"] = [
            QuoteItem(
                line.line_id,
                line.product_id,
                line.name,
                line.quantity,
                line.unit_price,
                line.discount_percent,
                line.tax_percent if line.tax_percent is not None else (tax or Decimal(0)),
            )
            for line in given
        ]
    elif tax is not None:
        shaped["tax_percent"] = tax
    return shaped
