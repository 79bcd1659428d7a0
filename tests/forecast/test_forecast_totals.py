"""The forecast sums its deals in SQL (``queries.deal_totals_at``) and the sales domain adds
up the totals; it must be the very forecast the domain computes from every deal's state
(``crm_sales.domain.forecast.forecast``), whatever the grouping, now and as of a past
instant, with deals won, lost and open in the report's currency and in another."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from psycopg import AsyncConnection

from crm_projections.forecast import queries
from crm_projections.forecast.reading import read_forecast
from crm_sales.domain.exchange_rates import ExchangeRates
from crm_sales.domain.forecast import GroupBy, forecast
from crm_sales.domain.periods import period
from tests.e2e.conftest import eventually
from tests.forecast.conftest import ForecastService
from tests.projections.specs.deals import forecast_set, lost, opened, rate, staged, story, won

Q4 = period("2026-Q4")
NOW = datetime(2026, 12, 31, 12, tzinfo=UTC)
PAST = datetime(2026, 10, 20, tzinfo=UTC)


def _book(department: str) -> list[object]:
    """Open, won and lost deals in USD and SEK, owned and not, in several categories."""
    sek = uuid4()
    return [
        *story(
            ("2026-10-01T08:00", rate("SEK", date(2026, 10, 1), "0.095")),
            ("2026-11-05T08:00", rate("SEK", date(2026, 11, 1), "0.091")),
            aggregate_id=sek,
        ),
        *story(
            (
                "2026-10-01T09:00",
                opened("1000", close_date=date(2026, 11, 15), department=department),
            ),
            ("2026-10-10T09:00", staged("negotiation", 80, "commit")),
            ("2026-11-02T09:00", won("1200", date(2026, 11, 2))),
        ),
        *story(
            (
                "2026-10-02T09:00",
                opened("2000", close_date=date(2026, 12, 10), department=department),
            ),
            ("2026-10-20T09:00", staged("proposal", 50, "best_case")),
        ),
        *story(
            (
                "2026-10-03T09:00",
                opened("700", close_date=date(2026, 12, 1), owner="bob", department=department),
            ),
            ("2026-10-05T09:00", forecast_set(35, "commit")),
        ),
        *story(
            (
                "2026-10-04T09:00",
                opened("500", close_date=date(2026, 12, 1), owner="bob", department=department),
            ),
            ("2026-10-25T09:00", lost(date(2026, 10, 25))),
        ),
        *story(
            (
                "2026-10-06T09:00",
                opened("90000", "SEK", date(2026, 11, 20), owner=None, department=department),
            ),
            ("2026-11-10T09:00", won("95000", date(2026, 11, 10), "SEK")),
        ),
        *story(
            ("2026-10-07T09:00", opened("40000", "SEK", date(2026, 12, 20), department=department)),
        ),
    ]


async def _every_deal(conn: AsyncConnection[object], department: str, at: datetime | None) -> list:
    when = "valid_to IS NULL" if at is None else queries.VALID_AT
    cur = await conn.execute(
        f"SELECT {queries._report_columns()} FROM {queries.DEALS}"
        f" WHERE department = %(department)s AND {when}",
        {"department": department, "at": at},
    )
    return queries._states(await cur.fetchall())


@pytest.mark.parametrize("group_by", list(GroupBy))
async def test_summing_in_sql_gives_the_forecast_of_every_deal(
    forecast_service: ForecastService, group_by: GroupBy
) -> None:
    department = f"dept-{uuid4().hex[:8]}"
    await forecast_service.publish(_book(department))  # type: ignore[arg-type]
    database_url = forecast_service.settings.database_url
    assert database_url

    async def everything_applied() -> bool | None:
        return await forecast_service.applied_everything() or None

    await eventually(everything_applied, within=30)
    async with await AsyncConnection.connect(database_url) as conn:
        corporate, recorded = await queries.exchange_rates(conn)
        rates = ExchangeRates(corporate or "USD", tuple(recorded))
        for at in (None, PAST):
            for currency in ("USD", "SEK"):
                summed = await read_forecast(conn, Q4, group_by, currency, at, NOW, (department,))
                rows = await _every_deal(conn, department, at)
                dealt = forecast(rows, Q4, group_by, currency, at or NOW, rates)
                assert summed.lines == dealt.lines, (at, currency)
                assert summed.total == dealt.total, (at, currency)
