"""The read side of the forecast: the states, rates and quotas a report needs, as the
sales domain's values (``crm_sales.domain``), which compute the report.

A past instant is answered from the intervals with one range query per table, never by
replaying events. Every query names the live schema.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from crm_projections.forecast.projection import SCHEMA
from crm_sales.domain.exchange_rates import ExchangeRate
from crm_sales.domain.forecast import GroupBy, Quota
from crm_sales.domain.money import Money
from crm_sales.domain.opportunity_states import DealStatus, OpportunityState
from crm_sales.domain.periods import Period, period
from crm_sales.domain.pipeline import ForecastCategory, Outcome, Pipeline, Stage
from crm_shared.domain import Invalid

log = logging.getLogger(__name__)

DEALS = f'"{SCHEMA}".deal_states'
QUOTAS = f'"{SCHEMA}".quota_states'
RATES = f'"{SCHEMA}".exchange_rates'
PIPELINES = f'"{SCHEMA}".pipelines'

# The caller's reach (crm_shared.auth.policy.readable_departments); None: everything.
Departments = tuple[str, ...] | None

IN_REACH = "(%(departments)s::text[] IS NULL OR department = ANY(%(departments)s))"
VALID_AT = "tstzrange(valid_from, valid_to) @> %(at)s::timestamptz"


def _reach(departments: Departments) -> list[str] | None:
    return None if departments is None else list(departments)


# What a report reads of a state, in ``OpportunityState``'s order; the pipeline may be
# given as another expression (the funnel names the deals by the pipeline's current name).
def _report_columns(pipeline: str = "pipeline") -> str:
    return (
        f"opportunity_id::text, owner, team, {pipeline}, stage, amount, currency, close_date,"
        " probability, category, status, created_at, valid_from, valid_to"
    )


CATEGORIES = {category.value: category for category in ForecastCategory}
STATUSES = {status.value: status for status in DealStatus}


def _states(rows: Sequence[Sequence[Any]]) -> list[OpportunityState]:
    """The deals as the domain computes with them. A category no forecast knows counts in
    none (omitted); a deal in a currency that is no ISO 4217 one, which the sales service
    would not have recorded, cannot be counted and is left out."""
    found = []
    refused: set[str] = set()
    for row in rows:
        (deal, owner, team, pipeline, stage, amount, currency, close_date, probability) = row[:9]
        category, status, created_at, valid_from, valid_to = row[9:]
        if currency in refused:
            continue
        try:
            money = Money(amount, currency)
        except Invalid:
            refused.add(currency)
            log.warning("deals with amounts in %r are left out of the report", currency)
            continue
        found.append(
            OpportunityState(
                deal,
                owner or "",
                team or "",
                pipeline,
                stage,
                money,
                close_date,
                probability,
                CATEGORIES.get(category, ForecastCategory.OMITTED),
                STATUSES[status],
                created_at,
                valid_from,
                valid_to,
            )
        )
    return found


async def deals_at(
    conn: AsyncConnection[Any], within: Period, at: datetime | None, departments: Departments
) -> list[OpportunityState]:
    """The deals closing in the period as they stood at the instant (None: now)."""
    window = "close_date >= %(start)s AND close_date < %(end)s"
    when = "valid_to IS NULL" if at is None else VALID_AT
    cur = await conn.execute(
        f"SELECT {_report_columns()} FROM {DEALS} WHERE {window} AND {when} AND {IN_REACH}",
        {"start": within.start, "end": within.end, "at": at, "departments": _reach(departments)},
    )
    return _states(await cur.fetchall())


async def deals_moving(
    conn: AsyncConnection[Any],
    within: Period,
    from_: datetime,
    to: datetime,
    departments: Departments,
) -> list[OpportunityState]:
    """The states, at either instant, of every deal closing in the period at either."""
    cur = await conn.execute(
        f"""WITH touched AS (
                SELECT DISTINCT opportunity_id FROM {DEALS}
                WHERE close_date >= %(start)s AND close_date < %(end)s
                  AND (tstzrange(valid_from, valid_to) @> %(from)s::timestamptz
                       OR tstzrange(valid_from, valid_to) @> %(to)s::timestamptz))
            SELECT {_report_columns()} FROM {DEALS} JOIN touched USING (opportunity_id)
            WHERE (tstzrange(valid_from, valid_to) @> %(from)s::timestamptz
                   OR tstzrange(valid_from, valid_to) @> %(to)s::timestamptz)
              AND {IN_REACH}""",
        {
            "start": within.start,
            "end": within.end,
            "from": from_,
            "to": to,
            "departments": _reach(departments),
        },
    )
    return _states(await cur.fetchall())


async def pipeline_named(conn: AsyncConnection[Any], name: str) -> tuple[UUID, Pipeline] | None:
    """The pipeline of that name as it is now, or None (no such pipeline, or one whose
    stages the sales domain would not accept)."""
    cur = await conn.execute(
        f"SELECT pipeline_id, name, stages FROM {PIPELINES} WHERE name = %s"
        " ORDER BY pipeline_id LIMIT 1",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    pipeline_id, pipeline_name, stages = row
    try:
        return pipeline_id, Pipeline(
            pipeline_name,
            tuple(
                Stage(
                    s["name"],
                    s["probability"],
                    ForecastCategory(s["forecast_category"]),
                    None if s.get("outcome") is None else Outcome(s["outcome"]),
                )
                for s in stages
            ),
        )
    except (Invalid, ValueError, KeyError):
        log.warning("pipeline %s has stages the sales domain refuses", pipeline_id)
        return None


async def cohort(
    conn: AsyncConnection[Any],
    pipeline_id: UUID,
    pipeline_name: str,
    within: Period,
    departments: Departments,
) -> list[OpportunityState]:
    """Every state of the pipeline's deals created in the period, named by the pipeline's
    current name (the funnel matches the deals by it)."""
    cur = await conn.execute(
        f"SELECT {_report_columns('%(name)s::text')} FROM {DEALS}"
        " WHERE pipeline_id = %(pipeline)s"
        " AND created_at >= %(start)s AND created_at < %(end)s AND " + IN_REACH,
        {
            "pipeline": pipeline_id,
            "name": pipeline_name,
            "start": datetime.combine(within.start, datetime.min.time(), UTC),
            "end": datetime.combine(within.end, datetime.min.time(), UTC),
            "departments": _reach(departments),
        },
    )
    return _states(await cur.fetchall())


async def exchange_rates(conn: AsyncConnection[Any]) -> tuple[str | None, list[ExchangeRate]]:
    """Every recorded rate (the domain picks those known at the report's instant), and the
    corporate currency: the one the latest rate was recorded against (None: no rate yet)."""
    cur = await conn.execute(
        f"SELECT currency, effective, rate, corporate_currency, recorded_at FROM {RATES}"
        " ORDER BY recorded_at, event_id"
    )
    rows = await cur.fetchall()
    corporate = rows[-1][3] if rows else None
    kept = []
    for code, effective, rate, against, recorded_at in rows:
        if against != corporate or code == corporate:
            continue  # recorded against another corporate currency: not comparable
        try:
            kept.append(ExchangeRate(code, effective, rate, recorded_at))
        except Invalid:
            log.warning("an exchange rate of %r the domain refuses is left out", code)
    return corporate, kept


async def quotas_at(
    conn: AsyncConnection[Any],
    within: Period,
    at: datetime | None,
    departments: Departments,
) -> list[Quota]:
    """The owners' and teams' quotas for the period as they stood at the instant."""
    when = "valid_to IS NULL" if at is None else VALID_AT
    cur = await conn.execute(
        f"SELECT per, who, period, amount, currency FROM {QUOTAS}"
        f" WHERE period = %(period)s AND {when} AND {IN_REACH}",
        {"period": within.label, "at": at, "departments": _reach(departments)},
    )
    found = []
    for per, who, label, amount, currency in await cur.fetchall():
        try:
            found.append(Quota(GroupBy(per), who, period(label), Money(amount, currency)))
        except Invalid:
            log.warning("a quota of %s in %r is left out", who, currency)
    return found
