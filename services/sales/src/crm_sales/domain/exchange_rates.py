"""Dated exchange rates against the corporate currency, and converting money with them.

A rate has two times: the date it is *for* (it is in force from that date until the next
dated rate of its currency) and the instant it was *recorded*. A rate entered late changes
history only from when it was recorded: asked "the rate for date D as known at instant T",
rates recorded after T do not exist yet. A rate recorded again for the same date (a
correction) replaces the earlier one from its own recording on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from crm_sales.domain.money import Money, minor_units
from crm_shared.domain import Invalid


class NoRateInForce(Invalid):
    """No rate of the currency is dated on or before the date (as known at the instant)."""

    code = "no_exchange_rate"


class InvalidRate(Invalid):
    code = "invalid_exchange_rate"


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """One unit of ``currency`` is worth ``rate`` units of the corporate currency."""

    currency: str
    effective: date
    rate: Decimal
    recorded_at: datetime

    def __post_init__(self) -> None:
        minor_units(self.currency)
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite() or self.rate <= 0:
            raise InvalidRate(f"a rate is a positive Decimal, not {self.rate!r}", field="rate")


@dataclass(frozen=True, slots=True)
class ExchangeRates:
    corporate: str
    rates: tuple[ExchangeRate, ...] = ()

    def __post_init__(self) -> None:
        minor_units(self.corporate)
        if any(rate.currency == self.corporate for rate in self.rates):
            raise InvalidRate("the corporate currency is worth 1 by definition", field="currency")

    def record(self, rate: ExchangeRate) -> ExchangeRates:
        return ExchangeRates(self.corporate, (*self.rates, rate))

    def rate_in_force(self, currency: str, on: date, *, known_at: datetime) -> Decimal:
        """Corporate units per unit of ``currency`` on the date, as known at the instant."""
        if currency == self.corporate:
            return Decimal(1)
        candidates = [
            rate
            for rate in self.rates
            if rate.currency == currency and rate.effective <= on and rate.recorded_at <= known_at
        ]
        if not candidates:
            raise NoRateInForce(
                f"no {currency} rate in force on {on.isoformat()} as known at "
                f"{known_at.isoformat()}",
                field="currency",
            )
        # The latest date wins; for the same date, the latest recording (a correction).
        return max(candidates, key=lambda rate: (rate.effective, rate.recorded_at)).rate

    def convert(self, money: Money, to: str, on: date, *, known_at: datetime) -> Money:
        """Through the corporate currency, unrounded: the caller rounds the figure it shows."""
        if money.currency == to:
            return money
        factor = self.rate_in_force(money.currency, on, known_at=known_at) / self.rate_in_force(
            to, on, known_at=known_at
        )
        return Money(money.amount * factor, to)
