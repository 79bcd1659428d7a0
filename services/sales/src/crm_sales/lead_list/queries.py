"""The lead list's queries: plain SQL over its table, no domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from crm_sales.domain.lead import LeadStatus
from crm_sales.lead_list import SCHEMA
from crm_shared.projections.paging import contains, cursor_errors, decode_cursor, encode_cursor


class LeadSort(StrEnum):
    CREATED = "created"
    CREATED_DESC = "-created"
    SCORE = "score"
    SCORE_DESC = "-score"
    NAME = "name"
    NAME_DESC = "-name"


SORT_COLUMNS = {"created": "created_at", "score": "score", "name": "name_key"}


@dataclass(frozen=True)
class LeadFilters:
    status: LeadStatus | None = None
    owner: str | None = None
    team: str | None = None
    q: str | None = None
    # The caller's reach (crm_shared.auth.policy.readable_departments); None: everything.
    departments: tuple[str, ...] | None = ()


def _where(filters: LeadFilters) -> tuple[list[str], list[Any]]:
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    if filters.departments is not None:
        where.append("department = ANY(%s)")
        params.append(list(filters.departments))
    if filters.status is not None:
        where.append("status = %s")
        params.append(filters.status.value)
    if filters.owner is not None:
        where.append("owner = %s")
        params.append(filters.owner)
    if filters.team is not None:
        where.append("team = %s")
        params.append(filters.team)
    if filters.q:
        where.append("search LIKE %s")
        params.append(contains(filters.q))
    return where, params


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["lead_id"],
        "version": row["version"],
        "name": row["name"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "email": row["email"],
        "job_title": row["job_title"],
        "company_name": row["company_name"],
        "status": row["status"],
        "disqualification_reason": row["disqualification_reason"],
        "score": row["score"],
        "owner": row["owner"],
        "team": row["team"],
        "department": row["department"],
        "contact_id": row["contact_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def list_leads(
    conn: AsyncConnection[Any],
    filters: LeadFilters,
    sort: LeadSort,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of leads (``items``), how many match in all (``total``), and the cursor of
    the next page (``next_cursor``, None on the last)."""
    where, params = _where(filters)
    count = (" AND ".join(where), list(params))
    column = SORT_COLUMNS[sort.value.lstrip("-")]
    descending = sort.value.startswith("-")
    if cursor:
        key, last_id = decode_cursor(cursor)
        where.append(f"({column}, lead_id) {'<' if descending else '>'} (%s, %s)")
        params += [key, last_id]
    direction = "DESC" if descending else "ASC"
    leads = f"{SCHEMA}.leads"
    async with conn.cursor(row_factory=dict_row) as cur, cursor_errors(conn, cursor):
        await cur.execute(
            f"SELECT *, {column}::text AS sort_key FROM {leads} WHERE {' AND '.join(where)}"
            f" ORDER BY {column} {direction}, lead_id {direction} LIMIT %s",
            [*params, limit + 1],
        )
        rows = await cur.fetchall()
        await cur.execute(f"SELECT count(*) AS n FROM {leads} WHERE {count[0]}", count[1])
        total = (await cur.fetchone() or {"n": 0})["n"]
    page = rows[:limit]
    more = len(rows) > limit and page
    next_cursor = encode_cursor(page[-1]["sort_key"], str(page[-1]["lead_id"])) if more else None
    return {"items": [_item(r) for r in page], "total": total, "next_cursor": next_cursor}
