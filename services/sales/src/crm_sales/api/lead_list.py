"""GET /v1/leads: the lead list, from the sales service's own read model of its leads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from crm_sales.domain.lead import LeadStatus
from crm_sales.lead_list import queries
from crm_sales.lead_list.queries import LeadFilters, LeadSort
from crm_shared.auth.policy import readable_departments
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.http.lists import LIST_RESPONSES, QueryText
from crm_shared.http.problems import invalid_cursor
from crm_shared.projections.paging import InvalidCursor
from crm_shared.service_app import ReadModelConnection

router = APIRouter(prefix="/v1/leads", tags=["leads"])

RESPONSES = LIST_RESPONSES


class LeadListItem(BaseModel):
    id: UUID
    version: int
    name: str
    first_name: str | None
    last_name: str | None
    email: str | None
    job_title: str | None
    company_name: str | None
    status: LeadStatus
    disqualification_reason: str | None
    score: int
    owner: str | None
    team: str | None
    department: str
    contact_id: UUID | None
    created_at: datetime
    updated_at: datetime


class LeadPage(BaseModel):
    items: list[LeadListItem]
    total: int
    next_cursor: str | None


Text = QueryText


@router.get(
    "",
    summary="List and search leads",
    description=(
        "The leads the caller may see (their departments'), filtered, searched and sorted, "
        "a page at a time: pass `next_cursor` back as `cursor` for the next page, with the "
        "same filters and sort. `q` finds leads whose name, email or company contains it, "
        "whatever the case. A converted lead is listed without its person's name and email "
        "(the person is the contact now: `contact_id`).\n\n"
        "The list is **eventually consistent**: it is a read model fed by the lead events, "
        "so a lead registered or changed a moment ago may show as it was, or not yet, "
        "for a short while (usually milliseconds). `GET /v1/leads/{lead_id}` reads the "
        "lead itself."
    ),
    response_model=LeadPage,
    responses=RESPONSES,
    operation_id="list_leads",
)
async def list_leads(
    principal: CurrentPrincipal,
    conn: ReadModelConnection,
    status: LeadStatus | None = None,
    owner: Annotated[str | None, Query(max_length=128), Text] = None,
    team: Annotated[str | None, Query(max_length=128), Text] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Name, email or company"), Text
    ] = None,
    sort: LeadSort = LeadSort.CREATED_DESC,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    filters = LeadFilters(
        status=status,
        owner=owner,
        team=team,
        q=q,
        departments=readable_departments(principal),
    )
    try:
        return await queries.list_leads(conn, filters, sort, limit, cursor)
    except InvalidCursor as error:
        raise invalid_cursor(error) from None
