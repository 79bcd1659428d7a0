"""A quote: an opportunity's line items priced in one currency, numbered and versioned.

Pure values: every change returns a new ``Quote``; nothing here reads a clock or a store.
The caller gives the number's sequence (from the service's own counter) and the year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from uuid import UUID

from crm_shared.domain import Conflict, Invalid

HUNDRED = Decimal(100)

# ISO 4217 currencies whose minor unit is not the usual two decimals; every other
# three-letter code has two. (The table is the standard's, not a guess per quote.)
MINOR_UNITS_OTHER_THAN_TWO: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
QUOTE_NUMBER = re.compile(r"Q-(\d{4})-(\d{6,})")


class QuoteIsInvalid(Invalid):
    code = "invalid_quote"


class QuoteTransitionRefused(Conflict):
    """The quote's status does not allow this step (a rejected quote cannot be accepted)."""

    code = "quote_transition_refused"

    def __init__(self, status: QuoteStatus, step: str) -> None:
        super().__init__(f"a {status} quote cannot be {step}")
        self.status, self.step = status, step


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def minor_units(currency: str) -> int:
    if not CURRENCY_CODE.fullmatch(currency):
        raise QuoteIsInvalid(f"{currency!r} is not an ISO 4217 code", field="currency")
    return MINOR_UNITS_OTHER_THAN_TWO.get(currency, 2)


