"""Commands on products and price books. Creating either takes its id from what makes it
unique (a product's code; the standard price book), so the event store keeps it unique."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from crm_sales.domain.price_book import STANDARD_PRICE_BOOK_ID, PriceBook, priced
from crm_sales.domain.product import Product, product_id
from crm_shared.records.commands import ChangeRecord, CreateRecord


@dataclass(frozen=True, kw_only=True, repr=False)
class CreateProduct(CreateRecord[Product]):
    record_type: type[Product] = field(default=Product, init=False)


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangeProduct(ChangeRecord[Product]):
    record_type: type[Product] = field(default=Product, init=False)


@dataclass(frozen=True, kw_only=True, repr=False)
class DefinePriceBook(CreateRecord[PriceBook]):
    record_type: type[PriceBook] = field(default=PriceBook, init=False)


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangePriceBook(ChangeRecord[PriceBook]):
    """Entries are given as a request names them (product and unit price): they take the
    price book's currency, the new one if the change gives one."""

    record_type: type[PriceBook] = field(default=PriceBook, init=False)

    def apply(self, record: PriceBook) -> None:
        changes = dict(self.changes)
        if changes.get("entries") is not None:
            currency = changes.get("currency") or record.currency
            changes["entries"] = priced(changes["entries"], currency)
        record.update(changes)


def create_product(
    values: Mapping[str, Any], owner: str | None, department: str | None
) -> CreateProduct:
    return CreateProduct(
        values=values, owner=owner, department=department, record_id=product_id(values["code"])
    )


def define_price_book(
    values: Mapping[str, Any], owner: str | None, department: str | None
) -> DefinePriceBook:
    values = {**values, "entries": priced(values.get("entries") or [], values["currency"])}
    record_id = STANDARD_PRICE_BOOK_ID if values.get("standard") else uuid4()
    return DefinePriceBook(values=values, owner=owner, department=department, record_id=record_id)
