"""The activity list's queries: plain SQL over its tables, no domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from crm_sales.activity_list import SCHEMA
from crm_shared.projections.paging import keyset_page


@dataclass(frozen=True)
class ActivityFilters:
    assignee: str | None = None
    due_before: datetime | None = None
    done: bool | None = None
    related_to: UUID | None = None
    # The caller's reach (crm_shared.auth.policy.readable_departments); None: everything.
    departments: tuple[str, ...] | None = ()


def _where(filters: ActivityFilters) -> tuple[list[str], list[Any]]:
    # A cancelled (archived) activity is no longer due: not listed.
    where: list[str] = ["NOT archived"]
    params: list[Any] = []
    if filters.departments is not None:
        where.append("department = ANY(%s)")
        params.append(list(filters.departments))
    if filters.assignee is not None:
        where.append("assignee = %s")
        params.append(filters.assignee)
    if filters.due_before is not None:
        where.append("due < %s")
        params.append(filters.due_before)
    if filters.done is not None:
        where.append("done = %s")
        params.append(filters.done)
    if filters.related_to is not None:
        where.append("related_id = %s")
        params.append(filters.related_to)
    return where, params


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["activity_id"],
        "version": row["version"],
        "kind": row["kind"],
        "due_at": row["due_at"],
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
        "time_zone": row["time_zone"],
        "assignee": row["assignee"],
        "related_to": row["related_to"],
        "owner": row["owner"],
        "department": row["department"],
        "done": row["done"],
        "completed_at": row["completed_at"],
        "next_reminder_at": row["next_reminder_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def list_activities(
    conn: AsyncConnection[Any], filters: ActivityFilters, limit: int, cursor: str | None
) -> dict[str, Any]:
    """A page of activities, soonest due first (``items``), how many match in all
    (``total``), and the cursor of the next page (``next_cursor``, None on the last)."""
    where, params = _where(filters)
    next_reminder = (
        f"(SELECT min(r.fires_at) FROM {SCHEMA}.reminders r WHERE r.activity_id = t.activity_id"
        " AND r.fired_at IS NULL AND NOT t.done)"
    )
    page = await keyset_page(
        conn,
        f"{SCHEMA}.activities",
        "activity_id",
        where,
        params,
        sort_column="due",
        descending=False,
        limit=limit,
        cursor=cursor,
        extra_columns=f", {next_reminder} AS next_reminder_at",
    )
    return page.body(_item)


async def activities_of(
    conn: AsyncConnection[Any], assignee: str, since: datetime, limit: int
) -> list[UUID]:
    """The ids of ``assignee``'s activities for their calendar: not cancelled, due (or
    ending) since ``since``, soonest first, at most ``limit``."""
    async with conn.cursor() as cur:
        await cur.execute(
            f"SELECT activity_id FROM {SCHEMA}.activities WHERE assignee = %s"
            " AND NOT archived AND coalesce(ends_at, due) >= %s"
            " ORDER BY due, activity_id LIMIT %s",
            [assignee, since, limit],
        )
        return [row[0] for row in await cur.fetchall()]
