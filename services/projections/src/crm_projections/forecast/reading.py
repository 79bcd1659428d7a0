"""Reading a report: the read model's states, rates and quotas for it, computed by the
sales domain. What the routes serve and the benchmark times, without HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from crm_projections.forecast import queries
from crm_projections.forecast.queries import Departments
from crm_sales.domain.exchange_rates import ExchangeRates
from crm_sales.domain.forecast import Forecast, GroupBy, forecast
from crm_sales.domain.forecast_changes import ForecastChanges, forecast_changes
from crm_sales.domain.funnel import Funnel, funnel
from crm_sales.domain.periods import Period
from crm_sales.domain.pipeline import Pipeline
from crm_shared.domain import Invalid


class NoReportCurrency(Invalid):
    """No currency was asked for and no rate is recorded yet to say the corporate one."""

    code = "no_exchange_rate"


async def _rates(conn: AsyncConnection[Any], asked: str | None) -> tuple[str, ExchangeRates]:
    """The report's currency (the one asked for, else the corporate one) and the rates."""
    corporate, rates = await queries.exchange_rates(conn)
    currency = asked or corporate
    if currency is None:
        raise NoReportCurrency(
            "no exchange rate is recorded yet, so there is no corporate currency: name one",
            field="currency",
        )
    return currency, ExchangeRates(corporate or currency, tuple(rates))


async def read_forecast(
    conn: AsyncConnection[Any],
    within: Period,
    group_by: GroupBy,
    currency: str | None,
    as_of: datetime | None,
    now: datetime,
    departments: Departments,
) -> Forecast:
    """The forecast as of the instant (None: now, from the current states)."""
    report_currency, rates = await _rates(conn, currency)
    deals = await queries.deals_at(conn, within, as_of, departments)
    quotas = await queries.quotas_at(conn, within, as_of, departments)
    return forecast(deals, within, group_by, report_currency, as_of or now, rates, quotas)


async def read_changes(
    conn: AsyncConnection[Any],
    within: Period,
    from_: datetime,
    to: datetime,
    currency: str | None,
    departments: Departments,
) -> ForecastChanges:
    report_currency, rates = await _rates(conn, currency)
    deals = await queries.deals_moving(conn, within, from_, to, departments)
    return forecast_changes(deals, within, from_, to, report_currency, rates)


async def read_funnel(
    conn: AsyncConnection[Any], pipeline: str, within: Period, departments: Departments
) -> Funnel | None:
    """None when no pipeline has that name."""
    found: tuple[UUID, Pipeline] | None = await queries.pipeline_named(conn, pipeline)
    if found is None:
        return None
    pipeline_id, definition = found
    deals = await queries.cohort(conn, pipeline_id, definition.name, within, departments)
    return funnel(deals, definition, within)
