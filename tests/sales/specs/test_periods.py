"""Forecast periods as people write them, each a range of dates."""

from __future__ import annotations

from datetime import date

import pytest

from crm_sales.domain.periods import InvalidPeriod, Period, period


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1)),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-11", date(2026, 11, 1), date(2026, 12, 1)),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ],
)
def test_a_period_is_a_range_of_dates_ending_before_the_next(
    text: str, start: date, end: date
) -> None:
    assert period(text) == Period(text, start, end)


def test_a_period_holds_its_first_and_last_day_only() -> None:
    q4 = period("2026-Q4")
    assert date(2026, 10, 1) in q4
    assert date(2026, 12, 31) in q4
    assert date(2026, 9, 30) not in q4
    assert date(2027, 1, 1) not in q4


@pytest.mark.parametrize("text", ["2026-Q5", "2026-Q0", "2026-13", "2026-00", "Q4-2026", "26", ""])
def test_anything_else_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidPeriod) as refused:
        period(text)
    assert refused.value.field == "period"
