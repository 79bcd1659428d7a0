"""GET /v1/activities: the activity list, from the sales service's own read model."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from crm_sales.activity_list import queries
from crm_sales.activity_list.queries import ActivityFilters
from crm_shared.auth.policy import readable_departments
from crm_shared.catalog.sales.activities import ActivityKind, RelatedTo
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.http.lists import LIST_RESPONSES, QueryText
from crm_shared.http.problems import invalid_cursor
from crm_shared.projections.paging import InvalidCursor
from crm_shared.service_app import ReadModelConnection
from crm_shared.values import Instant

router = APIRouter(prefix="/v1/activities", tags=["activities"])

RESPONSES = LIST_RESPONSES


class ActivityListItem(BaseModel):
    id: UUID
    version: int
    kind: ActivityKind
    due_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    time_zone: str
    assignee: str | None
    related_to: RelatedTo | None
    owner: str | None
    department: str
    done: bool
    completed_at: datetime | None
    next_reminder_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ActivityPage(BaseModel):
    items: list[ActivityListItem]
    total: int
    next_cursor: str | None


@router.get(
    "",
    summary="List activities: whose, due before when, done or not, about which record",
    description=(
        "The activities the caller may see (their departments'), soonest due first (a "
        "task by its `due_at`, an appointment by its `starts_at`), a page at a time: pass "
        "`next_cursor` back as `cursor` for the next page, with the same filters. "
        "Cancelled (archived) activities are not listed. `related_to` is the id of the "
        "contact, account, lead or opportunity they are about.\n\n"
        "The list holds no personal text: the subject, notes and location are what an "
        "activity says about a person, sealed with that person's key, and a copy here "
        "would outlive their erasure; `GET /v1/activities/{activity_id}` reads them.\n\n"
        "The list is **eventually consistent**: it is a read model fed by the activity "
        "events, so an activity scheduled or changed a moment ago may show as it was, or "
        "not yet, for a short while (usually milliseconds)."
    ),
    response_model=ActivityPage,
    responses=RESPONSES,
    operation_id="list_activities",
)
async def list_activities(
    principal: CurrentPrincipal,
    conn: ReadModelConnection,
    assignee: Annotated[
        str | None,
        Query(max_length=128, description="User id"),
        QueryText,
    ] = None,
    due_before: Annotated[
        Instant | None, Query(description="Due (or starting) strictly before this instant")
    ] = None,
    done: bool | None = None,
    related_to: Annotated[
        UUID | None, Query(description="The id of the record the activities are about")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    filters = ActivityFilters(
        assignee=assignee,
        due_before=due_before,
        done=done,
        related_to=related_to,
        departments=readable_departments(principal),
    )
    try:
        return await queries.list_activities(conn, filters, limit, cursor)
    except InvalidCursor as error:
        raise invalid_cursor(error) from None
