"""The lead list's queries: plain SQL over its table, no domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection

from crm_sales.domain.lead import LeadStatus
from crm_sales.lead_list import SCHEMA
from crm_shared.projections.paging import contains, keyset_page


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
    page = await keyset_page(
        conn,
        f"{SCHEMA}.leads",
        "lead_id",
        where,
        params,
        sort_column=SORT_COLUMNS[sort.value.lstrip("-")],
        descending=sort.value.startswith("-"),
        limit=limit,
        cursor=cursor,
    )
    return page.body(_item)
