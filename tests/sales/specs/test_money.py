"""Money: Decimal amounts in an ISO 4217 currency, rounded to its minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_sales.domain.money import (
    CurrencyMismatch,
    Money,
    NotAnAmount,
    UnknownCurrency,
    minor_units,
)


@pytest.mark.parametrize(("currency", "places"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("BHD", 3)])
def test_minor_units_follow_iso_4217(currency: str, places: int) -> None:
    assert minor_units(currency) == places


def test_an_unknown_currency_is_refused_naming_the_field() -> None:
    with pytest.raises(UnknownCurrency) as refused:
        Money.of("10", "XYZ")
    assert refused.value.field == "currency"


def test_a_currency_without_minor_units_is_refused() -> None:
    # Gold has an ISO code but no minor unit: nobody sells a deal in it.
    with pytest.raises(UnknownCurrency):
        minor_units("XAU")


def test_a_float_is_not_an_amount() -> None:
    with pytest.raises(NotAnAmount) as refused:
        Money(0.1, "USD")  # type: ignore[arg-type]
    assert refused.value.field == "amount"


def test_amounts_in_one_currency_add_and_subtract_exactly() -> None:
    # 0.1 + 0.2 - 0.3 is exactly 0 in Decimal (in float it is 5.55e-17).
    assert Money.of("0.1", "EUR") + Money.of("0.2", "EUR") - Money.of("0.3", "EUR") == Money.of(
        "0.0", "EUR"
    )


def test_adding_different_currencies_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        _ = Money.of("1", "EUR") + Money.of("1", "USD")


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("2.345", "USD", "2.34"),  # a tie goes to the even cent
        ("2.355", "USD", "2.36"),
        ("2.3451", "USD", "2.35"),  # not a tie
        ("1234.5", "JPY", "1234"),
        ("1.0005", "BHD", "1.000"),
    ],
)
def test_rounding_to_minor_units_is_half_to_even(amount: str, currency: str, rounded: str) -> None:
    assert Money.of(amount, currency).rounded() == Money(Decimal(rounded), currency)
