"""Dated exchange rates against the corporate currency (USD here), each recorded at an
instant: the rate for a date is the latest dated on or before it, as known at an instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crm_sales.domain.exchange_rates import ExchangeRate, ExchangeRates, InvalidRate, NoRateInForce
from crm_sales.domain.money import Money

RECORDED = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

RATES = ExchangeRates(
    "USD",
    (
        ExchangeRate("EUR", date(2026, 10, 1), Decimal("1.10"), RECORDED),
        ExchangeRate("EUR", date(2026, 11, 1), Decimal("1.20"), RECORDED),
        ExchangeRate("GBP", date(2026, 10, 1), Decimal("1.25"), RECORDED),
    ),
)


def test_the_rate_in_force_is_the_latest_dated_on_or_before_the_date() -> None:
    assert RATES.rate_in_force("EUR", date(2026, 10, 31), known_at=LATER) == Decimal("1.10")
    assert RATES.rate_in_force("EUR", date(2026, 11, 1), known_at=LATER) == Decimal("1.20")


def test_the_corporate_currency_is_worth_one() -> None:
    assert RATES.rate_in_force("USD", date(2000, 1, 1), known_at=LATER) == 1


def test_no_rate_before_the_first_dated_one_is_a_clear_refusal() -> None:
    with pytest.raises(NoRateInForce, match="no EUR rate in force on 2026-09-30") as refused:
        RATES.rate_in_force("EUR", date(2026, 9, 30), known_at=LATER)
    assert refused.value.field == "currency"


def test_converting_goes_through_the_corporate_currency() -> None:
    # 100 EUR = 120 USD on 2026-11-02; 120 USD = 120 / 1.25 = 96 GBP.
    converted = RATES.convert(Money.of("100", "EUR"), "GBP", date(2026, 11, 2), known_at=LATER)
    assert converted == Money.of("96", "GBP")


def test_converting_to_the_same_currency_needs_no_rate() -> None:
    money = Money.of("5", "JPY")
    assert RATES.convert(money, "JPY", date(2026, 1, 1), known_at=LATER) is money


def test_a_rate_recorded_late_does_not_change_what_was_known_before() -> None:
    # On 2026-11-20 someone enters the rate for 2026-10-15 (1.15).
    late = RATES.record(ExchangeRate("EUR", date(2026, 10, 15), Decimal("1.15"), LATER))
    on = date(2026, 10, 20)
    assert late.rate_in_force("EUR", on, known_at=datetime(2026, 11, 1, tzinfo=UTC)) == Decimal(
        "1.10"
    )
    assert late.rate_in_force("EUR", on, known_at=LATER) == Decimal("1.15")


def test_a_correction_for_the_same_date_replaces_the_rate_from_when_it_was_recorded() -> None:
    corrected = RATES.record(ExchangeRate("EUR", date(2026, 11, 1), Decimal("1.21"), LATER))
    on = date(2026, 11, 5)
    assert corrected.rate_in_force("EUR", on, known_at=RECORDED) == Decimal("1.20")
    assert corrected.rate_in_force("EUR", on, known_at=LATER) == Decimal("1.21")


def test_a_rate_is_positive() -> None:
    with pytest.raises(InvalidRate) as refused:
        ExchangeRate("EUR", date(2026, 1, 1), Decimal(0), RECORDED)
    assert refused.value.field == "rate"
