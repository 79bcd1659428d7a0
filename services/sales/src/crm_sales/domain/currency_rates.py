"""One currency's exchange rates against the corporate currency, as an aggregate.

There is one aggregate per currency, its id derived from the currency's code
(``currency_rates_id``), for three reasons: a rate is put at a path that names only the
currency and the date, so the id is known without a lookup; the rates of one currency are
read together (a report asks for "the EUR rate in force on a date"), which is one stream to
load; and two people putting rates of the same currency at the same moment meet on one
stream, so the event store's version check serialises them and neither correction is lost.
A rate per (currency, date) stream would spread a currency over thousands of streams, and
one stream for every currency would make every rate put contend with every other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid5

from crm_sales.domain.exchange_rates import ExchangeRate, ExchangeRates, InvalidRate
from crm_sales.domain.money import minor_units
from crm_shared.catalog.sales.planning import ExchangeRateRecorded
from crm_shared.domain import Aggregate, Invalid, applies

# Fixed forever: every currency's rates live under the id derived from it.
_RATES = UUID("5b0f9f0e-3c1a-4e53-9d0e-6a7f4c2b8e11")


def currency_rates_id(currency: str) -> UUID:
    return uuid5(_RATES, f"exchange-rates:{currency}")


class CorporateCurrencyRate(Invalid):
    """The corporate currency is worth 1 of itself by definition: it has no rate to put."""

    code = "corporate_currency"


@dataclass(frozen=True, slots=True)
class RecordedRate:
    """A rate as it was recorded, against the corporate currency of its day."""

    effective: date
    rate: Decimal
    corporate_currency: str
    recorded_at: datetime


class CurrencyRates(Aggregate):
    creation_events = (ExchangeRateRecorded,)

    currency: str
    recorded: list[RecordedRate]

    @classmethod
    def of(cls, currency: str) -> CurrencyRates:
        """The currency's rates before any was recorded."""
        rates = cls(currency_rates_id(currency))
        rates.currency, rates.recorded = currency, []
        return rates

    def record(self, effective: date, rate: Decimal, *, corporate: str) -> None:
        """Puts the rate for the date: the same rate again changes nothing; another rate
        for a date that has one is a correction, in force from its own recording on."""
        minor_units(self.currency)
        if self.currency == corporate:
            raise CorporateCurrencyRate(
                f"{corporate} is the corporate currency: every rate is against it",
                field="currency",
            )
        if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
            raise InvalidRate(f"a rate is a positive number, not {rate}", field="rate")
        current = self.current(effective, corporate)
        if current is not None and current.rate == rate:
            return
        self._trigger(
            ExchangeRateRecorded(
                currency=self.currency, effective=effective, rate=rate, corporate_currency=corporate
            )
        )

    @applies(ExchangeRateRecorded)
    def _recorded(self, e: ExchangeRateRecorded) -> None:
        if self.version == 0:
            self.currency, self.recorded = e.currency, []
        self.recorded.append(
            RecordedRate(e.effective, e.rate, e.corporate_currency, self.last_modified)
        )

    def current(self, effective: date, corporate: str) -> RecordedRate | None:
        """The latest recording for the date (its corrections included), if any."""
        for recorded in reversed(self.recorded):
            if (recorded.effective, recorded.corporate_currency) == (effective, corporate):
                return recorded
        return None

    def against(self, corporate: str) -> ExchangeRates:
        """The rates against the corporate currency, each with when it was recorded (a rate
        recorded against a former corporate currency is not one against today's)."""
        return ExchangeRates(
            corporate,
            tuple(
                ExchangeRate(self.currency, r.effective, r.rate, r.recorded_at)
                for r in self.recorded
                if r.corporate_currency == corporate
            ),
        )