def to_minor_units(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class DiscountPercent:
    percent: Decimal


@dataclass(frozen=True)
class DiscountAmount:
    """An amount off the whole line (not per unit), in the quote's currency."""

    amount: Decimal


Discount = DiscountPercent | DiscountAmount


@dataclass(frozen=True)
class LineItem:
    product: str
    quantity: Decimal
    unit_price: Decimal
    discount: Discount | None = None
    tax_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class PricedLine:
    item: LineItem
    gross: Decimal  # quantity x unit price
    discount: Decimal
    net: Decimal  # gross - discount: what tax is charged on
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class QuoteTotals:
    currency: str
    subtotal: Decimal  # before discounts
    discount: Decimal
    tax: Decimal
    total: Decimal


def price_line(item: LineItem, currency: str, position: int) -> PricedLine:
    """Every amount is rounded to the currency's minor units on each line, half to even.

    Per line, not once on the sum: the quote prints each line's amounts, and the customer
    (and their accounts payable) must be able to add the printed lines up to the printed
    totals to the cent; rounding only the sum can leave them a cent apart."""
    where = f"line_items[{position}]"
    _check_number(item.quantity, f"{where}.quantity", positive=True)
    _check_number(item.unit_price, f"{where}.unit_price")
    _check_number(item.tax_percent, f"{where}.tax_percent")
    if not item.product.strip():
        raise QuoteIsInvalid("a line item names its product", field=f"{where}.product")
    gross = to_minor_units(item.quantity * item.unit_price, currency)
    discount = _discount(item.discount, gross, currency, f"{where}.discount")
    net = gross - discount
    tax = to_minor_units(net * item.tax_percent / HUNDRED, currency)
    return PricedLine(item, gross, discount, net, tax, net + tax)


def _discount(discount: Discount | None, gross: Decimal, currency: str, where: str) -> Decimal:
    match discount:
        case None:
            return to_minor_units(Decimal(0), currency)
        case DiscountPercent(percent):
            _check_number(percent, f"{where}.percent")
            if percent > HUNDRED:
                raise QuoteIsInvalid("a discount is at most 100%", field=f"{where}.percent")
            return to_minor_units(gross * percent / HUNDRED, currency)
        case DiscountAmount(amount):
            _check_number(amount, f"{where}.amount")
            if amount != to_minor_units(amount, currency):
                raise QuoteIsInvalid(
                    f"{amount} has more decimals than {currency} has minor units",
                    field=f"{where}.amount",
                )
            if amount > gross:
                raise QuoteIsInvalid(
                    "a discount cannot exceed the line's amount", field=f"{where}.amount"
                )
            return to_minor_units(amount, currency)


def _check_number(value: Decimal, where: str, *, positive: bool = False) -> None:
    # Floats would carry binary fractions into money; the HTTP layer parses to Decimal.
    if not isinstance(value, Decimal) or not value.is_finite():
        raise QuoteIsInvalid("a finite decimal number is required", field=where)
    if value < 0 or (positive and value == 0):
        raise QuoteIsInvalid(
            "must be more than zero" if positive else "cannot be negative", field=where
        )


@dataclass(frozen=True, order=True)
class QuoteNumber:
    """``Q-2026-000123``: the year the quote was first drafted and the caller's sequence."""

    year: int
    sequence: int

    def __post_init__(self) -> None:
        if not 1000 <= self.year <= 9999:
            raise QuoteIsInvalid("a quote's year has four digits", field="number")
        if self.sequence < 1:
            raise QuoteIsInvalid("a quote's sequence starts at 1", field="number")

    def __str__(self) -> str:
        return f"Q-{self.year}-{self.sequence:06d}"

    @classmethod
    def parse(cls, text: str) -> QuoteNumber:
        found = QUOTE_NUMBER.fullmatch(text)
        if found is None:
            raise QuoteIsInvalid(f"{text!r} is not a quote number", field="number")
        return cls(int(found[1]), int(found[2]))


@dataclass(frozen=True)
class Quote:
    number: QuoteNumber
    opportunity_id: UUID
    customer: str
    currency: str
    line_items: tuple[LineItem, ...]
    version: int = 1
    status: QuoteStatus = QuoteStatus.DRAFT
    lines: tuple[PricedLine, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.customer.strip():
            raise QuoteIsInvalid("a quote names its customer", field="customer")
        if not self.line_items:
            raise QuoteIsInvalid("a quote has at least one line item", field="line_items")
        priced = tuple(
            price_line(item, self.currency, position)
            for position, item in enumerate(self.line_items)
        )
        object.__setattr__(self, "lines", priced)

    @property
    def totals(self) -> QuoteTotals:
        zero = to_minor_units(Decimal(0), self.currency)
        return QuoteTotals(
            currency=self.currency,
            subtotal=sum((line.gross for line in self.lines), zero),
            discount=sum((line.discount for line in self.lines), zero),
            tax=sum((line.tax for line in self.lines), zero),
            total=sum((line.total for line in self.lines), zero),
        )

    def edit(self, line_items: tuple[LineItem, ...]) -> Quote:
        """A draft changes in place: nobody outside has seen this version."""
        self._require(QuoteStatus.DRAFT, step="edited")
        return replace(self, line_items=line_items)

    def send(self) -> Quote:
        self._require(QuoteStatus.DRAFT, step="sent")
        return replace(self, status=QuoteStatus.SENT)

    def accept(self) -> Quote:
        self._require(QuoteStatus.SENT, step="accepted")
        return replace(self, status=QuoteStatus.ACCEPTED)

    def reject(self) -> Quote:
        self._require(QuoteStatus.SENT, step="rejected")
        return replace(self, status=QuoteStatus.REJECTED)

    def revise(self, line_items: tuple[LineItem, ...]) -> Quote:
        """What the customer has seen stays as it was: a change to a sent or rejected quote
        is a new version of the same number, drafted afresh."""
        if self.status not in (QuoteStatus.SENT, QuoteStatus.REJECTED):
            raise QuoteTransitionRefused(self.status, "revised")
        return replace(
            self, line_items=line_items, version=self.version + 1, status=QuoteStatus.DRAFT
        )

    def _require(self, status: QuoteStatus, *, step: str) -> None:
        if self.status is not status:
            raise QuoteTransitionRefused(self.status, step)


def draft_quote(
    *,
    year: int,
    sequence: int,
    opportunity_id: UUID,
    customer: str,
    currency: str,
    line_items: tuple[LineItem, ...],
) -> Quote:
    """A first version, in draft, numbered from the caller's sequence for that year."""
    return Quote(
        number=QuoteNumber(year, sequence),
        opportunity_id=opportunity_id,
        customer=customer,
        currency=currency,
        line_items=line_items,
    )
