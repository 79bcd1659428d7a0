"""A price book: unit prices of products in one currency.

Every entry is in the price book's currency (it says so itself, so a consumer reading an
entry needs nothing else), and names a product at most once. Changing the currency needs
the entries in the new currency at the same time: prices are not converted silently.
One price book is the standard one; like a product's code, that is kept unique by its id
(``STANDARD_PRICE_BOOK_ID``), and a price book never becomes or stops being standard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Self
from uuid import UUID

from crm_sales.domain.money import minor_units
from crm_shared.catalog.sales.products import PriceBookChanged, PriceBookDefined, PriceBookEntry
from crm_shared.domain import Conflict, Invalid
from crm_shared.events import EventData
from crm_shared.records.record import CrmRecord, RecordEvents

STANDARD_PRICE_BOOK_ID = UUID("e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b")


class StandardPriceBookExists(Conflict):
    code = "standard_price_book_exists"


class InvalidPriceBookEntries(Invalid):
    code = "invalid_price_book_entries"


class PriceBook(CrmRecord):
    creation_events = (PriceBookDefined,)
    events = RecordEvents(updated=PriceBookChanged)

    name: str
    currency: str
    standard: bool
    entries: list[PriceBookEntry]

    @classmethod
    def noun(cls) -> str:
        return "price_book"

    @classmethod
    def create(cls, record_id: UUID, details: EventData) -> Self:
        assert isinstance(details, PriceBookDefined)
        _check(details.currency, details.entries)
        return super().create(record_id, details)

    def update(self, changes: Mapping[str, Any]) -> None:
        currency = changes.get("currency", self.currency)
        entries = changes.get("entries")
        if entries is None and currency != self.currency and self.entries:
            raise InvalidPriceBookEntries(
                f"the prices are in {self.currency}: give the entries in {currency} too",
                field="entries",
            )
        _check(currency, entries or [])
        super().update(changes)


def priced(entries: Sequence[Any], currency: str) -> list[PriceBookEntry]:
    """Entries as a request gives them (product and unit price), in the book's currency."""
    return [
        PriceBookEntry(product_id=e.product_id, unit_price=e.unit_price, currency=currency)
        for e in entries
    ]


def _check(currency: str, entries: Sequence[PriceBookEntry]) -> None:
    minor_units(currency)
    seen: set[UUID] = set()
    for index, entry in enumerate(entries):
        if entry.product_id in seen:
            raise InvalidPriceBookEntries(
                f"product {entry.product_id} is priced twice", field=f"entries.{index}.product_id"
            )
        seen.add(entry.product_id)
        if entry.currency != currency:
            raise InvalidPriceBookEntries(
                f"an entry in {entry.currency} in a {currency} price book",
                field=f"entries.{index}.currency",
            )
        if not entry.unit_price.is_finite() or entry.unit_price < Decimal(0):
            raise InvalidPriceBookEntries(
                "a unit price is not negative", field=f"entries.{index}.unit_price"
            )
