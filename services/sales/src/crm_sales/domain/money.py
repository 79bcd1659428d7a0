"""Money: a Decimal amount in an ISO 4217 currency, never a float.

Amounts stay exact while they are added up and converted; they are rounded to the
currency's minor units once, where a figure is shown or stored (``Money.rounded``), so a
sum of many converted deals carries no accumulated rounding error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from iso4217 import Currency

from crm_shared.domain import Invalid


class UnknownCurrency(Invalid):
    """Not an ISO 4217 currency that money can be kept in."""

    code = "unknown_currency"


class CurrencyMismatch(Invalid):
    """Two amounts in different currencies were added or compared without converting."""

    code = "currency_mismatch"


class NotAnAmount(Invalid):
    """An amount that is not a finite Decimal (a float, NaN, infinity)."""

    code = "invalid_amount"


def minor_units(currency: str) -> int:
    """How many decimal places the currency's smallest unit has (USD 2, JPY 0, BHD 3).

    The ISO 4217 table comes from the ``iso4217`` package, which follows the maintenance
    agency's list (babel's CLDR digits differ on purpose for display, e.g. IQD)."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        raise UnknownCurrency(
            f"{currency!r} is not an ISO 4217 currency", field="currency"
        ) from None
    if exponent is None:
        # Gold, SDRs, testing codes: ISO gives them no minor unit, and no deal is sold in them.
        raise UnknownCurrency(f"{currency} has no minor unit to keep money in", field="currency")
    return exponent


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise NotAnAmount(f"{self.amount!r} is not a finite Decimal amount", field="amount")
        minor_units(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def of(cls, amount: str | int, currency: str) -> Money:
        """From text or an integer, the forms in which amounts arrive; never from a float."""
        return cls(Decimal(amount), currency)

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, factor: Decimal) -> Money:
        return Money(self.amount * factor, self.currency)

    def rounded(self) -> Money:
        """To the currency's minor units, half to even (banker's rounding): unlike half-up
        it does not push every tie the same way, so totals of many rounded figures do not
        drift upwards; it is also what IEEE 754 and most ledgers use."""
        quantum = Decimal(1).scaleb(-minor_units(self.currency))
        return Money(self.amount.quantize(quantum, rounding=ROUND_HALF_EVEN), self.currency)

    def _same_currency(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency} without converting",
                field="currency",
            )
        return other

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
