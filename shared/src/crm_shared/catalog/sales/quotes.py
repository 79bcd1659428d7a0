"""Quote events of the sales service (topic ``crm.sales.events``).

A quote prices an opportunity's line items (copied when it is drafted, or given) in the
deal's currency, with a tax rate per line, under a number such as ``Q-2026-000123``. It
is versioned: a draft changes in place, and a change to a quote the customer has seen
(sent or rejected) is a new version (``revision``) of the same number, drafted afresh.
It is sent, then accepted or rejected; an accepted quote is final.

Every event that sets the lines carries them priced and the totals they add up to, each
amount rounded to the currency's minor units on its line (half to even), so a consumer
prints or sums them without the pricing rules. Amounts are ``Decimal`` (JSON strings),
never floats.

The quote's ``revision`` is the version the customer sees printed on it; it is not the
record's version, which counts every event and is the ETag ``If-Match`` compares.

**Numbers.** Each year's quotes are numbered from a counter of their own
(``quote_number.reserved``), unique and increasing; a retried draft (same
``Idempotency-Key``) keeps its number. They are not guaranteed gap-free (a draft that
fails after its number was reserved leaves a gap): a quote is an offer, not an invoice.

**Personal data.** ``customer`` is the name printed on the quote, possibly a person's: it
is sealed with the key of the quote's primary contact when it has one (erasing that person
erases it), else with the quote's own key.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.events.catalog import EventData, event_type, personal
from crm_shared.records.events import Changes

_REVISION = "The quote's version the customer sees (1, 2, ...): not the record's version"
_VALID_UNTIL = "The last day the customer may accept the quote"
_CUSTOMER = "Who the quote is for, as printed on it (a company, or a person)"


class QuoteLine(BaseModel):
    """One priced line: quantity times unit price, less its discount, plus its tax."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: UUID = Field(description="The opportunity's line it was copied from, or a new id")
    product_id: UUID | None = Field(None, description="The catalog product, if any")
    name: str
    quantity: Decimal
    unit_price: Decimal = Field(description="In the quote's currency")
    discount_percent: Decimal = Field(Decimal(0), description="0-100")
    tax_percent: Decimal = Field(Decimal(0), description="The tax rate on the line, percent")
    net: Decimal = Field(description="Quantity x unit price, less the discount")
    tax: Decimal = Field(description="The tax on the net amount")
    total: Decimal = Field(description="Net plus tax")


class QuoteTotals(BaseModel):
    """The lines added up (each already rounded), in the quote's currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subtotal: Decimal = Field(description="Before discounts")
    discount: Decimal
    tax: Decimal
    total: Decimal


_QUOTE_EXAMPLE = "4a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d"
_CONTACT_EXAMPLE = "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00"
_LINES_EXAMPLE = [
    {
        "line_id": "5c2e8f1a-3b4d-4c6e-9f8a-7b6c5d4e3f2a",
        "product_id": "8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
        "name": "CRM seats (annual)",
        "quantity": "50",
        "unit_price": "480.00",
        "discount_percent": "10",
        "tax_percent": "19",
        "net": "21600.00",
        "tax": "4104.00",
        "total": "25704.00",
    }
]
_TOTALS_EXAMPLE = {
    "subtotal": "24000.00",
    "discount": "2400.00",
    "tax": "4104.00",
    "total": "25704.00",
}


@event_type("sales", "quote_number", "reserved")
class QuoteNumberReserved(EventData):
    """A year's quote counter gave out its next number, for the quote named."""

    year: int
    sequence: int = Field(description="1, 2, ... within the year")
    number: str = Field(description="As printed, e.g. Q-2026-000123")
    quote_id: UUID = Field(description="The quote the number is for")
    example = {
        "year": 2026,
        "sequence": 123,
        "number": "Q-2026-000123",
        "quote_id": _QUOTE_EXAMPLE,
    }


@event_type("sales", "quote", "drafted")
class QuoteDrafted(EventData):
    """A new quote, in draft, version 1, priced from an opportunity's line items (or the
    lines given instead)."""

    number: str = Field(description="Unique, e.g. Q-2026-000123")
    revision: int = Field(1, description=_REVISION)
    opportunity_id: UUID = Field(description="The deal it prices")
    account_id: UUID | None = Field(None, description="The deal's account (contacts service)")
    primary_contact_id: UUID | None = Field(
        None, description="The deal's primary contact (contacts service)"
    )
    customer: str | None = personal(None, description=_CUSTOMER)
    currency: str = Field(description="ISO 4217: the deal's")
    lines: list[QuoteLine]
    totals: QuoteTotals
    valid_until: date = Field(description=_VALID_UNTIL)
    owner: str | None = None
    department: str
    example = {
        "number": "Q-2026-000123",
        "revision": 1,
        "opportunity_id": "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "account_id": "2b9c3a7e-1d2f-4e5a-8b6c-7d8e9f0a1b2c",
        "primary_contact_id": _CONTACT_EXAMPLE,
        "customer": "Acme GmbH, attn. Ada Lovelace",
        "currency": "EUR",
        "lines": _LINES_EXAMPLE,
        "totals": _TOTALS_EXAMPLE,
        "valid_until": "2026-12-31",
        "owner": "alice",
        "department": "sales",
    }

    def data_subject(self, aggregate_id: UUID) -> UUID:
        # What a quote says about a person is theirs: erased with them.
        return self.primary_contact_id or aggregate_id


@event_type("sales", "quote", "changed")
class QuoteChanged(Changes):
    """A draft changed in place (nobody outside has seen it): only the fields changed are
    present; new lines come with their new totals."""

    lines: list[QuoteLine] | None = None
    totals: QuoteTotals | None = None
    valid_until: date | None = Field(None, description=_VALID_UNTIL)
    example = {"lines": _LINES_EXAMPLE, "totals": _TOTALS_EXAMPLE, "valid_until": "2027-01-15"}


@event_type("sales", "quote", "revised")
class QuoteRevised(EventData):
    """A sent or rejected quote changed: a new version of the same number, in draft again.
    What the customer saw stays in the quote's history."""

    revision: int = Field(description=_REVISION)
    lines: list[QuoteLine]
    totals: QuoteTotals
    valid_until: date = Field(description=_VALID_UNTIL)
    example = {
        "revision": 2,
        "lines": _LINES_EXAMPLE,
        "totals": _TOTALS_EXAMPLE,
        "valid_until": "2027-01-15",
    }


@event_type("sales", "quote", "sent")
class QuoteSent(EventData):
    """The version named went to the customer: it changes only by a new version now."""

    revision: int = Field(description=_REVISION)
    sent_on: date = Field(description="The day it was issued: printed on it")
    example = {"revision": 1, "sent_on": "2026-11-30"}


@event_type("sales", "quote", "accepted")
class QuoteAccepted(EventData):
    """The customer accepted the version named: final, the quote takes no further change."""

    revision: int = Field(description=_REVISION)
    accepted_on: date
    example = {"revision": 1, "accepted_on": "2026-12-04"}


@event_type("sales", "quote", "rejected")
class QuoteRejected(EventData):
    """The customer turned the version named down, saying why; a new version may follow."""

    revision: int = Field(description=_REVISION)
    reason: str = Field(description="Why the customer declined, e.g. price too high")
    rejected_on: date
    example = {"revision": 1, "reason": "price too high", "rejected_on": "2026-12-04"}
