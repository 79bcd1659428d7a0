"""What a deal sells, and what that adds up to.

Each line is quantity times unit price, less its discount, in the deal's currency. The
lines are added up exactly and the total is rounded once, to the currency's minor units
(``Money.rounded``), so a deal of many discounted lines carries no rounding of each line.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from crm_sales.domain.money import Money
from crm_shared.catalog.sales.opportunities import LineItem
from crm_shared.domain import Invalid

HUNDRED = Decimal(100)


class InvalidLineItem(Invalid):
    code = "invalid_line_item"


def checked(items: Sequence[LineItem]) -> list[LineItem]:
    for index, item in enumerate(items):
        field = f"line_items[{index}]"
        if not item.name.strip():
            raise InvalidLineItem("a line says what is sold", field=f"{field}.name")
        if not item.quantity.is_finite() or item.quantity <= 0:
            raise InvalidLineItem("a quantity is more than zero", field=f"{field}.quantity")
        if not item.unit_price.is_finite() or item.unit_price < 0:
            raise InvalidLineItem("a unit price is zero or more", field=f"{field}.unit_price")
        if not item.discount_percent.is_finite() or not 0 <= item.discount_percent <= HUNDRED:
            raise InvalidLineItem(
                "a discount is from 0 to 100 percent", field=f"{field}.discount_percent"
            )
    return list(items)


def total(items: Sequence[LineItem], currency: str) -> Money:
    """The lines' total, rounded once to the currency's minor units."""
    exact = sum(
        (
            item.quantity * item.unit_price * (HUNDRED - item.discount_percent) / HUNDRED
            for item in checked(items)
        ),
        Decimal(0),
    )
    return Money(exact, currency).rounded()
