"""Forecast periods as people write them: a year (``2026``), a quarter (``2026-Q4``) or a
month (``2026-11``), each a range of dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from crm_shared.domain import Invalid

_PERIOD = re.compile(r"(?P<year>\d{4})(?:-Q(?P<quarter>\d)|-(?P<month>\d{2}))?")


class InvalidPeriod(Invalid):
    code = "invalid_period"


@dataclass(frozen=True, slots=True)
class Period:
    """From ``start`` up to, not including, ``end``."""

    label: str
    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end


def period(text: str) -> Period:
    found = _PERIOD.fullmatch(text.strip())
    if found is None:
        raise InvalidPeriod(
            f"{text!r} is not a period: write a year (2026), a quarter (2026-Q4) or a month "
            "(2026-11)",
            field="period",
        )
    year = int(found["year"])
    if year < 1:
        raise InvalidPeriod("years start at 1", field="period")
    if found["quarter"] is not None:
        quarter = int(found["quarter"])
        if not 1 <= quarter <= 4:
            raise InvalidPeriod(f"a year has quarters Q1 to Q4, not Q{quarter}", field="period")
        return Period(found[0], date(year, 3 * quarter - 2, 1), _month_after(year, 3 * quarter))
    if found["month"] is not None:
        month = int(found["month"])
        if not 1 <= month <= 12:
            raise InvalidPeriod(f"a year has months 01 to 12, not {month:02}", field="period")
        return Period(found[0], date(year, month, 1), _month_after(year, month))
    return Period(found[0], date(year, 1, 1), _month_after(year, 12))


def _month_after(year: int, month: int) -> date:
    if month == 12:
        if year == date.max.year:
            raise InvalidPeriod("the calendar ends in 9999", field="period")
        return date(year + 1, 1, 1)
    return date(year, month + 1, 1)
