"""Price books: unit prices in one currency, each product at most once, never negative.
Every entry carries the book's currency; changing the currency needs the entries in the
new one. There is one standard price book, and entries name products the caller sees."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

from crm_sales.catalogue.application import Catalogue
from crm_sales.catalogue.commands import ChangePriceBook, define_price_book
from crm_sales.domain.price_book import (
    STANDARD_PRICE_BOOK_ID,
    InvalidPriceBookEntries,
    StandardPriceBookExists,
)
from crm_sales.domain.product import product_id
from crm_shared.auth.policy import UnknownReference
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.products import (
    PriceBookChanged,
    PriceBookDefined,
    PriceBookEntry,
    ProductCreated,
)
from crm_shared.specs import Specification

spec = Specification(lambda store: Catalogue(store, store))

MANAGER = Principal("mia", Role.MANAGER, ("sales",))
SEAT, SUPPORT_PLAN = product_id("CRM-SEAT-Y"), product_id("SUPPORT-24")
BOOK = uuid4()


def product(code: str, department: str = "sales") -> ProductCreated:
    return ProductCreated(code=code, name=code, owner="mia", department=department)


PRODUCTS = {SEAT: [product("CRM-SEAT-Y")], SUPPORT_PLAN: [product("SUPPORT-24", "support")]}


def entry(product_id: UUID, price: str) -> SimpleNamespace:
    """An entry as a request gives it."""
    return SimpleNamespace(product_id=product_id, unit_price=Decimal(price))


def priced(product_id: UUID, price: str, currency: str = "USD") -> PriceBookEntry:
    return PriceBookEntry(product_id=product_id, unit_price=Decimal(price), currency=currency)


def defined(**fields: Any) -> PriceBookDefined:
    values: dict[str, Any] = {
        "name": "Standard (USD)",
        "currency": "USD",
        "entries": [priced(SEAT, "480.00")],
        "owner": "mia",
        "department": "sales",
    }
    return PriceBookDefined(**{**values, **fields})


def define(**fields: Any) -> Any:
    values = {"name": "Standard (USD)", "currency": "USD", "entries": [entry(SEAT, "480.00")]}
    return define_price_book({**values, **fields}, "mia", "sales")


async def test_entries_take_the_price_books_currency() -> None:
    await spec.given(PRODUCTS).when(define(), by=MANAGER).then(defined())


async def test_the_standard_price_book_has_its_own_id() -> None:
    outcome = await (
        spec.given(PRODUCTS).when(define(standard=True), by=MANAGER).then(defined(standard=True))
    )
    assert outcome.aggregate_id == STANDARD_PRICE_BOOK_ID


async def test_there_is_one_standard_price_book() -> None:
    await (
        spec.given({**PRODUCTS, STANDARD_PRICE_BOOK_ID: [defined(standard=True)]})
        .when(define(standard=True, name="Another"), by=MANAGER)
        .then_refused(StandardPriceBookExists)
    )


async def test_a_product_is_priced_once_per_book() -> None:
    twice = [entry(SEAT, "480"), entry(SEAT, "450")]
    await (
        spec.given(PRODUCTS)
        .when(define(entries=twice), by=MANAGER)
        .then_refused(InvalidPriceBookEntries, field="entries.1.product_id")
    )


async def test_an_entry_names_a_product_the_caller_sees() -> None:
    await (
        spec.given(PRODUCTS)
        .when(define(entries=[entry(SUPPORT_PLAN, "99")]), by=MANAGER)
        .then_refused(UnknownReference, field="entries.0.product_id")
    )


async def test_changing_the_currency_alone_is_refused_while_there_are_prices() -> None:
    command = ChangePriceBook(record_id=BOOK, changes={"currency": "EUR"})
    await (
        spec.given({**PRODUCTS, BOOK: [defined()]})
        .when(command, by=MANAGER)
        .then_refused(InvalidPriceBookEntries, field="entries")
    )


async def test_the_currency_changes_with_entries_in_it() -> None:
    command = ChangePriceBook(
        record_id=BOOK, changes={"currency": "EUR", "entries": [entry(SEAT, "440.00")]}
    )
    await (
        spec.given({**PRODUCTS, BOOK: [defined()]})
        .when(command, by=MANAGER)
        .then(PriceBookChanged(currency="EUR", entries=[priced(SEAT, "440.00", "EUR")]))
    )


async def test_new_entries_keep_the_books_currency() -> None:
    command = ChangePriceBook(record_id=BOOK, changes={"entries": [entry(SEAT, "500")]})
    await (
        spec.given({**PRODUCTS, BOOK: [defined()]})
        .when(command, by=MANAGER)
        .then(PriceBookChanged(entries=[priced(SEAT, "500")]))
    )
