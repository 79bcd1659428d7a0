"""/v1/customers: the customer 360, search and timeline."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from psycopg_pool import AsyncConnectionPool

from crm_projections.customer360 import queries
from crm_projections.customer360.queries import SearchFilters, Sort
from crm_shared.auth.policy import readable_departments
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.http.lists import QueryText
from crm_shared.http.problems import Problem, invalid_cursor
from crm_shared.projections.paging import InvalidCursor

router = APIRouter(prefix="/v1/customers", tags=["customer 360"])
RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing or invalid token"},
    404: {"description": "No such customer"},
    422: {"description": "Invalid query parameters"},
}


SearchText = QueryText


def _pool(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


@router.get("", summary="Search customers", responses=RESPONSES, operation_id="search_customers")
async def search_customers(
    request: Request,
    principal: CurrentPrincipal,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Name, email, phone or company"),
        SearchText,
    ] = None,
    tag: Annotated[str | None, Query(max_length=64), SearchText] = None,
    owner: Annotated[str | None, Query(max_length=128), SearchText] = None,
    account_id: UUID | None = None,
    include_archived: bool = False,
    sort: Sort = Sort.UPDATED_DESC,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    filters = SearchFilters(
        q=q,
        tag=tag,
        owner=owner,
        account_id=account_id,
        include_archived=include_archived,
        departments=readable_departments(principal),
    )
    async with _pool(request).connection() as conn:
        try:
            return await queries.search(conn, filters, sort, limit, cursor)
        except InvalidCursor as error:
            raise invalid_cursor(error) from None


@router.get(
    "/{contact_id}",
    summary="The 360 view of one customer",
    responses=RESPONSES,
    operation_id="get_customer",
)
async def get_customer(
    contact_id: UUID, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with _pool(request).connection() as conn:
        document = await queries.customer(conn, contact_id, readable_departments(principal))
    if document is None:
        raise Problem(404, "not_found", "No such customer", f"customer {contact_id} not found")
    return document


@router.get(
    "/{contact_id}/timeline",
    summary="Everything that happened with a customer, newest first",
    responses=RESPONSES,
    operation_id="get_customer_timeline",
)
async def get_timeline(
    contact_id: UUID,
    request: Request,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    async with _pool(request).connection() as conn:
        if not await queries.exists(conn, contact_id, readable_departments(principal)):
            raise Problem(404, "not_found", "No such customer", f"customer {contact_id} not found")
        try:
            return await queries.timeline(conn, contact_id, limit, cursor)
        except InvalidCursor as error:
            raise invalid_cursor(error) from None
