"""GET /v1/opportunities: the deal list, from the sales service's own read model."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from crm_sales.deal_list import queries
from crm_sales.deal_list.queries import DealFilters, DealSort
from crm_sales.domain.opportunity_states import DealStatus
from crm_sales.domain.pipeline import ForecastCategory
from crm_shared.auth.policy import readable_departments
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.http.lists import LIST_RESPONSES, QueryText
from crm_shared.http.problems import invalid_cursor
from crm_shared.projections.paging import InvalidCursor
from crm_shared.service_app import ReadModelConnection

router = APIRouter(prefix="/v1/opportunities", tags=["opportunities"])

RESPONSES = LIST_RESPONSES


class DealListItem(BaseModel):
    id: UUID
    version: int
    name: str
    account_id: UUID | None
    primary_contact_id: UUID | None
    owner: str | None
    team: str | None
    department: str
    pipeline_id: UUID
    pipeline: str = Field(description="The pipeline's name when the deal opened")
    stage: str
    status: DealStatus
    amount: Decimal = Field(description='Exact, as a string in the currency, e.g. "21600.00"')
    currency: str
    probability: int = Field(description="Win probability, percent")
    forecast_category: ForecastCategory
    close_date: date = Field(description="Expected close date; the day it closed once won or lost")
    created_at: datetime
    updated_at: datetime


class DealPage(BaseModel):
    items: list[DealListItem]
    total: int
    next_cursor: str | None


Text = QueryText


@router.get(
    "",
    summary="List and search deals: whose, in which pipeline and stage, closing when",
    description=(
        "The deals the caller may see (their departments'), filtered, searched and sorted, "
        "a page at a time: pass `next_cursor` back as `cursor` for the next page, with the "
        "same filters and sort. `q` finds deals whose name contains it, whatever the case. "
        "`close_after` and `close_before` are exclusive bounds on the expected close date "
        "(a won or lost deal's is the day it closed). `contact_id` finds the deals where the "
        "contact is the primary contact or has a role. Amounts are exact decimal strings in "
        "the deal's own currency; sorting by `amount` compares the numbers whatever the "
        "currency.\n\n"
        "The list is **eventually consistent**: it is a read model fed by the opportunity "
        "events, so a deal opened or changed a moment ago may show as it was, or not yet, "
        "for a short while (usually milliseconds). `GET /v1/opportunities/{opportunity_id}` "
        "reads the deal itself."
    ),
    response_model=DealPage,
    responses=RESPONSES,
    operation_id="list_opportunities",
)
async def list_opportunities(
    principal: CurrentPrincipal,
    conn: ReadModelConnection,
    owner: Annotated[str | None, Query(max_length=128, description="User id"), Text] = None,
    team: Annotated[str | None, Query(max_length=128), Text] = None,
    pipeline: Annotated[UUID | None, Query(description="The pipeline's id")] = None,
    stage: Annotated[str | None, Query(max_length=128, description="A stage's name"), Text] = None,
    status: DealStatus | None = None,
    forecast_category: ForecastCategory | None = None,
    close_after: Annotated[
        date | None, Query(description="Expected to close after this day (exclusive)")
    ] = None,
    close_before: Annotated[
        date | None, Query(description="Expected to close before this day (exclusive)")
    ] = None,
    account_id: UUID | None = None,
    contact_id: Annotated[
        UUID | None, Query(description="The primary contact, or a contact with a role")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="In the deal's name"), Text] = None,
    sort: DealSort = DealSort.CLOSE_DATE,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    filters = DealFilters(
        owner=owner,
        team=team,
        pipeline=pipeline,
        stage=stage,
        status=status,
        forecast_category=forecast_category,
        close_after=close_after,
        close_before=close_before,
        account_id=account_id,
        contact_id=contact_id,
        q=q,
        departments=readable_departments(principal),
    )
    try:
        return await queries.list_deals(conn, filters, sort, limit, cursor)
    except InvalidCursor as error:
        raise invalid_cursor(error) from None
