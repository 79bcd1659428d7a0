"""Putting exchange rates: one stream of rates per currency, against the corporate
currency (USD here). The same rate again records nothing; another rate for the same date
is a correction; the corporate currency, unknown currencies and rates <= 0 are refused,
naming the field. Admins and managers put rates; reps read them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from crm_sales.domain.currency_rates import CorporateCurrencyRate, currency_rates_id
from crm_sales.domain.exchange_rates import InvalidRate
from crm_sales.domain.money import UnknownCurrency
from crm_sales.planning.application import Planning, RateNotKnown
from crm_sales.planning.commands import PutExchangeRate
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.planning import ExchangeRateRecorded
from crm_shared.domain import Forbidden
from crm_shared.specs import GIVEN_FROM, Specification

spec = Specification(lambda store: Planning(store, store, "USD"))

ADMIN = Principal("boss", Role.ADMIN, ("hq",))
MANAGER = Principal("mia", Role.MANAGER, ("sales",))
REP = Principal("rita", Role.SALES_REP, ("sales",))

EUR = currency_rates_id("EUR")
DEC_1 = date(2026, 12, 1)


def recorded(rate: str, effective: date = DEC_1) -> ExchangeRateRecorded:
    return ExchangeRateRecorded(
        currency="EUR", effective=effective, rate=Decimal(rate), corporate_currency="USD"
    )


def put(rate: str, currency: str = "EUR", effective: date = DEC_1) -> PutExchangeRate:
    return PutExchangeRate(currency=currency, effective=effective, rate=Decimal(rate))


async def test_a_first_rate_starts_the_currencys_rates() -> None:
    await spec.given().when(put("1.0842"), by=MANAGER).then(recorded("1.0842"))


async def test_the_same_rate_put_again_records_nothing() -> None:
    await spec.given({EUR: [recorded("1.0842")]}).when(put("1.08420"), by=ADMIN).then()


async def test_another_rate_for_the_same_date_is_a_correction() -> None:
    await (
        spec.given({EUR: [recorded("1.0842")]})
        .when(put("1.0851"), by=MANAGER)
        .then(recorded("1.0851"))
    )


async def test_a_rate_for_another_date_is_recorded_beside_the_first() -> None:
    await (
        spec.given({EUR: [recorded("1.0842")]})
        .when(put("1.0842", effective=date(2026, 12, 2)), by=MANAGER)
        .then(recorded("1.0842", date(2026, 12, 2)))
    )


async def test_the_corporate_currency_has_no_rate() -> None:
    await (
        spec.given()
        .when(put("1", currency="USD"), by=ADMIN)
        .then_refused(CorporateCurrencyRate, field="currency")
    )


async def test_an_unknown_currency_is_refused() -> None:
    await (
        spec.given()
        .when(put("1.1", currency="XYZ"), by=ADMIN)
        .then_refused(UnknownCurrency, field="currency")
    )


@pytest.mark.parametrize("rate", ["0", "-1.2"])
async def test_a_rate_is_positive(rate: str) -> None:
    await spec.given().when(put(rate), by=ADMIN).then_refused(InvalidRate, field="rate")


async def test_a_rep_may_not_put_a_rate() -> None:
    await spec.given().when(put("1.0842"), by=REP).then_refused(Forbidden)


def test_a_rate_is_unknown_before_it_was_recorded() -> None:
    planning = spec.given({EUR: [recorded("1.0842")]}).application
    # The given event was recorded a minute after GIVEN_FROM.
    with pytest.raises(RateNotKnown):
        planning.rate_in_force("EUR", DEC_1, GIVEN_FROM)


def test_a_correction_is_in_force_only_from_its_recording_on() -> None:
    planning = spec.given({EUR: [recorded("1.0842"), recorded("1.0851")]}).application
    first, corrected = GIVEN_FROM + timedelta(minutes=1), GIVEN_FROM + timedelta(minutes=2)
    assert planning.rate_in_force("EUR", date(2026, 12, 24), first).rate == Decimal("1.0842")
    assert planning.rate_in_force("EUR", date(2026, 12, 24), corrected).rate == Decimal("1.0851")


def test_the_list_shows_when_each_rate_was_recorded_and_corrected() -> None:
    planning = spec.given({EUR: [recorded("1.0842"), recorded("1.0851")]}).application
    rates = planning.exchange_rates("EUR").rates
    assert [(r.rate, r.recorded_at, r.corrected_at) for r in rates] == [
        (Decimal("1.0842"), GIVEN_FROM + timedelta(minutes=1), GIVEN_FROM + timedelta(minutes=2)),
        (Decimal("1.0851"), GIVEN_FROM + timedelta(minutes=2), None),
    ]


def test_rates_against_a_former_corporate_currency_are_not_in_force() -> None:
    against_eur = ExchangeRateRecorded(
        currency="GBP", effective=DEC_1, rate=Decimal("1.15"), corporate_currency="EUR"
    )
    planning = spec.given({currency_rates_id("GBP"): [against_eur]}).application
    with pytest.raises(RateNotKnown):
        planning.rate_in_force("GBP", DEC_1, datetime.max.replace(tzinfo=GIVEN_FROM.tzinfo))
