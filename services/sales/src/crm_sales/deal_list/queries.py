"""The deal list's queries: plain SQL over its table, no domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from crm_sales.deal_list import SCHEMA
from crm_sales.domain.opportunity_states import DealStatus
from crm_sales.domain.pipeline import ForecastCategory
from crm_shared.projections.paging import contains, keyset_page


class DealSort(StrEnum):
    CLOSE_DATE = "close_date"
    CLOSE_DATE_DESC = "-close_date"
    AMOUNT = "amount"
    AMOUNT_DESC = "-amount"
    UPDATED = "updated"
    UPDATED_DESC = "-updated"
    NAME = "name"
    NAME_DESC = "-name"


SORT_COLUMNS = {
    "close_date": "close_date",
    "amount": "amount",
    "updated": "updated_at",
    "name": "name_key",
}


@dataclass(frozen=True)
class DealFilters:
    owner: str | None = None
    team: str | None = None
    pipeline: UUID | None = None
    stage: str | None = None
    status: DealStatus | None = None
    forecast_category: ForecastCategory | None = None
    close_after: date | None = None
    close_before: date | None = None
    account_id: UUID | None = None
    contact_id: UUID | None = None
    q: str | None = None
    # The caller's reach (crm_shared.auth.policy.readable_departments); None: everything.
    departments: tuple[str, ...] | None = ()


def _where(filters: DealFilters) -> tuple[list[str], list[Any]]:
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    if filters.departments is not None:
        where.append("department = ANY(%s)")
        params.append(list(filters.departments))
    equal = {
        "owner": filters.owner,
        "team": filters.team,
        "pipeline_id": filters.pipeline,
        "stage": filters.stage,
        "status": filters.status.value if filters.status else None,
        "forecast_category": filters.forecast_category.value if filters.forecast_category else None,
        "account_id": filters.account_id,
    }
    for column, value in equal.items():
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if filters.close_after is not None:
        where.append("close_date > %s")
        params.append(filters.close_after)
    if filters.close_before is not None:
        where.append("close_date < %s")
        params.append(filters.close_before)
    if filters.contact_id is not None:
        where.append("contact_ids @> ARRAY[%s]::uuid[]")
        params.append(filters.contact_id)
    if filters.q:
        where.append("name_key LIKE %s")
        params.append(contains(filters.q))
    return where, params


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["opportunity_id"],
        "version": row["version"],
        "name": row["name"],
        "account_id": row["account_id"],
        "primary_contact_id": row["primary_contact_id"],
        "owner": row["owner"],
        "team": row["team"],
        "department": row["department"],
        "pipeline_id": row["pipeline_id"],
        "pipeline": row["pipeline"],
        "stage": row["stage"],
        "status": row["status"],
        "amount": row["amount"],
        "currency": row["currency"],
        "probability": row["probability"],
        "forecast_category": row["forecast_category"],
        "close_date": row["close_date"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def list_deals(
    conn: AsyncConnection[Any],
    filters: DealFilters,
    sort: DealSort,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of deals (``items``), how many match in all (``total``), and the cursor of
    the next page (``next_cursor``, None on the last)."""
    where, params = _where(filters)
    page = await keyset_page(
        conn,
        f"{SCHEMA}.deals",
        "opportunity_id",
        where,
        params,
        sort_column=SORT_COLUMNS[sort.value.lstrip("-")],
        descending=sort.value.startswith("-"),
        limit=limit,
        cursor=cursor,
    )
    return page.body(_item)
