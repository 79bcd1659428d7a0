"""A quote's lines priced by the quote document's rules (``documents.quote``): each
amount rounded to the currency's minor units on its line, the totals the lines' sums.

The document names a line's fields as it prints them (``product``, ``discount.percent``);
a refusal is turned to name the field as the request and the events do (``name``,
``discount_percent``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from crm_sales.documents import quote as document
from crm_shared.catalog.sales.opportunities import LineItem
from crm_shared.catalog.sales.quotes import QuoteLine, QuoteTotals

# How the document names a line's fields, and how the API does.
_FIELD_NAMES = {".product": ".name", ".discount.percent": ".discount_percent"}


@dataclass(frozen=True)
class QuoteItem:
    """What a line says before it is priced."""

    line_id: UUID
    product_id: UUID | None
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_percent: Decimal

    @classmethod
    def of_deal(cls, item: LineItem, tax_percent: Decimal) -> QuoteItem:
        return cls(
            item.line_id,
            item.product_id,
            item.name,
            item.quantity,
            item.unit_price,
            item.discount_percent,
            tax_percent,
        )

    @classmethod
    def of_line(cls, line: QuoteLine) -> QuoteItem:
        return cls(
            line.line_id,
            line.product_id,
            line.name,
            line.quantity,
            line.unit_price,
            line.discount_percent,
            line.tax_percent,
        )

    def as_document_line(self) -> document.LineItem:
        discount = (
            document.DiscountPercent(self.discount_percent) if self.discount_percent else None
        )
        return document.LineItem(
            self.name, self.quantity, self.unit_price, discount, tax_percent=self.tax_percent
        )


def document_lines(items: Sequence[QuoteItem]) -> tuple[document.LineItem, ...]:
    return tuple(item.as_document_line() for item in items)


def priced(items: Sequence[QuoteItem], currency: str) -> tuple[list[QuoteLine], QuoteTotals]:
    """The lines as the events carry them, and their totals."""
    try:
        lines = [
            document.price_line(item.as_document_line(), currency, position)
            for position, item in enumerate(items)
        ]
    except document.QuoteIsInvalid as refusal:
        raise document.QuoteIsInvalid(str(refusal), field=_api_name(refusal.field)) from None
    if not lines:
        raise document.QuoteIsInvalid("a quote has at least one line item", field="line_items")
    zero = document.to_minor_units(Decimal(0), currency)
    totals = QuoteTotals(
        subtotal=sum((line.gross for line in lines), zero),
        discount=sum((line.discount for line in lines), zero),
        tax=sum((line.tax for line in lines), zero),
        total=sum((line.total for line in lines), zero),
    )
    return [
        QuoteLine(
            line_id=item.line_id,
            product_id=item.product_id,
            name=item.name,
            quantity=item.quantity,
            unit_price=item.unit_price,
            discount_percent=item.discount_percent,
            tax_percent=item.tax_percent,
            net=line.net,
            tax=line.tax,
            total=line.total,
        )
        for item, line in zip(items, lines, strict=True)
    ], totals


def _api_name(field: str | None) -> str | None:
    for printed, named in _FIELD_NAMES.items():
        if field is not None and field.endswith(printed):
            return field.removesuffix(printed) + named
    return field
