"""What the API shows of a product and of a price book, and their kinds of record."""

from __future__ import annotations

from crm_sales.domain.price_book import PriceBook
from crm_sales.domain.product import Product
from crm_shared.catalog.sales.products import PriceBookEntry
from crm_shared.records.views import RecordKind, RecordView


class ProductView(RecordView):
    code: str
    name: str
    description: str | None
    family: str | None
    active: bool


class PriceBookView(RecordView):
    name: str
    currency: str
    standard: bool
    entries: list[PriceBookEntry]


PRODUCT = RecordKind(Product, ProductView)
PRICE_BOOK = RecordKind(PriceBook, PriceBookView)
