"""What the 360 shows of sales for one contact: plain SQL over the sales tables.

Deals and activities of departments the caller may not read stay out, as any record
does; won revenue is summed per currency (no conversion: that is the forecast's work)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from crm_projections.customer360.projection import SCHEMA

NEXT_ACTIVITIES = 10


def _reach(departments: tuple[str, ...] | None) -> tuple[str, list[Any]]:
    if departments is None:
        return "", []
    return " AND department = ANY(%s)", [list(departments)]


async def sales_of(
    conn: AsyncConnection[Any], contact_id: UUID, departments: tuple[str, ...] | None
) -> dict[str, Any]:
    reach, params = _reach(departments)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT lead_id AS id, account_id, opportunity_id, converted_at"
            f" FROM {SCHEMA}.customer_leads WHERE contact_id = %s ORDER BY converted_at",
            [contact_id],
        )
        leads = await cur.fetchall()
        await cur.execute(
            f"SELECT opportunity_id AS id, name, stage, amount::text AS amount, currency,"
            f" close_date FROM {SCHEMA}.customer_deals"
            f" WHERE contact_id = %s AND status = 'open'{reach}"
            " ORDER BY close_date, opportunity_id",
            [contact_id, *params],
        )
        open_deals = await cur.fetchall()
        await cur.execute(
            f"SELECT currency, sum(amount)::text AS amount, count(*) AS deals"
            f" FROM {SCHEMA}.customer_deals WHERE contact_id = %s AND status = 'won'{reach}"
            " GROUP BY currency ORDER BY currency",
            [contact_id, *params],
        )
        won = await cur.fetchall()
        await cur.execute(
            f"SELECT activity_id AS id, kind, coalesce(due_at, starts_at) AS due,"
            f" due_at, starts_at, assignee FROM {SCHEMA}.customer_activities"
            f" WHERE contact_id = %s AND NOT done AND NOT archived{reach}"
            " ORDER BY coalesce(due_at, starts_at) NULLS LAST, activity_id LIMIT %s",
            [contact_id, *params, NEXT_ACTIVITIES],
        )
        activities = await cur.fetchall()
    for activity in activities:
        del activity["due"]
    return {
        "leads": leads,
        "open_opportunities": open_deals,
        "won_revenue": won,
        "next_activities": activities,
    }
