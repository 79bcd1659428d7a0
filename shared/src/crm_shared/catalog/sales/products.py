"""Product and price book events of the sales service (topic ``crm.sales.events``).

A product is what the company sells, known by a code (its SKU) that no other product
shares; a price book lists the products' unit prices in one currency, and one price book
is the standard one (the prices a deal starts from). Prices are ``Decimal`` (JSON
strings), never floats; a currency is an ISO 4217 code. Quotes and opportunities' line
items name products by id.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.events.catalog import EventData, event_type
from crm_shared.records.events import ArchivedData, Changes

# --- product (what is sold) ------------------------------------------------------------


@event_type("sales", "product", "created")
class ProductCreated(EventData):
    """A new product; its id derives from its code, so no two products share one."""

    code: str = Field(description="The product's code (SKU): unique, and never changes")
    name: str
    description: str | None = None
    family: str | None = Field(None, description="The product line it belongs to")
    active: bool = Field(True, description="Offered for new deals and quotes")
    owner: str | None = None
    department: str
    example = {
        "code": "CRM-SEAT-Y",
        "name": "CRM seat (annual)",
        "description": "One named user for a year",
        "family": "subscriptions",
        "active": True,
        "owner": "carol",
        "department": "sales",
    }


@event_type("sales", "product", "changed")
class ProductChanged(Changes):
    """Some of the product's fields: only those changed are present, null clears one."""

    name: str | None = None
    description: str | None = None
    family: str | None = Field(None, description="The product line it belongs to")
    active: bool | None = Field(None, description="Offered for new deals and quotes")
    example = {"name": "CRM seat (annual, 2027)", "active": False}


@event_type("sales", "product", "archived")
class ProductArchived(ArchivedData):
    """No longer sold nor listed; deals and quotes that name it keep it."""

    example = {"reason": "replaced by CRM-SEAT-Y2"}


@event_type("sales", "product", "restored")
class ProductRestored(EventData):
    """Back in the catalogue after being archived."""

    example = {}


# --- price book (unit prices in one currency) --------------------------------------------


class PriceBookEntry(BaseModel):
    """One product's unit price in the price book."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: UUID
    unit_price: Decimal = Field(description="Per unit, in the currency given (>= 0)")
    currency: str = Field(description="ISO 4217: the price book's currency")


_ENTRIES_EXAMPLE = [
    {
        "product_id": "8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
        "unit_price": "480.00",
        "currency": "USD",
    }
]


@event_type("sales", "price_book", "defined")
class PriceBookDefined(EventData):
    """A new price book: its name, its currency and its entries (a product at most once)."""

    name: str
    currency: str = Field(description="ISO 4217: every entry's prices are in it")
    standard: bool = Field(
        False, description="The standard price book (there is one): deals start from its prices"
    )
    entries: list[PriceBookEntry] = Field(
        default_factory=list, description="At most one per product"
    )
    owner: str | None = None
    department: str
    example = {
        "name": "Standard (USD)",
        "currency": "USD",
        "standard": True,
        "entries": _ENTRIES_EXAMPLE,
        "owner": "carol",
        "department": "sales",
    }


@event_type("sales", "price_book", "changed")
class PriceBookChanged(Changes):
    """Renamed, or its currency and entries changed: ``entries`` present is the whole new
    list (a currency change always carries entries in the new currency)."""

    name: str | None = None
    currency: str | None = Field(None, description="ISO 4217")
    entries: list[PriceBookEntry] | None = None
    example = {"entries": _ENTRIES_EXAMPLE}
